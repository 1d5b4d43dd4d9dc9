"""Domain errors raised by the core services; each adapter turns them into its own message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ims_bot.portal import FieldError
    from ims_bot.rules import Verdict


class ImsError(Exception):
    """Base class: `str(error)` is a message a taxpayer can read."""


class NotFound(ImsError):
    pass


class AccessDenied(ImsError):
    pass


class InvalidInput(ImsError):
    """A value given by the user (GSTIN, period, filter, remarks...) is malformed."""


class Refused(ImsError):
    """The rules do not allow this action; carries the rules' verdict (reason, FAQ topic)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


class Conflict(ImsError):
    """Someone else changed the record since it was shown; nothing was overwritten."""


class ImportRefused(ImsError):
    """The whole file was refused; nothing was written."""

    MAX_SHOWN = 20

    def __init__(self, errors: Sequence[FieldError], total: int | None = None) -> None:
        self.errors = list(errors)
        self.total = total if total is not None else len(self.errors)
        lines = [str(e) for e in self.errors[: self.MAX_SHOWN]]
        more = self.total - len(lines)
        if more > 0:
            lines.append(f"... and {more} more problem(s)")
        super().__init__(
            f"file refused, nothing imported: {self.total} problem(s)\n" + "\n".join(lines)
        )
