"""The Sandbox (sandbox.co.in) connector, from its public API reference and JSON schemas
(in-co-sandbox/in-co-sandbox-docs).

Shapes: every answer is `{"code", "data", "transaction_id", ...}`; a GSTN call's `data` is
`{"data": {...}, "status_cd": "1"}`, or `{"status_cd": "0", "error": {"error_cd",
"message"}}` when the portal refused (HTTP 200). Platform errors are HTTP 401/403 (token,
key), 422 (request shape) and 429 (rate limit). The platform token goes in `authorization`
without "Bearer"; taxpayer calls carry the session's token the same way.

The paths are kept in one table (PATHS). The IMS get, count, save and status paths are
from the reference's pages; reset and GSTR-2B regeneration are the best reading of it
(README: what is unconfirmed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from ims_bot.gsp.errors import (
    PortalError,
    ProviderDown,
    ProviderRejected,
    RateLimited,
    SchemaError,
    SessionExpired,
)
from ims_bot.gsp.provider import Auth, RequestOutcome, Token
from ims_bot.settings import INDIA

API_VERSION = "1.0.0"
#: Sandbox's taxpayer sessions last 6 hours; the platform token 24 hours.
SESSION_HOURS = 6
PLATFORM_HOURS = 24
PATHS = {
    "authenticate": "/authenticate",
    "otp": "/gst/compliance/tax-payer/otp",
    "verify": "/gst/compliance/tax-payer/otp/verify",
    "refresh": "/gst/compliance/tax-payer/session/refresh",
    "logout": "/gst/compliance/tax-payer/logout",
    # Confirmed from Sandbox's API reference ("Get Invoices", "Get Invoice Count", "Save
    # Invoice Status", "Check Invoice Status"): the section is a query parameter (B2B, B2BA…).
    "section": "/gst/compliance/tax-payer/invoices",
    "count": "/gst/compliance/tax-payer/invoices/count",
    "save": "/gst/compliance/tax-payer/invoices/status/save",
    # Not confirmed (the reset page was not readable): the save path's sibling.
    "reset": "/gst/compliance/tax-payer/invoices/status/reset",
    "status": "/gst/compliance/tax-payer/invoices/status",
    "regenerate": "/gst/compliance/tax-payer/gstrs/gstr-2b/regenerate",
    "regenerate_status": "/gst/compliance/tax-payer/gstrs/gstr-2b/regenerate/status",
}
#: GSTN codes that mean the taxpayer's session is gone.
SESSION_CODES = frozenset({"AUTH4033", "AUTH4034", "RETOTPREQUEST", "AUTH158"})
#: Seconds to wait before each retry of a 429 (then it is reported).
BACKOFF = (1.0, 2.0, 4.0)
MAX_RETRY_AFTER = 30.0


class Sandbox:
    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = 30.0,
        backoff: tuple[float, ...] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(INDIA),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._secret = api_secret
        self._backoff = BACKOFF if backoff is None else backoff
        self._sleep = sleep
        self._now = now
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    # --- transport -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        auth: Auth | None = None,
        taxpayer: bool = False,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Any:
        """One call, with 429s retried; returns the envelope's `data`."""
        headers = {"x-api-key": self._key, "x-api-version": API_VERSION,
                   "accept": "application/json", **(extra or {})}
        if auth is None:
            headers["x-api-secret"] = self._secret
        else:
            token = auth.session if taxpayer and auth.session else auth.platform
            headers["authorization"] = token
        waits = list(self._backoff)
        while True:
            try:
                response = self._client.request(
                    method, self.base_url + path, headers=headers, params=params, json=body
                )
            except httpx.TimeoutException:
                raise ProviderDown("the GSP provider did not answer in time: try again later")\
                    from None
            except httpx.HTTPError as exc:
                raise ProviderDown(
                    f"the GSP provider cannot be reached ({type(exc).__name__}): try again later"
                ) from None
            if response.status_code == 429 and waits:
                wait = waits.pop(0)
                after = response.headers.get("retry-after", "")
                if after.isdigit():
                    wait = max(wait, min(float(after), MAX_RETRY_AFTER))
                self._sleep(wait)
                continue
            return self._data(response, taxpayer=taxpayer)

    def _data(self, response: httpx.Response, *, taxpayer: bool) -> Any:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        message = _message(payload)
        if status == 429:
            raise RateLimited(
                "the GSP provider's rate limit was reached (HTTP 429), still after retrying: "
                "wait a minute and try again"
            )
        if status >= 500:
            raise ProviderDown(f"the GSP provider is down (HTTP {status}): try again later")
        if status == 401 and taxpayer and "session" in message.lower():
            raise SessionExpired(EXPIRED)
        if status in (401, 403):
            raise ProviderRejected(
                f"the GSP provider refused the operator's credentials (HTTP {status}"
                f"{': ' + message if message else ''}): check IMS_BOT_GSP_API_KEY and "
                "IMS_BOT_GSP_API_SECRET"
            )
        if status in (400, 422):
            raise SchemaError(
                f"the GSP provider refused the request's shape (HTTP {status}"
                f"{': ' + message if message else ''})"
            )
        if status >= 300 or not isinstance(payload, dict) or "data" not in payload:
            raise SchemaError(
                f"the GSP provider answered in a shape IMS Bot does not know (HTTP {status})"
            )
        data = payload["data"]
        if isinstance(data, dict) and str(data.get("status_cd", "")).strip() == "0":
            code, text = _error(data.get("error"))
            if taxpayer and code in SESSION_CODES:
                raise SessionExpired(EXPIRED)
            raise PortalError(code, text or message or "no message given")
        return data

    def _token(self, data: Any, hours: float) -> Token:
        inner = data.get("data") if isinstance(data, dict) else None
        found = next(
            (d for d in (data, inner) if isinstance(d, dict) and d.get("access_token")), None
        )
        if found is None or not isinstance(found["access_token"], str):
            raise SchemaError("the GSP provider's answer has no access token")
        expires = self._now() + timedelta(hours=hours)
        seconds = found.get("expires_in")
        if isinstance(seconds, int | float) and 60 <= seconds <= 7 * 86400:
            expires = self._now() + timedelta(seconds=seconds)
        return Token(found["access_token"], expires)

    # --- the provider interface -------------------------------------------------------------

    def authenticate(self) -> Token:
        return self._token(self._call("POST", PATHS["authenticate"]), PLATFORM_HOURS)

    def request_otp(self, auth: Auth, gstin: str, username: str) -> None:
        self._call("POST", PATHS["otp"], auth=auth, body={"username": username, "gstin": gstin},
                   extra={"x-source": "primary"})

    def verify_otp(self, auth: Auth, gstin: str, username: str, otp: str) -> Token:
        data = self._call("POST", PATHS["verify"], auth=auth, params={"otp": otp},
                          body={"username": username, "gstin": gstin},
                          extra={"x-source": "primary"})
        return self._token(data, SESSION_HOURS)

    def refresh(self, auth: Auth, gstin: str) -> Token:
        data = self._call("POST", PATHS["refresh"], auth=auth, taxpayer=True)
        return self._token(data, SESSION_HOURS)

    def logout(self, auth: Auth, gstin: str, username: str) -> None:
        self._call("POST", PATHS["logout"], auth=auth, taxpayer=True,
                   body={"username": username, "gstin": gstin})

    def fetch_section(self, auth: Auth, gstin: str, section: str) -> list[dict[str, Any]]:
        data = self._call("GET", PATHS["section"], auth=auth, taxpayer=True,
                          params={"gstin": gstin, "section": section.upper()})
        body = data.get("data") if isinstance(data, dict) else None
        if body is None:
            return []
        if not isinstance(body, dict):
            raise SchemaError(f"the GSP provider's {section} answer is not an object")
        items = body.get(section)
        if items is None:
            return []
        if not isinstance(items, list):
            raise SchemaError(f"the GSP provider's {section} answer is not a list of records")
        return items

    def send(self, auth: Auth, request: dict[str, Any]) -> str:
        path = PATHS["reset"] if request.get("reqtyp") == "RESET" else PATHS["save"]
        return _reference(self._call("POST", path, auth=auth, taxpayer=True, body=request))

    def request_status(self, auth: Auth, gstin: str, reference: str) -> RequestOutcome:
        data = self._call("GET", PATHS["status"], auth=auth, taxpayer=True,
                          params={"gstin": gstin, "reference_id": reference})
        return _outcome(data)

    def regenerate(self, auth: Auth, gstin: str, period: str) -> str:
        data = self._call("POST", PATHS["regenerate"], auth=auth, taxpayer=True,
                          body={"rtin": gstin, "itcprd": period})
        return _reference(data)

    def regenerate_status(self, auth: Auth, gstin: str, reference: str) -> RequestOutcome:
        data = self._call("GET", PATHS["regenerate_status"], auth=auth, taxpayer=True,
                          params={"gstin": gstin, "reference_id": reference})
        return _outcome(data)


