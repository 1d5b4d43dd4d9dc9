"""The interface a GST Suvidha Provider's connector implements: one module per provider.

Calls are synchronous (the CLI calls them directly; the bot runs them in a worker thread).
Every failure is one of ims_bot.gsp.errors; a connector never returns a provider's error
envelope as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Auth:
    """The tokens one taxpayer call carries: the operator's platform token, the session's."""

    platform: str = field(repr=False)
    session: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RequestOutcome:
    """The portal's outcome of a save, reset or regeneration request.

    `state`: "done", "errors" (processed, some records refused), "pending", "failed".
    `errors`: per refused record: section, stin, number, rtnprd, code, message.
    """

    state: str
    errors: list[dict[str, str]] = field(default_factory=list)
    code: str = ""
    message: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: str  # stored with the session, e.g. "sandbox"

    def authenticate(self) -> Token:
        """The operator's platform token (from the API key and secret)."""
        ...

    def request_otp(self, auth: Auth, gstin: str, username: str) -> None:
        """Ask the portal to send an OTP to the taxpayer's registered mobile."""
        ...

    def verify_otp(self, auth: Auth, gstin: str, username: str, otp: str) -> Token:
        """Open the taxpayer's session with the OTP: its token and when it ends."""
        ...

    def refresh(self, auth: Auth, gstin: str) -> Token: ...

    def logout(self, auth: Auth, gstin: str, username: str) -> None: ...

    def fetch_section(self, auth: Auth, gstin: str, section: str) -> list[dict[str, Any]]:
        """The IMS records of one section (one call)."""
        ...

    def send(self, auth: Auth, request: dict[str, Any]) -> str:
        """Send a SAVE or RESET request (`reqtyp`); returns the portal's reference."""
        ...

    def request_status(self, auth: Auth, gstin: str, reference: str) -> RequestOutcome: ...

    def regenerate(self, auth: Auth, gstin: str, period: str) -> str:
        """Ask for GSTR-2B of `period` (MMYYYY) to be regenerated; returns the reference."""
        ...

    def regenerate_status(self, auth: Auth, gstin: str, reference: str) -> RequestOutcome: ...
