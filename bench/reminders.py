"""Benchmark: plan and sweep reminders for N users with 3 GSTINs each.

    .venv/bin/python bench/reminders.py [--users 100000] [--postgres URL | --no-postgres]

Users, workspaces and memberships are bulk-inserted; the sweep uses a no-op sender. The time
is printed beside the floor Telegram sets (30 messages/s: N messages take N/30 s at best).
PostgreSQL runs in a throw-away database when the server answers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from ims_bot.db import Database
from ims_bot.gstin import make_gstin
from ims_bot.models import Membership, Reminder, Taxpayer, User
from ims_bot.reminders import FakeSender, plan, sweep
from ims_bot.settings import INDIA

TELEGRAM_PER_SECOND = 30
PLAN_AT = datetime.combine(date(2025, 12, 1), clock(8), INDIA)
# 11 Dec 09:00: the 3-day reminder of the 14 Dec draft GSTR-2B is due for every workspace.
SWEEP_AT = datetime.combine(date(2025, 12, 11), clock(9), INDIA)
STATES = ("27", "29", "07", "33", "09", "24")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def populate(db: Database, users: int, per_user: int = 3) -> None:
    created = datetime.combine(date(2025, 11, 1), clock(0), INDIA)
    pans = [f"AAB{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}{1000 + i:04d}K" for i in range(676)]
    gstins = [make_gstin(s, p) for s in STATES for p in pans]
    chunk = 20_000
    with db.begin() as session:
        for start in range(0, users, chunk):
            ids = range(start + 1, min(users, start + chunk) + 1)
            session.execute(
                insert(User.__table__),
                [{"id": i, "chat_id": i, "created_at": created, "remind_days": "3,1",
                  "remind_time": "09:00", "reminders_enabled": True, "all_clear": True,
                  "remind_kinds": "draft_2b,gstr3b_due,pending_window,itc_time_limit"}
                 for i in ids],
            )
            taxpayers = [
                {"id": (i - 1) * per_user + k + 1,
                 "gstin": gstins[(i * per_user + k) % len(gstins)],
                 "owner_id": i, "name": "", "created_at": created,
                 "state_code": gstins[(i * per_user + k) % len(gstins)][:2],
                 "frequency": "quarterly" if k == 2 else "monthly"}
                for i in ids for k in range(per_user)
            ]
            session.execute(insert(Taxpayer.__table__), taxpayers)
            session.execute(
                insert(Membership.__table__),
                [{"taxpayer_id": t["id"], "user_id": t["owner_id"], "role": "owner",
                  "created_at": created} for t in taxpayers],
            )
    if not db.is_sqlite:
        with db.begin() as session:
            session.execute(text("ANALYZE"))


def run(label: str, db: Database, users: int) -> None:
    started = time.perf_counter()
    populate(db, users)
    print(f"[{label}] populate {users:,} users x 3 GSTINs: {time.perf_counter() - started:.1f}s")

    started = time.perf_counter()
    added = plan(db, PLAN_AT)
    first = time.perf_counter() - started
    print(f"[{label}] plan (first run): {added:,} reminders in {first:.1f}s")

    started = time.perf_counter()
    again = plan(db, PLAN_AT.replace(minute=15))
    print(f"[{label}] plan (again, idempotent): {again:,} new in "
          f"{time.perf_counter() - started:.1f}s")

    with db.begin() as session:
        due = session.scalar(
            select(func.count(Reminder.id)).where(
                Reminder.status == "planned", Reminder.send_at <= SWEEP_AT
            )
        ) or 0
    sender = FakeSender(record=False)
    started = time.perf_counter()
    result = asyncio.run(sweep(db, sender, SWEEP_AT, worker="bench", batch=500))
    took = time.perf_counter() - started
    floor = result.sent / TELEGRAM_PER_SECOND
    print(f"[{label}] sweep: {due:,} due, {result.sent:,} sent, {result.skipped:,} skipped "
          f"in {took:.1f}s ({result.claimed / max(took, 1e-9):,.0f}/s); Telegram's floor for "
          f"{result.sent:,} messages at {TELEGRAM_PER_SECOND}/s: {floor:,.0f}s "
          f"({floor / 3600:.1f} h)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--postgres", default=PG_ADMIN, help="admin URL of a PostgreSQL server")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args(argv)

    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            db = Database(f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
            db.upgrade()
            try:
                run("sqlite", db, args.users)
            finally:
                db.dispose()

    if not args.no_postgres:
        try:
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT",
                                  connect_args={"connect_timeout": 3})
            with admin.connect() as conn:
                name = f"ims_bot_bench_{uuid.uuid4().hex[:8]}"
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # no server: SQLite figures only
            print(f"[postgres] skipped: {str(exc).splitlines()[0]}")
            return 0
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        db = Database(url)
        try:
            db.upgrade()
            run("postgres", db, args.users)
        finally:
            db.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
