"""`ims-bot doctor` verdicts, and `run` / `webhook` refusing to start on a bad setup.

The Bot API check talks to a stand-in HTTP server on 127.0.0.1, never to Telegram.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from ims_bot.cli import Env, ExitCode, main
from ims_bot.db import Database
from ims_bot.doctor import Verdict, check_bot_api, check_database
from ims_bot.settings import Settings

GOOD_TOKEN = "4242424242:AAHdoctorGoodTokenForTests_abcdefghij"
BAD_TOKEN = "4242424242:AAHdoctorRevokedTokenForTests_klmnop"


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(environ: dict[str, str], *args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), env=Env(environ=environ, stdin=io.StringIO(), stdout=out, stderr=err))
    return Result(code, out.getvalue(), err.getvalue())


class _FakeBotApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == f"/bot{GOOD_TOKEN}/getMe":
            status, body = (
                200,
                {
                    "ok": True,
                    "result": {
                        "id": 4242424242,
                        "is_bot": True,
                        "first_name": "Doc",
                        "username": "ims_doctor_bot",
                    },
                },
            )
        else:
            status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def bot_api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeBotApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeBotApi)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/bot"


def migrated_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'doctor.sqlite3'}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    return url


# ---------------------------------------------------------------------------- Bot API


def test_bot_api_ok_names_the_bot(bot_api_url: str, tmp_path: Path) -> None:
    check = check_bot_api(
        Settings(database_url="sqlite://", token=GOOD_TOKEN, api_url=bot_api_url), timeout=2
    )

    assert check.verdict is Verdict.OK
    assert "@ims_doctor_bot" in check.detail


def test_bot_api_rejected_token_fails_without_printing_the_token(bot_api_url: str) -> None:
    check = check_bot_api(
        Settings(database_url="sqlite://", token=BAD_TOKEN, api_url=bot_api_url), timeout=2
    )

    assert check.verdict is Verdict.FAIL
    assert "rejected" in check.detail
    assert BAD_TOKEN not in check.line()


def test_bot_api_unreachable_fails_and_redacts_the_token(closed_port_url: str) -> None:
    check = check_bot_api(
        Settings(database_url="sqlite://", token=GOOD_TOKEN, api_url=closed_port_url), timeout=2
    )

    assert check.verdict is Verdict.FAIL
    assert "cannot reach" in check.detail
    assert GOOD_TOKEN not in check.line()
    assert "<token>" in check.detail


def test_bot_api_is_skipped_without_a_token() -> None:
    check = check_bot_api(Settings(database_url="sqlite://"))

    assert check.verdict is Verdict.SKIP
    assert check.line() == "SKIP  Bot API: skipped: no token"


# ---------------------------------------------------------------------------- database


def test_migrated_database_is_ok(tmp_path: Path) -> None:
    check = check_database(Settings(database_url=migrated_url(tmp_path)))

    assert check.verdict is Verdict.OK
    assert "up to date" in check.detail


def test_missing_sqlite_file_is_a_warning_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "later" / "ims.sqlite3"

    check = check_database(Settings(database_url=f"sqlite:///{path}"))

    assert check.verdict is Verdict.WARN
    assert "does not exist yet" in check.detail
    assert not path.exists()


def test_sqlite_file_under_a_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file, not a directory")

    check = check_database(Settings(database_url=f"sqlite:///{blocker / 'ims.sqlite3'}"))

    assert check.verdict is Verdict.FAIL
    assert "not-a-dir" in check.detail
    assert "not a directory" in check.detail


@pytest.mark.parametrize("upgrade", [False, True])
def test_sqlite_file_that_cannot_be_created_fails(upgrade: bool) -> None:
    check = check_database(Settings(database_url="sqlite:////proc/x/y.sqlite3"), upgrade=upgrade)

    assert check.verdict is Verdict.FAIL
    assert "/proc/x/y.sqlite3" in check.detail
    assert "cannot create" in check.detail


def test_sqlite_directory_that_is_not_writable_fails(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK) and os.geteuid() == 0:
            # root writes anywhere: a read-only bind is what stops it, not the mode bits.
            pytest.skip("root ignores directory permissions")
        check = check_database(Settings(database_url=f"sqlite:///{locked / 'ims.sqlite3'}"))
    finally:
        locked.chmod(0o700)

    assert check.verdict is Verdict.FAIL
    assert "cannot create" in check.detail


def test_checking_a_missing_sqlite_file_leaves_nothing_behind(tmp_path: Path) -> None:
    check = check_database(Settings(database_url=f"sqlite:///{tmp_path / 'a' / 'b' / 'c.db'}"))

    assert check.verdict is Verdict.WARN
    assert list(tmp_path.iterdir()) == []


def test_unmigrated_database_warns_and_upgrade_fixes_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    settings = Settings(database_url=f"sqlite:///{path}")

    before = check_database(settings)
    after = check_database(settings, upgrade=True)

    assert before.verdict is Verdict.WARN
    assert "not migrated" in before.detail
    assert "--upgrade" in before.detail
    assert after.verdict is Verdict.OK


def test_database_from_a_newer_version_fails(tmp_path: Path) -> None:
    url = migrated_url(tmp_path)
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    db.dispose()

    check = check_database(Settings(database_url=url))

    assert check.verdict is Verdict.FAIL
    assert "9999_from_the_future" in check.detail


def test_malformed_database_url_fails() -> None:
    check = check_database(Settings(database_url="mysql://shop@localhost/ims"))

    assert check.verdict is Verdict.FAIL
    assert "IMS_BOT_DATABASE_URL" in check.detail


# ---------------------------------------------------------------------------- ims-bot doctor


def test_doctor_passes_without_a_token(tmp_path: Path) -> None:
    result = run_cli({"IMS_BOT_DATABASE_URL": migrated_url(tmp_path)}, "doctor")

    assert result.code == ExitCode.OK
    lines = result.stdout.splitlines()
    assert lines[0] == "OK    configuration: settings loaded"
    assert any(line.startswith("WARN  token: IMS_BOT_TOKEN is not set") for line in lines)
    assert any(line.startswith("OK    database:") for line in lines)
    assert lines[-1] == "SKIP  Bot API: skipped: no token"


def test_doctor_all_ok_against_a_stand_in_bot_api(tmp_path: Path, bot_api_url: str) -> None:
    environ = {
        "IMS_BOT_DATABASE_URL": migrated_url(tmp_path),
        "IMS_BOT_TOKEN": GOOD_TOKEN,
        "IMS_BOT_API_URL": bot_api_url,
    }

    result = run_cli(environ, "doctor", "--timeout", "2")

    assert result.code == ExitCode.OK
    assert all(line.startswith("OK") for line in result.stdout.splitlines()), result.stdout


def test_doctor_fails_when_telegram_rejects_the_token(tmp_path: Path, bot_api_url: str) -> None:
    environ = {
        "IMS_BOT_DATABASE_URL": migrated_url(tmp_path),
        "IMS_BOT_TOKEN": BAD_TOKEN,
        "IMS_BOT_API_URL": bot_api_url,
    }

    result = run_cli(environ, "doctor", "--timeout", "2")

    assert result.code == ExitCode.FAILED
    assert "FAIL  Bot API: the token was rejected" in result.stdout
    assert BAD_TOKEN not in result.stdout


def test_doctor_reports_a_bad_setting_and_skips_the_rest(tmp_path: Path) -> None:
    environ = {"IMS_BOT_DATABASE_URL": migrated_url(tmp_path), "IMS_BOT_TODAY": "16/12/2025"}

    result = run_cli(environ, "doctor")

    assert result.code == ExitCode.FAILED
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL  configuration: IMS_BOT_TODAY")
    assert [line.split()[0] for line in lines[1:]] == ["SKIP", "SKIP"]


@pytest.mark.parametrize("url", ["not a url", "api.telegram.org/bot", "ftp://x.in/bot",
                                 "http://127.0.0.1:port/bot"])
def test_doctor_reports_an_api_url_that_is_not_a_url(tmp_path: Path, url: str) -> None:
    environ = {"IMS_BOT_DATABASE_URL": migrated_url(tmp_path), "IMS_BOT_API_URL": url}

    result = run_cli(environ, "doctor")

    assert result.code == ExitCode.FAILED
    assert result.stdout.startswith("FAIL  configuration: IMS_BOT_API_URL must be an http")


# ---------------------------------------------------------------------------- run / webhook


def test_run_without_a_token_says_so_in_one_line(tmp_path: Path) -> None:
    result = run_cli({"IMS_BOT_DATABASE_URL": migrated_url(tmp_path)}, "run")

    assert result.code != 0
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("ims-bot: IMS_BOT_TOKEN is not set")


def test_run_with_a_malformed_database_url_says_so_in_one_line() -> None:
    result = run_cli({"IMS_BOT_TOKEN": GOOD_TOKEN, "IMS_BOT_DATABASE_URL": "not a url"}, "run")

    assert result.code != 0
    assert result.stderr.count("\n") == 1
    assert "IMS_BOT_DATABASE_URL is not a database URL" in result.stderr


def test_webhook_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    result = run_cli(
        {"IMS_BOT_DATABASE_URL": migrated_url(tmp_path)},
        "webhook",
        "--url",
        "https://bot.example.in/tg",
        "--secret",
        "s3cret_token-1",
    )

    assert result.code != 0
    assert "IMS_BOT_TOKEN is not set" in result.stderr


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        (["--url", "ftp://bot.example.in/tg"], "--url"),
        (["--url", "bot.example.in/tg"], "--url"),
        (["--port", "0"], "--port"),
        (["--port", "65536"], "--port"),
        (["--port", "https"], "--port"),
        (["--secret", "has space"], "--secret"),
        (["--secret", ""], "--secret"),
        (["--secret", "x" * 257], "--secret"),
        (["--max-connections", "0"], "--max-connections"),
        (["--max-connections", "101"], "--max-connections"),
        (["--max-connections", "many"], "--max-connections"),
    ],
)
def test_webhook_rejects_bad_flags(
    capsys: pytest.CaptureFixture[str], flags: list[str], complaint: str
) -> None:
    defaults = {"--url": "https://bot.example.in/tg", "--secret": "s3cret_token-1"}
    given = dict(zip(flags[::2], flags[1::2], strict=True))
    argv = ["webhook"]
    for flag, value in {**defaults, **given}.items():
        argv += [flag, value]

    result = run_cli({"IMS_BOT_TOKEN": GOOD_TOKEN}, *argv)

    assert result.code == ExitCode.USAGE
    assert f"argument {complaint}" in capsys.readouterr().err
