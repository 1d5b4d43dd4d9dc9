"""The GSP layer's pure parts: encryption, the Sandbox connector's reading of answers (with
httpx's mock transport), and the redaction of secrets learnt at run time."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from ims_bot.gsp import sandbox
from ims_bot.gsp.crypto import Vault
from ims_bot.gsp.errors import (
    GspError,
    NotConfigured,
    PortalError,
    ProviderDown,
    ProviderRejected,
    RateLimited,
    SchemaError,
    SessionExpired,
)
from ims_bot.gsp.provider import Auth
from ims_bot.logs import configure_logging, register_secret
from ims_bot.settings import INDIA


def test_vault_round_trip_and_no_clear_text() -> None:
    vault = Vault("any operator text")
    sealed = vault.seal("token-123")
    assert "token-123" not in sealed
    assert vault.open(sealed) == "token-123"
    assert Vault(Fernet.generate_key().decode()).seal("x")  # a Fernet key works as is


def test_vault_needs_a_key_and_the_same_key() -> None:
    with pytest.raises(NotConfigured, match="IMS_BOT_SECRET_KEY"):
        Vault(None)
    sealed = Vault("one").seal("t")
    with pytest.raises(GspError, match="connect again"):
        Vault("two").open(sealed)


def _sandbox(handler: Any, sleeps: list[float] | None = None) -> sandbox.Sandbox:
    box = sandbox.Sandbox("http://provider.test", "k", "s", backoff=(0.5, 1.0),
                          sleep=(sleeps if sleeps is not None else []).append,
                          now=lambda: datetime(2025, 12, 16, 10, tzinfo=INDIA))
    box._client = httpx.Client(transport=httpx.MockTransport(handler))
    return box


def _envelope(data: Any) -> dict[str, Any]:
    return {"code": 200, "data": data, "transaction_id": "t"}


def test_authenticate_sends_key_and_secret_and_reads_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_envelope({"access_token": "jwt"}))

    token = _sandbox(handler).authenticate()
    assert token.value == "jwt" and token.expires_at.hour == 10
    assert seen[0].headers["x-api-key"] == "k" and seen[0].headers["x-api-secret"] == "s"


def test_taxpayer_calls_carry_the_session_token_without_bearer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "session-token"
        assert "x-api-secret" not in request.headers
        return httpx.Response(200, json=_envelope(
            {"data": {"b2b": [{"inum": "1"}]}, "status_cd": "1"}))

    assert _sandbox(handler).fetch_section(Auth("p", "session-token"), "G", "b2b") == [
        {"inum": "1"}]


def test_429_is_retried_with_back_off_then_reported() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"retry-after": "3"}, json={"code": 429})

    with pytest.raises(RateLimited, match="429"):
        _sandbox(handler, sleeps).fetch_section(Auth("p", "s"), "G", "b2b")
    assert len(calls) == 3 and sleeps == [3.0, 3.0]  # Retry-After wins when longer


@pytest.mark.parametrize(("status", "body", "error", "words"), [
    (503, {}, ProviderDown, "down"),
    (403, {"code": 403, "message": "Invalid API key"}, ProviderRejected, "Invalid API key"),
    (422, {"code": 422, "message": "bad gstin"}, SchemaError, "bad gstin"),
    (200, {"nothing": 1}, SchemaError, "shape"),
    (200, _envelope({"status_cd": "0", "error": {"error_cd": "AUTH4033",
                                                  "message": "Invalid Session"}}),
     SessionExpired, "connect again"),
    (200, _envelope({"status_cd": "0", "error": {"error_cd": "IMS2B009", "message": "x"}}),
     PortalError, "not generated yet"),
])
def test_faults_become_one_error_each(
    status: int, body: dict[str, Any], error: type[Exception], words: str
) -> None:
    box = _sandbox(lambda request: httpx.Response(status, json=body))
    with pytest.raises(error, match=words):
        box.fetch_section(Auth("p", "s"), "G", "b2b")


def test_connection_failures_are_provider_down() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(ProviderDown, match="cannot be reached"):
        _sandbox(handler).authenticate()


def test_status_with_per_record_errors() -> None:
    outcome = sandbox._outcome({"data": {
        "status_cd": "PE", "transTypCd": "IMS", "proc_cnt": "1", "err_cnt": "1",
        "error_report": {"b2bcn": [{"stin": "S", "error_cd": "IMSSAV0010",
                                    "error_msg": "modified",
                                    "inv": [{"inum": "CN-1", "rtnprd": "112025"}]}]},
    }})
    assert outcome.state == "errors"
    assert outcome.errors == [{"section": "b2bcn", "stin": "S", "number": "CN-1",
                               "rtnprd": "112025", "code": "IMSSAV0010",
                               "message": "modified"}]
    assert sandbox._outcome({"data": {"status_cd": "IP"}}).state == "pending"
    assert sandbox._outcome({"data": {"status_cd": "P"}}).state == "done"
    assert sandbox._outcome({"data": {"status_cd": "ER", "err_cd": "X"}}).state == "failed"


def test_secrets_learnt_at_run_time_are_redacted() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    register_secret("session-token-abc", None)
    logging.getLogger("ims_bot.test").info("calling with %s", "session-token-abc")
    assert "session-token-abc" not in stream.getvalue()
    assert "<redacted>" in stream.getvalue()


def test_an_otp_typed_as_a_message_is_redacted_from_update_dumps() -> None:
    from ims_bot.logs import redact

    line = "Getting updates: [{'message': {'text': '575757', 'chat': {'id': 1}}}]"
    assert "575757" not in redact(line)
    assert '"text": "<redacted>"' in redact('{"text": "123456"}')
    assert "invoice 575757" in redact("{'text': 'invoice 575757'}")  # not an OTP alone
