"""The webhook's ledger of handled updates, on SQLite and PostgreSQL: every replica on the
database sees an update another one handled, and old ids are pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ims_bot.db import Database
from ims_bot.models import ProcessedUpdate
from ims_bot.webhook import DatabaseLedger, RecentUpdates, update_ledger

NOW = datetime(2025, 12, 16, 10, 30, tzinfo=UTC)


def test_a_handled_update_is_known_to_another_replica(database: Database) -> None:
    ours, theirs = DatabaseLedger(database, lambda: NOW), DatabaseLedger(database, lambda: NOW)

    async def play() -> tuple[bool, bool, bool]:
        before = await theirs.handled(731_000_001)
        await ours.record(731_000_001)
        await ours.record(731_000_001)  # recorded twice (a retry raced): still one row
        return before, await theirs.handled(731_000_001), await theirs.handled(731_000_002)

    assert asyncio.run(play()) == (False, True, False)
    with database.begin() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1


def test_ids_older_than_two_days_are_pruned(database: Database) -> None:
    old = DatabaseLedger(database, lambda: NOW - timedelta(days=3))
    recent = DatabaseLedger(database, lambda: NOW - timedelta(hours=1))
    now = DatabaseLedger(database, lambda: NOW)

    async def play() -> None:
        await old.record(731_000_101)
        await recent.record(731_000_102)
        await now.record(731_000_200)  # a multiple of PRUNE_EVERY: prunes as it records

    asyncio.run(play())
    with database.begin() as session:
        kept = set(session.scalars(select(ProcessedUpdate.update_id)))
    assert kept == {731_000_102, 731_000_200}


def test_without_a_database_the_ledger_is_in_memory_and_bounded() -> None:
    ledger = update_ledger(None)
    assert isinstance(ledger, RecentUpdates)
    small = RecentUpdates(size=2)

    async def play() -> list[bool]:
        for update_id in (1, 2, 3):
            await small.record(update_id)
        return [await small.handled(n) for n in (1, 2, 3)]

    assert asyncio.run(play()) == [False, True, True]


def test_with_a_database_the_ledger_is_the_shared_one(sqlite_db: Database) -> None:
    assert isinstance(update_ledger(sqlite_db), DatabaseLedger)