EXPIRED = (
    "the GST portal session has ended (sessions last 6 hours): connect again "
    "(ims-bot gsp login, or /connect in chat)"
)


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("message", "error"):
            value = payload.get(key)
            if isinstance(value, str):
                return " ".join(value.split())[:200]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return " ".join(value["message"].split())[:200]
    return ""


def _error(error: Any) -> tuple[str, str]:
    if isinstance(error, dict):
        code = error.get("error_cd") or error.get("errorCode") or ""
        text = error.get("message") or error.get("error_msg") or ""
        return str(code), " ".join(str(text).split())[:300]
    return "", "" if error is None else str(error)[:300]


def _reference(data: Any) -> str:
    inner = data.get("data") if isinstance(data, dict) else None
    for d in (inner, data):
        if isinstance(d, dict):
            ref = d.get("reference_id") or d.get("ref_id")
            if isinstance(ref, str) and ref:
                return ref
    raise SchemaError("the GSP provider's answer has no request reference")


def _outcome(data: Any) -> RequestOutcome:
    """A status answer (invoices/status.json): `status_cd` P (processed), PE (processed with
    errors, listed in `error_report` by section), IP or REC (still processing), anything
    else (ER: the request failed, with `err_cd` and `err_msg`)."""
    body = data.get("data") if isinstance(data, dict) else None
    if not isinstance(body, dict):
        raise SchemaError("the GSP provider's status answer is not an object")
    code = str(body.get("status_cd", "")).upper()
    errors: list[dict[str, str]] = []
    report = body.get("error_report") or {}
    if isinstance(report, dict):
        for section, items in report.items():
            for item in items if isinstance(items, list) else ():
                if not isinstance(item, dict):
                    continue
                for inv in item.get("inv") or [{}]:
                    errors.append({
                        "section": section,
                        "stin": str(item.get("stin", "")),
                        "number": str(inv.get("inum") or inv.get("nt_num") or ""),
                        "rtnprd": str(inv.get("rtnprd", "")),
                        "code": str(item.get("error_cd", "")),
                        "message": str(item.get("error_msg", "")),
                    })
    if code == "P":
        state = "done"
    elif code == "PE":
        state = "errors"
    elif code in ("IP", "REC", ""):
        state = "pending"
    else:
        state = "failed"
    return RequestOutcome(state, errors, str(body.get("err_cd", "")),
                          str(body.get("err_msg", "")), body)
