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
    """The whole file was refused; nothing was written. Lists every problem kept (the
    importer keeps 200, every bad field of a record) and counts the rest."""

    MAX_SHOWN = 200

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


class WrongTaxpayerFile(ImsError):
    """The file names another recipient GSTIN than the workspace's; nothing was written."""

    def __init__(self, file_gstin: str, workspace_gstin: str) -> None:
        super().__init__(
            f"File refused, nothing imported: it is for GSTIN {file_gstin}, but you are "
            f"importing into {workspace_gstin}. Import it into {file_gstin}'s workspace, or "
            f"download the IMS file of {workspace_gstin}."
        )
        self.file_gstin = file_gstin
        self.workspace_gstin = workspace_gstin


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` means the database could not be reached (not a bug in our code).

    Every unit of work rolls back on such an error, so nothing was half-written and the
    user can simply try again.
    """
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    while error is not None:
        if isinstance(error, (OperationalError, InterfaceError, DisconnectionError)):
            return True
        error = error.__cause__ or error.__context__
    return False


class BotStartFailed(Exception):
    """`ims-bot run` / `webhook` could not start: the token was rejected, the Bot API cannot
    be reached, the port is taken. The message says why, without any secret; `retryable`
    says whether the same command may work later (Telegram or the network was down)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
