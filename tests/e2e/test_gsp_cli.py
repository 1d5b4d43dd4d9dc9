"""Portal sync on the CLI, end to end over HTTP against the stand-in provider
(tests/e2e/gsp_server.py): connect with an OTP, sync, decide, upload, regenerate, log out;
and each provider fault ending in one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from ims_bot.cli import Env, main
from ims_bot.db import Database
from ims_bot.models import Record
from tests.e2e.gsp_server import GspServer
from tests.factories import RECIPIENT, SUPPLIER_A, SUPPLIER_B, invoice, note

SECRET_KEY = "a long operator secret that encrypts stored tokens"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off and polling in milliseconds (the real ones are seconds)."""
    monkeypatch.setattr("ims_bot.gsp.sandbox.BACKOFF", (0.01, 0.01, 0.01))
    monkeypatch.setattr("ims_bot.gsp.service.POLL", (0.01, 0.01))


@pytest.fixture
def server() -> Iterator[GspServer]:
    gsp = GspServer().start()
    gsp.add_records(RECIPIENT, "b2b", [invoice("INV-1"), invoice("INV-2", supplier=SUPPLIER_B)])
    gsp.add_records(RECIPIENT, "b2bcn", [note("CN-1")])
    try:
        yield gsp
    finally:
        gsp.stop()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    url: str
    server: GspServer
    db: Database
    secret_key: str | None = SECRET_KEY

    def __call__(self, *args: str, stdin: str = "", **environ: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        env = {
            "IMS_BOT_DATABASE_URL": self.url,
            "IMS_BOT_TODAY": "2025-12-16",
            "IMS_BOT_GSP_URL": self.server.url,
            "IMS_BOT_GSP_API_KEY": self.server.api_key,
            "IMS_BOT_GSP_API_SECRET": self.server.api_secret,
            **({"IMS_BOT_SECRET_KEY": self.secret_key} if self.secret_key else {}),
            **environ,
        }
        code = main(list(args), env=Env(environ=env, stdin=io.StringIO(stdin), stdout=out,
                                        stderr=err))
        result = Result(code, out.getvalue(), err.getvalue())
        assert "Traceback" not in result.err, result.err
        return result

    def login(self) -> Result:
        result = self("gsp", "login", "--gstin", RECIPIENT, "--username", "acme_user",
                      stdin="575757\n")
        assert result.code == 0, result.err
        return result

    def records(self) -> dict[str, dict[str, Any]]:
        """The stored records by number (read back from the database itself)."""
        with self.db.read() as session:
            return {
                r.number: {"id": r.id, "status": r.status, "portal_status": r.portal_status}
                for r in session.scalars(select(Record))
            }


@pytest.fixture
def cli(database: Database, server: GspServer) -> Cli:
    return Cli(database.engine.url.render_as_string(hide_password=False), server, database)


def test_the_whole_month_on_the_cli(cli: Cli, server: GspServer, database: Database) -> None:
    login = cli.login()
    assert "6 hours" in login.out
    sync = cli("sync", "--gstin", RECIPIENT, "--json")
    assert sync.code == 0, sync.err
    report = sync.json()
    assert report["created"] == 3
    assert len(server.calls_of("section")) == 8  # one call per section
    ids = {n: r["id"] for n, r in cli.records().items()}

    assert cli("act", "--gstin", RECIPIENT, str(ids["INV-1"]), "accept").code == 0
    assert cli("act", "--gstin", RECIPIENT, str(ids["INV-2"]), "reject",
               "--remarks", "not received").code == 0
    preview = cli("upload", "--gstin", RECIPIENT, "--json")
    assert preview.json()["save"] == 2 and preview.json()["sent"] is False
    assert not server.calls_of("save")

    upload = cli("upload", "--gstin", RECIPIENT, "--yes", "--json")
    assert upload.code == 0, upload.out + upload.err
    assert upload.json()["saved"] == 2 and upload.json()["refused"] == 0
    sent = server.calls_of("save")[0].body
    assert sent["reqtyp"] == "SAVE" and "hash" not in json.dumps(sent)
    actions = {i["inum"]: i["action"] for i in sent["invdata"]["b2b"]}
    assert actions == {"INV-1": "A", "INV-2": "R"}
    records = cli.records()
    assert records["INV-1"]["portal_status"] == "accepted"
    # Saved is now the portal's state: nothing left to upload, and a sync changes nothing.
    assert cli("upload", "--gstin", RECIPIENT, "--json").json()["save"] == 0
    assert cli("sync", "--gstin", RECIPIENT, "--json").json()["unchanged"] == 3

    regenerate = cli("regenerate", "--gstin", RECIPIENT, "--period", "112025")
    assert regenerate.code == 0 and "regenerated" in regenerate.out
    assert server.calls_of("regenerate")[0].body == {"rtin": RECIPIENT, "itcprd": "112025"}

    # Tokens travel in `authorization` without "Bearer"; the secret only to /authenticate.
    for call in server.calls:
        assert not call.headers.get("authorization", "").lower().startswith("bearer")
        if call.name != "authenticate":
            assert "x-api-secret" not in {k.lower() for k in call.headers}

    logout = cli("gsp", "logout", "--gstin", RECIPIENT)
    assert logout.code == 0 and "Disconnected" in logout.out
    assert server.calls_of("logout")
    after = cli("sync", "--gstin", RECIPIENT)
    assert after.code == 1 and "not connected" in after.err


def test_a_record_the_supplier_changed_comes_back_for_a_fresh_decision(
    cli: Cli, server: GspServer
) -> None:
    cli.login()
    cli("sync", "--gstin", RECIPIENT)
    ids = {n: r["id"] for n, r in cli.records().items()}
    cli("act", "--gstin", RECIPIENT, str(ids["INV-1"]), "accept")
    cli("act", "--gstin", RECIPIENT, str(ids["CN-1"]), "accept")
    server.supplier_changed(RECIPIENT, "b2b", SUPPLIER_A, "INV-1")
    upload = cli("upload", "--gstin", RECIPIENT, "--yes")
    assert upload.code == 1
    assert "IMSSAV0010" in upload.out and "supplier changed" in upload.out
    records = cli.records()
    assert records["INV-1"]["status"] == "no_action"  # back for a fresh decision
    assert records["CN-1"]["portal_status"] == "accepted"  # saved: the portal's state
    as_json = cli("upload", "--gstin", RECIPIENT, "--yes", "--json")
    assert as_json.code == 0 and as_json.json()["saved"] == 0  # nothing left to send


def test_sync_merges_with_the_file_import_rules(cli: Cli, server: GspServer) -> None:
    cli.login()
    cli("sync", "--gstin", RECIPIENT)
    ids = {n: r["id"] for n, r in cli.records().items()}
    cli("act", "--gstin", RECIPIENT, str(ids["INV-1"]), "reject")
    cli("act", "--gstin", RECIPIENT, str(ids["INV-2"]), "accept")
    # The supplier amends INV-1 on the portal; INV-2's local decision is not uploaded yet.
    stored = server.records[RECIPIENT]["b2b"][0]
    stored.update(txval=12000.0, hash="hash-INV-1-v2")
    report = cli("sync", "--gstin", RECIPIENT, "--json").json()
    assert report["reset_by_supplier"] == 1
    records = cli.records()
    assert records["INV-1"]["status"] == "no_action"
    assert records["INV-2"]["status"] == "accepted"  # kept, still to upload


def test_the_otp_may_be_given_as_a_flag_and_a_wrong_one_is_refused(cli: Cli) -> None:
    wrong = cli("gsp", "login", "--gstin", RECIPIENT, "--username", "u", "--otp", "111111")
    assert wrong.code == 1 and "Invalid OTP" in wrong.err and "session" not in wrong.err
    right = cli("gsp", "login", "--gstin", RECIPIENT, "--username", "u", "--otp", "575757")
    assert right.code == 0


def test_without_a_secret_key_the_bot_refuses_to_connect_and_says_why(
    cli: Cli, server: GspServer
) -> None:
    cli.secret_key = None
    result = cli("gsp", "login", "--gstin", RECIPIENT, "--username", "u", "--otp", "575757")
    assert result.code == 1 and "IMS_BOT_SECRET_KEY is not set" in result.err
    assert not server.calls_of("otp")  # no OTP sent to the taxpayer for nothing


def test_without_provider_credentials_it_says_what_to_set(cli: Cli) -> None:
    result = cli("gsp", "login", "--gstin", RECIPIENT, "--username", "u", "--otp", "1",
                 IMS_BOT_GSP_API_KEY="")
    assert result.code == 1 and "IMS_BOT_GSP_API_KEY" in result.err


def test_no_token_secret_or_otp_is_stored_in_clear(
    cli: Cli, server: GspServer, database: Database
) -> None:
    cli.login()
    cli("sync", "--gstin", RECIPIENT)
    secrets = [*server._sessions, *server._platform, "575757", SECRET_KEY,
               server.api_secret, server.api_key]
    assert len(secrets) >= 6
    with database.engine.connect() as conn:
        dump = "\n".join(
            repr(tuple(row))
            for table in ("gsp_sessions", "gsp_platform_tokens", "gsp_requests", "action_log")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert "acme_user" in dump  # the rows are there
    for secret in secrets:
        assert secret not in dump
    if database.is_sqlite:  # and the raw file, every page of it
        raw = Path(database.engine.url.database or "").read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw


def test_an_expired_session_says_connect_again(cli: Cli, server: GspServer) -> None:
    cli.login()
    server.expire_sessions()
    result = cli("sync", "--gstin", RECIPIENT)
    assert result.code == 1 and "connect again" in result.err
    assert result.err.count("\n") == 1  # one line


def test_rate_limits_are_retried_with_back_off(cli: Cli, server: GspServer) -> None:
    cli.login()
    server.fail("section", status=429, times=2)
    assert cli("sync", "--gstin", RECIPIENT).code == 0
    server.fail("section", status=429, times=10)
    result = cli("sync", "--gstin", RECIPIENT)
    assert result.code == 4 and "rate limit" in result.err


def test_provider_down_is_one_line(cli: Cli, server: GspServer) -> None:
    cli.login()
    server.fail("*", status=503, times=1)
    result = cli("sync", "--gstin", RECIPIENT)
    assert result.code == 4 and "down" in result.err
    server.stop()
    gone = cli("sync", "--gstin", RECIPIENT)
    assert gone.code == 4 and "cannot be reached" in gone.err


def test_schema_errors_are_one_line(cli: Cli, server: GspServer) -> None:
    cli.login()
    server.fail("section", status=422, body={"code": 422, "message": "Invalid section"})
    result = cli("sync", "--gstin", RECIPIENT)
    assert result.code == 1 and "shape" in result.err and "Invalid section" in result.err
    server.fail("section", status=200, body={"unexpected": True})
    odd = cli("sync", "--gstin", RECIPIENT)
    assert odd.code == 1 and "shape IMS Bot does not know" in odd.err


def test_rejected_operator_credentials(cli: Cli, server: GspServer) -> None:
    result = cli("gsp", "login", "--gstin", RECIPIENT, "--username", "u", "--otp", "575757",
                 IMS_BOT_GSP_API_SECRET="wrong")
    assert result.code == 1 and "IMS_BOT_GSP_API_SECRET" in result.err


@pytest.mark.parametrize(("code", "words"), [
    ("IMS2B009", "not generated yet"),
    ("IMS2B007", "already filed"),
])
def test_regeneration_refusals_are_explained(
    cli: Cli, server: GspServer, code: str, words: str
) -> None:
    cli.login()
    server.regenerate_error("102025", code, "refused")
    result = cli("regenerate", "--gstin", RECIPIENT, "--period", "102025")
    assert result.code == 1 and code in result.err and words in result.err
    bad = cli("regenerate", "--gstin", RECIPIENT, "--period", "2025-10")
    assert bad.code == 2


def test_no_token_secret_or_otp_reaches_a_log_line(cli: Cli, server: GspServer) -> None:
    """Every library at DEBUG (httpx logs each URL, the OTP is in verify's query)."""
    import logging

    from ims_bot.logs import configure_logging

    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        cli.login()
        cli("sync", "--gstin", RECIPIENT)
        cli("upload", "--gstin", RECIPIENT, "--yes")
        logging.getLogger("ims_bot.test").debug("token %s", next(iter(server._sessions)))
    finally:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logged = stream.getvalue()
    assert "HTTP Request" in logged and "<redacted>" in logged
    for secret in [*server._sessions, *server._platform, "575757", SECRET_KEY,
                   server.api_secret, server.api_key]:
        assert secret not in logged, secret


def test_an_upload_still_processing_is_resolved_by_the_next_one(
    cli: Cli, server: GspServer
) -> None:
    cli.login()
    cli("sync", "--gstin", RECIPIENT)
    ids = {n: r["id"] for n, r in cli.records().items()}
    cli("act", "--gstin", RECIPIENT, str(ids["INV-1"]), "accept")
    server.processing(3)  # the first upload's three polls (fast_retries: two waits)
    first = cli("upload", "--gstin", RECIPIENT, "--yes")
    assert first.code == 1 and "still processing" in first.out
    assert cli.records()["INV-1"]["portal_status"] == "no_action"
    second = cli("upload", "--gstin", RECIPIENT, "--yes", "--json")
    assert second.code == 0 and second.json()["saved"] == 1
    assert len(server.calls_of("save")) == 1  # not sent twice
    assert cli.records()["INV-1"]["portal_status"] == "accepted"


def test_a_session_ending_within_the_hour_is_refreshed(
    cli: Cli, server: GspServer, database: Database
) -> None:
    from datetime import datetime, timedelta

    from sqlalchemy import update

    from ims_bot.models import GspSession
    from ims_bot.settings import INDIA

    cli.login()
    with database.begin() as session:
        session.execute(update(GspSession).values(
            expires_at=datetime.now(INDIA) + timedelta(minutes=30)))
    assert cli("sync", "--gstin", RECIPIENT).code == 0
    assert len(server.calls_of("refresh")) == 1
    with database.read() as session:
        row = session.scalars(select(GspSession)).one()
        assert row.refreshed_at is not None
        assert row.expires_at.replace(tzinfo=row.expires_at.tzinfo or INDIA) > datetime.now(
            INDIA) + timedelta(hours=5)
    with database.begin() as session:  # ended: no call, "connect again"
        session.execute(update(GspSession).values(
            expires_at=datetime.now(INDIA) - timedelta(minutes=1)))
    ended = cli("sync", "--gstin", RECIPIENT)
    assert ended.code == 1 and "connect again" in ended.err


def test_a_platform_token_the_provider_forgot_is_renewed(cli: Cli, server: GspServer) -> None:
    cli.login()
    server._platform.clear()  # e.g. revoked: the cached token is refused (403)
    cli.login()
    assert len(server.calls_of("authenticate")) == 2


def test_a_decision_taken_back_goes_as_a_reset(cli: Cli, server: GspServer) -> None:
    cli.login()
    cli("sync", "--gstin", RECIPIENT)
    ids = {n: r["id"] for n, r in cli.records().items()}
    cli("act", "--gstin", RECIPIENT, str(ids["INV-1"]), "accept")
    assert cli("upload", "--gstin", RECIPIENT, "--yes").code == 0
    undo = cli("undo", "--gstin", RECIPIENT, str(ids["INV-1"]))
    assert undo.code == 0, undo.err
    preview = cli("upload", "--gstin", RECIPIENT, "--json").json()
    assert (preview["save"], preview["reset"]) == (0, 1)
    assert cli("upload", "--gstin", RECIPIENT, "--yes").code == 0
    [reset] = server.calls_of("reset")
    assert reset.body["reqtyp"] == "RESET"
    [item] = reset.body["invdata"]["b2b"]
    assert "action" not in item and item["prev_status"] == "A"
    assert cli.records()["INV-1"]["portal_status"] == "no_action"
    assert server.records[RECIPIENT]["b2b"][0]["action"] == "N"
