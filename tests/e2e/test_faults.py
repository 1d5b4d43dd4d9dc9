"""Faults: the bot process killed mid-work, Telegram refusing or failing, the database gone.

The process tests share one bot (its own server and SQLite file) that they kill and start
again; set-up data goes in through the services, the play goes through Telegram. The
database tests run in-process, on PostgreSQL where the fault is a real one.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from handlers import texts
from ims_bot.access import AccessService
from ims_bot.db import Database
from ims_bot.demo import DEMO_GSTIN, demo_bytes
from ims_bot.domain import Status
from ims_bot.importer import import_file
from ims_bot.models import ActionLog, Record, Reminder
from ims_bot.records import RecordFilter
from ims_bot.reminders import set_preferences
from ims_bot.settings import INDIA
from tests.botkit import bot_harness, make_core, make_settings, only
from tests.e2e.conftest import TODAY, BotProcess
from tests.e2e.telegram_server import TelegramServer
from tests.e2e.test_bot_over_http import Chat, invoice_card

FIXED_DAY = date.fromisoformat(TODAY)


def now_on_fixed_day() -> datetime:
    return datetime.combine(FIXED_DAY, datetime.now(INDIA).timetz())


def link_with_demo(db: Database, user: int, records: int = 320) -> int:
    """Set-up through the services: the user's workspace for the demo GSTIN, imported."""
    access = AccessService(db, now_on_fixed_day)
    workspace = access.link(user, user, DEMO_GSTIN).workspace
    import_file(db, workspace.id, io.BytesIO(demo_bytes(records=records)), actor="setup",
                channel="test")
    return workspace.id


def running(bot: BotProcess) -> BotProcess:
    if bot.process is None or bot.process.poll() is not None:
        bot.start()
    return bot


# ------------------------------------------------------------------------------ kill -9


async def test_a_bulk_accept_killed_midway_is_all_or_nothing_and_logged_once(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_200_001
    w = link_with_demo(bot_db, user, records=30_000)  # a bulk of seconds, to kill it midway
    running(bot)
    chat = Chat(telegram, user)
    listing = await chat.say("/pending", lambda m: "Needs a decision" in m.plain_text)
    await chat.press_and_see(listing.message_id, texts.BUTTON_BULK,
                             lambda m: texts.BUTTON_BULK_ALL in m.labels())
    preview = await chat.press_and_see(
        listing.message_id, texts.BUTTON_BULK_ALL,
        lambda m: any(label.startswith("✅ Yes, accept") for label in m.labels()))
    confirm = next(label for label in preview.labels() if label.startswith("✅ Yes, accept"))
    eligible = int("".join(ch for ch in confirm if ch.isdigit()))

    polls = telegram.polls
    telegram.user_presses(user, listing.message_id, confirm)
    while telegram.polls == polls:  # the press is on its way once getUpdates returns it
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.8)
    bot.kill()

    def state() -> tuple[int, Counter[int]]:
        with bot_db.begin() as session:
            accepted = session.scalar(select(func.count()).select_from(Record).where(
                Record.taxpayer_id == w, Record.status == Status.ACCEPTED.value))
            logged = Counter(session.scalars(select(ActionLog.record_id).where(
                ActionLog.taxpayer_id == w, ActionLog.kind == "bulk")))
        return int(accepted or 0), logged

    accepted, logged = state()
    assert accepted in (0, eligible), "a killed bulk left a partial change"
    assert sum(logged.values()) == accepted and set(logged.values()) <= {1}

    # Telegram redelivers the unconfirmed press to the new process: done exactly once.
    bot.start()
    deadline = time.monotonic() + 60
    while state()[0] != eligible and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    accepted, logged = state()
    assert accepted == eligible
    assert len(logged) == eligible and set(logged.values()) == {1}
    with bot_db.begin() as session:
        batches = set(session.scalars(select(ActionLog.batch).where(
            ActionLog.taxpayer_id == w, ActionLog.kind == "bulk")))
    assert len(batches) == 1


GSTR3B_NOV = date(2025, 12, 20)  # due 4 days after the fixed day; later ones are not due


def _reminder_rows(db: Database, users: list[int]) -> Counter[tuple[int, str]]:
    """Reminder rows of the Nov 2025 GSTR-3B by (user, status)."""
    with db.begin() as session:
        rows = session.execute(
            select(Reminder.user_id, Reminder.status).where(
                Reminder.user_id.in_(users), Reminder.deadline == GSTR3B_NOV))
        return Counter((user, status) for user, status in rows)


