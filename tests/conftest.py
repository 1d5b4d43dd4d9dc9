"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and a fixed clock.

`database` is parametrised over both backends. PostgreSQL tests skip with the reason when
no server answers (a laptop without one); CI sets IMS_BOT_REQUIRE_POSTGRES=1 so that an
unreachable server fails the run instead of skipping silently.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ims_bot.db import Database

ADMIN_URL = os.environ.get(
    "IMS_BOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("IMS_BOT_REQUIRE_POSTGRES") == "1"
TABLES = (
    "reminders", "action_log", "period_states", "records", "invites", "memberships", "users",
    "suppliers", "annual_returns", "prompts", "processed_updates", "register_mappings",
    "reconcile_runs", "gsp_sessions", "gsp_platform_tokens", "gsp_requests", "taxpayers",
)


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no usable server here
        return f"PostgreSQL not reachable at {ADMIN_URL}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    problem = _postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"ims_bot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.upgrade()
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # closing the last connection checkpoints the WAL into the main file
    return path


def _fresh_sqlite(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / f"ims-{uuid.uuid4().hex[:6]}.sqlite3"
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}")


def _fresh_postgres(url: str) -> Database:
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[Database]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        db = _fresh_sqlite(sqlite_template, tmp_path)
    else:
        db = _fresh_postgres(request.getfixturevalue("postgres_url"))
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """SQLite only, for tests of behaviour that does not depend on the backend."""
    db = _fresh_sqlite(sqlite_template, tmp_path)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    db = _fresh_postgres(postgres_url)
    try:
        yield db
    finally:
        db.dispose()


class FakeClock:
    """A settable 'today' for services and rules (India's calendar date)."""

    def __init__(self, today: date) -> None:
        self.value = today

    def __call__(self) -> date:
        return self.value


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(date(2025, 11, 20))
