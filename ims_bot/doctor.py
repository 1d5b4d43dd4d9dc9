"""`ims-bot doctor`: is this installation ready to run? One verdict line per check.

Checks, in order: the configuration loads (and whether a token is set), the database is
reachable and migrated, and the Bot API answers `getMe` with the token. A check that cannot
run because an earlier one failed is reported as SKIP, never as a second failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ims_bot.db import Database, DatabaseUrlError, parse_database_url
from ims_bot.settings import Settings, SettingsError

DEFAULT_TIMEOUT = 5.0
# BotFather tokens are "<bot id>:<35 characters>"; a looser pattern still catches pastes of
# the wrong thing (a chat id, a URL, quotes) without rejecting a future format.
_TOKEN_SHAPE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")


class Verdict(Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        return f"{self.verdict.value:<4}  {self.name}: {self.detail}"


def diagnose(
    load: Callable[[], Settings],
    *,
    upgrade: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """Run every check; `load` builds the settings (so a SettingsError becomes a verdict)."""
    try:
        settings = load()
    except SettingsError as exc:
        return [
            Check("configuration", Verdict.FAIL, str(exc)),
            Check("database", Verdict.SKIP, "needs a valid configuration"),
            Check("Bot API", Verdict.SKIP, "needs a valid configuration"),
        ]
    return [
        Check("configuration", Verdict.OK, "settings loaded"),
        check_token(settings),
        *check_dates(settings),
        check_database(settings, upgrade=upgrade),
        check_bot_api(settings, timeout=timeout),
    ]


def has_failures(checks: list[Check]) -> bool:
    return any(check.verdict is Verdict.FAIL for check in checks)


def check_token(settings: Settings) -> Check:
    token = settings.token
    if token is None:
        return Check(
            "token",
            Verdict.WARN,
            "IMS_BOT_TOKEN is not set: `ims-bot chat --demo` works without it; `ims-bot run` "
            "and `ims-bot webhook` need one from @BotFather",
        )
    if not _TOKEN_SHAPE.match(token):
        return Check(
            "token",
            Verdict.WARN,
            "IMS_BOT_TOKEN does not look like a BotFather token (expected 123456:ABC...)",
        )
    return Check("token", Verdict.OK, f"set for bot id {token.split(':', 1)[0]}")


def check_dates(settings: Settings) -> list[Check]:
    if settings.today_override is None:
        return []
    return [
        Check(
            "date",
            Verdict.WARN,
            f"IMS_BOT_TODAY fixes today to {settings.today_override.isoformat()}: deadlines and "
            "reminders use that date (unset it in production)",
        )
    ]


def check_database(settings: Settings, *, upgrade: bool = False) -> Check:
    from sqlalchemy.exc import SQLAlchemyError

    name = "database"
    try:
        url = parse_database_url(settings.database_url)
    except DatabaseUrlError as exc:
        return Check(name, Verdict.FAIL, str(exc))
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database).expanduser()
        problem = _sqlite_problem(path)
        if problem:
            return Check(name, Verdict.FAIL, problem)
        if not path.exists() and not upgrade:
            return Check(
                name,
                Verdict.WARN,
                f"{path} does not exist yet: the first `ims-bot run` (or `ims-bot doctor "
                "--upgrade`) creates and migrates it",
            )
    try:
        db = Database(settings.database_url)
    except DatabaseUrlError as exc:
        return Check(name, Verdict.FAIL, str(exc))
    except OSError as exc:  # e.g. its directory could not be created
        return Check(name, Verdict.FAIL, f"cannot use {shown}: {exc.strerror or exc}")
    try:
        if upgrade:
            db.upgrade()
        current, head = db.current_revision(), db.head_revision()
    except SQLAlchemyError as exc:
        return Check(name, Verdict.FAIL, f"cannot use {shown}: {_first_line(exc)}")
    finally:
        db.dispose()
    return _migration_verdict(name, shown, current, head, db)


def _sqlite_problem(path: Path) -> str | None:
    """Why a SQLite database cannot be kept at `path`, or None; checked by creating what is
    missing (its directories, a probe file next to it) and removing it again."""
    try:
        return _sqlite_path_problem(path)
    except OSError as exc:  # e.g. a directory on the way that may not be searched
        return f"cannot use {path}: {exc.strerror or exc}"


def _sqlite_path_problem(path: Path) -> str | None:
    if path.is_dir():
        return f"{path} is a directory, not a database file"
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"{path} is not writable"
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is not a directory"
    created: list[Path] = []
    try:
        for directory in reversed(missing):
            directory.mkdir()
            created.append(directory)
        # SQLite also writes its journal (-wal, -shm) next to the file: the directory itself
        # must be writable, not just the file creatable.
        fd, probe = tempfile.mkstemp(prefix=".ims-bot-doctor-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        return f"cannot create {path}: {exc.strerror or exc}{where}"
    finally:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
    return None


def _migration_verdict(
    name: str, shown: str, current: str | None, head: str | None, db: Database
) -> Check:
    if current == head:
        return Check(name, Verdict.OK, f"{shown} reachable, schema up to date ({head})")
    hint = "run `ims-bot doctor --upgrade`, or start the bot (it migrates on start)"
    if current is None:
        return Check(name, Verdict.WARN, f"{shown} reachable but not migrated yet: {hint}")
    if _is_known_revision(db, current):
        return Check(
            name, Verdict.WARN, f"{shown} at schema {current}, this version needs {head}: {hint}"
        )
    return Check(
        name,
        Verdict.FAIL,
        f"{shown} is at schema {current}, unknown to this version of IMS Bot (written by a "
        "newer version?): upgrade IMS Bot rather than the database",
    )


def _is_known_revision(db: Database, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(db.alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def check_bot_api(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> Check:
    import httpx

    name = "Bot API"
    token = settings.token
    if token is None:
        return Check(name, Verdict.SKIP, "skipped: no token")
    url = _api_method_url(settings.api_url, token, "getMe")
    shown = _redact(url, token)
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        reason = _redact(str(exc) or type(exc).__name__, token)
        return Check(name, Verdict.FAIL, f"cannot reach {shown}: {reason}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
        bot = body.get("result") or {}
        who = f"@{bot.get('username')} (id {bot.get('id')})"
        return Check(name, Verdict.OK, f"getMe answered: {who}")
    description = body.get("description") if isinstance(body, dict) else None
    reason = _redact(str(description or response.reason_phrase), token)
    if response.status_code == 401:
        return Check(name, Verdict.FAIL, f"the token was rejected ({reason}): ask @BotFather")
    return Check(name, Verdict.FAIL, f"{shown} answered HTTP {response.status_code}: {reason}")


def _api_method_url(api_url: str, token: str, method: str) -> str:
    """The URL python-telegram-bot would call: base URL + token (or a `{token}` template)."""
    base = api_url.replace("{token}", token) if "{token}" in api_url else api_url + token
    return f"{base.rstrip('/')}/{method}"


def _redact(text: str, token: str) -> str:
    return text.replace(token, "<token>")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