async def _sweep_killed_after_some_sends(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database, users: list[int]
) -> tuple[Counter[int], Counter[tuple[int, str]]]:
    """Plan one due reminder for each user, let a slow sweep send a few, kill the bot, start
    it again and let the sweep finish. Returns (messages per user, reminder rows by status)."""
    running(bot)
    mark = telegram.mark()
    telegram.fail("sendMessage", "slow", times=len(users), delay=0.4)
    now = datetime.now(INDIA)
    at = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0))
    for user in users:
        link_with_demo(bot_db, user)
        # Only the GSTR-3B of Nov 2025 (due 20 Dec), 4 days before: due on the fixed day.
        set_preferences(bot_db, user, user, enabled=True, days=[4], time=f"{at:%H:%M}",
                        kinds=["gstr3b_due"], now=now_on_fixed_day())
    planned = _reminder_rows(bot_db, users)
    assert sum(planned.values()) == len(users), planned

    def sends() -> list[int]:
        return [int(c.params["chat_id"]) for c in telegram.calls_to("sendMessage", since=mark)
                if int(c.params["chat_id"]) in users and not c.error]

    deadline = time.monotonic() + 30
    while len(sends()) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    bot.kill()
    telegram.clear_faults()
    assert 3 <= len(sends()) < len(users), "the kill should land in the middle of the sweep"
    bot.start()
    deadline = time.monotonic() + 60
    while _reminder_rows(bot_db, users)[(users[-1], "sent")] == 0 or any(
        status == "planned" for (_, status) in _reminder_rows(bot_db, users)
    ):
        assert time.monotonic() < deadline, _reminder_rows(bot_db, users)
        await asyncio.sleep(0.2)
    return Counter(sends()), _reminder_rows(bot_db, users)


@pytest.fixture(scope="module")
def killed_sweep(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> Iterator[tuple[list[int], Counter[int], Counter[tuple[int, str]]]]:
    users = [7_200_100 + n for n in range(8)]
    loop = asyncio.new_event_loop()
    try:
        messages, rows = loop.run_until_complete(
            _sweep_killed_after_some_sends(telegram, bot, bot_db, users))
    finally:
        loop.close()
    yield users, messages, rows


def test_a_reminder_sweep_killed_midway_loses_no_reminder(
    killed_sweep: tuple[list[int], Counter[int], Counter[tuple[int, str]]],
) -> None:
    users, messages, rows = killed_sweep
    assert {user: rows[(user, "sent")] for user in users} == dict.fromkeys(users, 1)
    # The documented guarantee after a crash: every reminder is sent, except at most the one
    # that was in flight when the process died (claimed, perhaps delivered, counted as sent);
    # whether the kill lands mid-send is timing.
    unsent = [user for user in users if messages[user] == 0]
    assert len(unsent) <= 1, unsent
    assert sum(messages.values()) == len(users) - len(unsent)


def test_a_reminder_sweep_killed_midway_repeats_no_reminder(
    killed_sweep: tuple[list[int], Counter[int], Counter[tuple[int, str]]],
) -> None:
    users, messages, _ = killed_sweep
    assert all(messages[user] <= 1 for user in users), messages  # never twice


async def test_a_user_is_answered_while_a_slow_reminder_sweep_is_sending(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    running(bot)
    users = [7_200_150 + n for n in range(3)]
    asker = 7_200_160
    link_with_demo(bot_db, asker)
    now = datetime.now(INDIA)
    at = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0))
    mark = telegram.mark()
    telegram.fail("sendMessage", "slow", times=len(users), delay=2.0)
    for user in users:
        link_with_demo(bot_db, user)
        set_preferences(bot_db, user, user, enabled=True, days=[4], time=f"{at:%H:%M}",
                        kinds=["gstr3b_due"], now=now_on_fixed_day())
    # The sweep is mid-batch once its first (slow) reminder is on the wire.
    await telegram.wait_for_call("sendMessage", lambda c: int(c.params["chat_id"]) in users,
                                 timeout=30, since=mark)
    started = time.monotonic()
    chat = Chat(telegram, asker)
    listing = await chat.say("/pending", timeout=30)
    telegram.clear_faults()
    assert "Needs a decision" in listing.plain_text, listing.plain_text
    assert time.monotonic() - started < 8


# ------------------------------------------------------------------------------ Telegram


