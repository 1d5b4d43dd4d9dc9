"""What can go wrong talking to the portal through a provider: one readable sentence each.

All are ImsError, so every adapter (CLI, chat) already turns them into one line, never a
traceback.
"""

from __future__ import annotations

from ims_bot.errors import ImsError


class GspError(ImsError):
    """Base class for provider and portal failures."""


class NotConfigured(GspError):
    """The operator has not set the provider's key and secret, or IMS_BOT_SECRET_KEY."""


class NotConnected(GspError):
    """No portal session for this GSTIN: connect first."""


class SessionExpired(GspError):
    """The taxpayer's portal session ended (6 hours, or logged out elsewhere)."""


class RateLimited(GspError):
    """HTTP 429 from the provider, still after the retries."""


class ProviderDown(GspError):
    """The provider cannot be reached, timed out, or answered 5xx."""


class ProviderRejected(GspError):
    """The provider refused the operator's credentials (401/403)."""


class SchemaError(GspError):
    """The provider refused a request's shape (422), or answered with one we cannot read."""


class PortalError(GspError):
    """GSTN answered with an error (`status_cd` "0"): its code and message."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.portal_message = message
        explained = EXPLAINED.get(code)
        text = f"the GST portal refused: {code}: {message}" if code else (
            f"the GST portal refused: {message}"
        )
        super().__init__(f"{text}. {explained}" if explained else text)


#: Portal codes a taxpayer meets, in plain words (ims-facts.md §1, §5).
EXPLAINED = {
    "IMS2B009": "GSTR-2B of this period is not generated yet (the draft comes on the 14th): "
    "there is nothing to regenerate before it.",
    "IMS2B007": "GSTR-3B of this period is already filed: GSTR-2B can no longer be "
    "regenerated for it.",
    "IMSSAV0010": "The supplier changed this record after it was downloaded: it is back "
    "for a fresh decision (sync, then decide again).",
    "IMSSAV005": "The request did not match the portal's schema.",
}