async def test_getupdates_failing_for_a_while_loses_no_update(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    running(bot)
    chat, start = Chat(telegram, 7_200_201), telegram.mark()
    telegram.fail("getUpdates", 502, times=2)
    telegram.fail("getUpdates", "drop", times=2)
    telegram.fail("getUpdates", 429, times=1, retry_after=1)
    telegram.fail("getUpdates", 500, times=1)
    # The first message ends the long poll in flight; the polls after it (the poller's short
    # ones while that update is handled, or the second message's) meet the failing ones.
    first = await chat.say("/start", timeout=30)
    answer = await chat.say("what is IMS?", timeout=60)
    assert "IMS Bot" in first.plain_text
    assert "Invoice Management System" in answer.plain_text
    failed = [c.seq for c in telegram.calls_to("getUpdates", since=start) if c.error]
    assert len(failed) == 6


async def test_slow_telegram_answers_still_deliver_every_reply(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    running(bot)
    chat = Chat(telegram, 7_200_202)
    telegram.fail("sendMessage", "slow", times=2, delay=3)
    first = telegram.user_sends(chat.user, "/start")
    second = telegram.user_sends(chat.user, "what is IMS?")
    welcome = await telegram.wait_for_message(chat.user, lambda m: "IMS Bot" in m.plain_text,
                                              since=first)
    answer = await telegram.wait_for_message(
        chat.user, lambda m: m.plain_text.startswith("What is IMS"), since=second)
    assert welcome.message_id != answer.message_id


async def test_a_429_on_sendmessage_is_waited_out_and_the_reply_still_arrives(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    running(bot)
    chat = Chat(telegram, 7_200_203)
    telegram.fail("sendMessage", 429, times=1, retry_after=1)
    answer = await chat.say("what is IMS?", timeout=15)
    assert "Invoice Management System" in answer.plain_text


async def test_a_5xx_on_sendmessage_loses_that_reply_but_the_user_is_told_to_try_again(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    running(bot)
    chat = Chat(telegram, 7_200_204)
    telegram.fail("sendMessage", 502, times=1)
    told = await chat.say("what is IMS?")
    assert told.plain_text == texts.ERROR_APOLOGY
    answer = await chat.say("what is IMS?")  # Telegram is back: the retry is answered
    assert "Invoice Management System" in answer.plain_text


# ------------------------------------------------------------------------------ the database


@pytest.mark.postgres
async def test_database_unavailable_gets_a_try_again_reply_and_writes_nothing(
    postgres_db: Database,
) -> None:
    core = make_core(make_settings(today_override=FIXED_DAY), db=postgres_db)
    user = 7_200_301
    name = postgres_db.url.database
    admin = create_engine(postgres_db.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with bot_harness(core) as bot:
        await bot.command(user, "link", DEMO_GSTIN)
        await bot.document(user, "ims.json", demo_bytes(records=40), "application/json")
        listing = only(await bot.command(user, "pending"), "sendMessage")
        card = await bot.press(user, listing.message_id, listing.buttons()[0][0])
        accept = dict(card[-1].buttons()).get(texts.BUTTON_ACCEPT)
        assert accept is not None
        try:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name"), {"name": name})
            calls = await bot.callback(user, listing.message_id, accept)
            told = [c.text or "" for c in calls if c.method == "sendMessage"]
            assert told == [texts.DATABASE_UNAVAILABLE] and "try again" in told[0]
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
        assert core.records is not None and core.access is not None
        w = core.access.active(user).id
        assert core.records.iter_all(w, RecordFilter(statuses=(Status.ACCEPTED,))) == []
        again = await bot.callback(user, listing.message_id, accept)  # the user tries again
        assert [c.text for c in again if c.method == "answerCallbackQuery"] == [
            texts.ACTION_DONE["A"]]
        assert len(core.records.iter_all(w, RecordFilter(statuses=(Status.ACCEPTED,)))) == 1


async def test_a_commit_that_fails_leaves_a_bulk_accept_unwritten(sqlite_db: Database) -> None:
    core = make_core(make_settings(today_override=FIXED_DAY), db=sqlite_db)
    user = 7_200_302

    def lost_connection(_session: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    async with bot_harness(core) as bot:
        await bot.command(user, "link", DEMO_GSTIN)
        await bot.document(user, "ims.json", demo_bytes(records=60), "application/json")
        listing = only(await bot.command(user, "pending"), "sendMessage")
        await bot.press(user, listing.message_id, texts.BUTTON_BULK)
        await bot.press(user, listing.message_id, texts.BUTTON_BULK_ALL)
        confirm = next(label for label, _ in bot.api.message(user, listing.message_id).buttons()
                       if label.startswith("✅ Yes, accept"))
        event.listen(sqlite_db.session_factory, "before_commit", lost_connection)
        try:
            calls = await bot.press(user, listing.message_id, confirm)
        finally:
            event.remove(sqlite_db.session_factory, "before_commit", lost_connection)
        told = [c.text or "" for c in calls if c.method == "sendMessage"]
        assert told == [texts.DATABASE_UNAVAILABLE] and "try again" in told[0]
        with sqlite_db.begin() as session:
            statuses = Counter(session.scalars(select(Record.status)))
            bulk_logs = session.scalar(select(func.count()).select_from(ActionLog).where(
                ActionLog.kind == "bulk"))
        assert Status.ACCEPTED.value not in statuses and bulk_logs == 0
        await bot.press(user, listing.message_id, confirm)  # tried again: done, once
        with sqlite_db.begin() as session:
            bulk_logs = session.scalar(select(func.count()).select_from(ActionLog).where(
                ActionLog.kind == "bulk"))
        assert bulk_logs and bulk_logs > 0


async def test_invoice_cards_still_work_after_the_faults(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    running(bot)
    user = 7_200_401
    link_with_demo(bot_db, user)
    chat = Chat(telegram, user)
    card, _ = await invoice_card(chat)
    toast, _ = await chat.press(card.message_id, texts.BUTTON_ACCEPT)
    assert toast == texts.ACTION_DONE["A"]
