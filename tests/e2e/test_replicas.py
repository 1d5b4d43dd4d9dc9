"""Issue 12, with two real replicas: two `ims-bot webhook` processes on one fresh PostgreSQL
database, the project's stand-in Bot API, and Telegram's webhook delivery played by a tiny
load balancer (`tests.e2e.replicas.LoadBalancer`): an update goes to one replica, and
anything but a 200 sends it to the other, as Telegram retries an unacknowledged update.

The module starts the two replicas once (that start is test (a)); the other tests kill and
restart them as they need. Set-up data goes in through the services, the play through
Telegram; results are read back from the database.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import Connection, select, text

from handlers import texts
from ims_bot.db import Database
from ims_bot.demo import demo_file
from ims_bot.domain import Status
from ims_bot.models import Prompt, Reminder
from ims_bot.records import RecordService
from ims_bot.reminders import ABANDONED, plan
from tests.conftest import ADMIN_URL, REQUIRE_POSTGRES, _postgres_problem
from tests.e2e.conftest import TODAY, BotProcess
from tests.e2e.replicas import (
    Chat,
    LoadBalancer,
    ensure_running,
    fresh_database,
    make_replicas,
    pid_of,
    populate_reminders,
    reminder_rows,
    sends_per_reminder,
    start_together,
)
from tests.e2e.telegram_server import Message, TelegramServer
from tests.e2e.test_faults import link_with_demo, now_on_fixed_day

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FIXED_DAY = date.fromisoformat(TODAY)
START_ERRORS = ("UniqueViolation", "Traceback", "alembic_version")


@dataclass
class Cluster:
    server: TelegramServer
    bots: list[BotProcess]
    balancer: LoadBalancer
    db: Database
    starts: list[BaseException | None]  # what starting the two together raised

    def records(self) -> RecordService:
        return RecordService(self.db, lambda: FIXED_DAY)

    def chat(self, user: int) -> Chat:
        return Chat(self.server, self.balancer, user)


@pytest.fixture(scope="module")
def cluster(
    telegram: TelegramServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    problem = _postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    url, drop = fresh_database(ADMIN_URL)
    bots = make_replicas(telegram, url, [tmp_path_factory.mktemp(f"replica{n}")
                                         for n in (1, 2)])
    try:
        starts = start_together(bots)  # both at once, on a database with no schema yet
        db = Database(url)
        try:
            yield Cluster(telegram, bots, LoadBalancer(bots), db, starts)
        finally:
            db.dispose()
    finally:
        for bot in bots:
            bot.kill()
        drop()


@pytest.fixture
def up(cluster: Cluster) -> Cluster:
    ensure_running(cluster.bots)
    cluster.server.clear_faults()
    return cluster


async def invoice_card(chat: Chat, via: int) -> tuple[Message, int]:
    """/pending filtered to invoices, then the first invoice's card: (card, record id)."""
    [listing] = [m for m in await chat.say("/pending", via) if "Needs a decision" in
                 m.plain_text]
    await chat.press(listing.message_id, texts.BUTTON_FILTER_SECTION, via,
                     lambda m: "Invoice" in m.labels())
    await chat.press(listing.message_id, "Invoice", via, lambda m: "(Invoices)" in m.plain_text)
    label, data = next((label, data) for label, data in chat.message(listing.message_id)
                       .buttons() if label.startswith("INV/"))
    assert data is not None
    record_id = int(data.rsplit(":", 1)[1])
    await chat.press(listing.message_id, label, via,
                     lambda m: texts.BUTTON_ACCEPT in m.labels())
    card = chat.message(listing.message_id)
    assert texts.BUTTON_ACCEPT in card.labels(), card.labels()
    return card, record_id


def history(cluster: Cluster, workspace: int, record_id: int) -> list[tuple[str, Status]]:
    return [(e.kind, e.to_status)
            for e in cluster.records().history(workspace, record_id=record_id)]


# ------------------------------------------------------------------------------ (a) start-up


def test_a_two_replicas_started_together_on_a_fresh_database_both_come_up(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Both replicas migrate at start; on a fresh database they raced for `alembic_version`
    (UniqueViolation in 4 of 6 runs). Twice: the module's pair, and a second pair on another
    fresh database."""
    assert cluster.starts == [None, None], cluster.starts
    assert cluster.db.current_revision() == cluster.db.head_revision()

    url, drop = fresh_database(ADMIN_URL)
    pair = make_replicas(cluster.server, url, [tmp_path_factory.mktemp(f"race{n}")
                                               for n in (1, 2)])
    try:
        assert start_together(pair) == [None, None]
        other = Database(url)
        assert other.current_revision() == other.head_revision()
        other.dispose()
    finally:
        for bot in pair:
            bot.kill()
        drop()
    for bot in [*cluster.bots, *pair]:
        text = bot.log_path.read_text(errors="replace")
        assert not [word for word in START_ERRORS if word in text], bot.log()
        assert "Taking updates" in text


# ------------------------------------------------------------------------------ (b) prompts


async def test_b_remarks_typed_without_a_reply_link_finish_on_the_other_replica(
    up: Cluster,
) -> None:
    """The prompt lived in one replica's memory: on the other, typed remarks were taken as
    an FAQ question. Now it is in the database, so replica 2 finishes what replica 1 asked."""
    user = 7_400_001
    workspace = link_with_demo(up.db, user)
    chat = up.chat(user)
    card, record_id = await invoice_card(chat, via=0)
    await chat.press(card.message_id, texts.BUTTON_REJECT, via=0)
    await chat.press(card.message_id, texts.BUTTON_ADD_REMARKS, via=0)
    with up.db.read() as session:
        prompt = session.get(Prompt, user)
        assert prompt is not None and prompt.record_id == record_id

    replies = await chat.say("Goods never received", via=1)  # no reply link, other replica
    assert any(texts.ACTION_DONE["R"] in m.plain_text for m in replies), [
        m.plain_text for m in replies]
    view = up.records().get(workspace, record_id)
    assert (view.status, view.remarks) == (Status.REJECTED, "Goods never received")
    assert history(up, workspace, record_id) == [("action", Status.REJECTED)]


# ------------------------------------------------------------------------------ (c) kill -9


async def test_c_a_tap_on_a_replica_killed_mid_update_is_retried_and_handled_once(
    up: Cluster,
) -> None:
    """The webhook answered 200 before handling, so a replica killed right after lost the
    taps it had acknowledged. Here replica 1 receives the tap and is killed while handling
    it (held, deterministically, on the record's row lock, which the test holds): no 200
    comes back, Telegram's retry goes to replica 2, and the tap is done exactly once."""
    user = 7_400_002
    workspace = link_with_demo(up.db, user)
    chat = up.chat(user)
    card, record_id = await invoice_card(chat, via=1)

    mark = up.server.user_presses(user, card.message_id, texts.BUTTON_ACCEPT)
    [update] = up.server.take_updates()
    with up.db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM records WHERE id = :id FOR UPDATE"),
                       {"id": record_id})
        first = asyncio.create_task(up.balancer.post(0, update))
        deadline = time.monotonic() + 20
        while not waiting_on_a_lock(up.db, pid_of_backend(holder)):  # replica 1 has the tap
            assert not first.done(), f"answered {first.result()} before the tap was handled"
            assert time.monotonic() < deadline, "the tap never reached the record"
            await asyncio.sleep(0.01)
        up.bots[0].kill()
        assert await first == "no answer", "a replica that died acknowledged the tap"
        holder.rollback()

    delivery = await up.balancer.deliver(update, first=0)  # Telegram's retry
    assert delivery.acked_by == 1, delivery
    assert delivery.attempts[0] == (0, "no answer")

    view = up.records().get(workspace, record_id)
    assert view.status is Status.ACCEPTED
    assert history(up, workspace, record_id) == [("action", Status.ACCEPTED)]
    answers = [c.params.get("text") for c in up.server.answers(since=mark) if not c.error]
    assert answers == [texts.ACTION_DONE["A"]], answers

    # One more retry (Telegram missed the 200, say): acknowledged, not handled again.
    ensure_running(up.bots)
    again = up.server.mark()
    assert (await up.balancer.deliver(update, first=0)).acked_by == 0
    assert history(up, workspace, record_id) == [("action", Status.ACCEPTED)]
    replies = ("answerCallbackQuery", "sendMessage", "editMessageText", "editMessageReplyMarkup")
    assert [c for c in up.server.calls_to(*replies, since=again)
            if int(c.params.get("chat_id", user)) == user] == []


async def test_c_a_replica_killed_after_its_commit_but_before_the_200_changes_nothing_twice(
    up: Cluster,
) -> None:
    """The one window the README names: the replica committed the tap, then died before
    answering (here: while Telegram was slow to take its reply). The retry on the other
    replica meets the record's version check ("nothing changed"): done once, not twice."""
    user = 7_400_004
    workspace = link_with_demo(up.db, user)
    chat = up.chat(user)
    card, record_id = await invoice_card(chat, via=1)

    mark = up.server.user_presses(user, card.message_id, texts.BUTTON_ACCEPT)
    [update] = up.server.take_updates()
    slow = ("answerCallbackQuery", "editMessageText", "editMessageReplyMarkup", "sendMessage")
    before = sum(up.server.arrivals(m) for m in slow)
    for method in slow:
        up.server.fail(method, "slow", times=1, delay=4)
    first = asyncio.create_task(up.balancer.post(0, update))
    deadline = time.monotonic() + 20
    while sum(up.server.arrivals(m) for m in slow) == before:  # replying: the commit is done
        assert not first.done(), f"answered {first.result()} before the tap was handled"
        assert time.monotonic() < deadline, "no reply to the tap was attempted"
        await asyncio.sleep(0.005)
    up.bots[0].kill()
    assert await first == "no answer"
    up.server.clear_faults()

    delivery = await up.balancer.deliver(update, first=0)
    assert delivery.acked_by == 1, delivery
    assert up.records().get(workspace, record_id).status is Status.ACCEPTED
    assert history(up, workspace, record_id) == [("action", Status.ACCEPTED)]
    answers = [c.params.get("text") for c in up.server.answers(since=mark) if not c.error]
    assert texts.ACTION_DONE["A"] not in answers[1:], answers  # never "Accepted" twice


def pid_of_backend(connection: Connection) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def waiting_on_a_lock(db: Database, holder: int) -> bool:
    """Some session of the database is waiting for a lock `holder` holds."""
    with db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND :holder = ANY(pg_blocking_pids(pid))"), {"holder": holder}).scalar_one())


# ------------------------------------------------------------------------------ (d) import


def amended_file(number: str, fillers: int) -> bytes:
    """The demo file (320 records) with invoice `number` changed by its supplier, and
    `fillers` more invoices, so that reading it takes seconds."""
    data = demo_file(records=320)
    invoices = data["imsDetails"]["b2b"]
    [record] = [r for r in invoices if r["inum"] == number]
    record["camt"], record["samt"], record["hash"] = 1000.0, 1000.0, "hash-edited"
    template = invoices[-1]
    invoices.extend(dict(template, inum=f"FILL/{i:05d}", hash=f"fill{i:05d}")
                    for i in range(fillers))
    return json.dumps(data).encode()


async def test_d_an_import_on_one_replica_never_silently_undoes_a_tap_on_the_other(
    up: Cluster,
) -> None:
    """A colleague accepted a record (replica 2) while a file amending it was imported
    (replica 1) and was told "Accepted"; the import then wrote the supplier's version over
    it silently. Now the accept either lands first and is reset with a `supplier_edit`
    entry, or comes after and is refused as stale: never "Accepted" then silently undone."""
    owner = 7_400_003
    workspace = link_with_demo(up.db, owner)
    chat = up.chat(owner)
    card, record_id = await invoice_card(chat, via=1)
    number = up.records().get(workspace, record_id).number
    data = amended_file(number, fillers=20_000)

    status_mark = up.server.user_sends_document(owner, "ims.json", data)
    [upload] = up.server.take_updates()
    importing = asyncio.create_task(up.balancer.deliver(upload, first=0))
    # The file is being read once replica 1 has downloaded it.
    await up.server.wait_for_call("download", timeout=30, since=status_mark)
    await asyncio.sleep(0.3)
    assert not importing.done(), "the import finished before the tap: no race was played"
    tap_mark = up.server.user_presses(owner, card.message_id, texts.BUTTON_ACCEPT)
    [tap] = up.server.take_updates()
    tapped = await up.balancer.deliver(tap, first=1)
    assert tapped.acked_by == 1, tapped
    imported = await importing
    assert imported.acked_by is not None, imported

    told = [str(c.params.get("text") or "") for c in up.server.answers(since=tap_mark)]
    accepted_told = texts.ACTION_DONE["A"] in told
    view = up.records().get(workspace, record_id)
    kinds = history(up, workspace, record_id)
    # The supplier's version is in, and the record needs a fresh decision either way.
    assert view.status is Status.NO_ACTION and view.tax.cgst == 1000, view
    if accepted_told:
        assert kinds == [("supplier_edit", Status.NO_ACTION), ("action", Status.ACCEPTED)]
    else:
        assert ("action", Status.ACCEPTED) not in kinds, kinds
        edits = [m.plain_text for m in up.server.bot_messages(owner, since=tap_mark)]
        assert any(texts.CHANGED_SINCE in t for t in told + edits), (told, edits)


# ------------------------------------------------------------------------------ (e) reminders


async def test_e_a_sweep_on_two_replicas_with_one_killed_sends_each_reminder_at_most_once(
    up: Cluster,
) -> None:
    users = [7_400_100 + n for n in range(8)]
    gstins = populate_reminders(up.db, users, per_user=2)
    mark = up.server.mark()
    up.server.fail("sendMessage", "slow", times=100, delay=0.4)
    await asyncio.to_thread(plan, up.db, now_on_fixed_day(), user_ids=users)
    assert len(reminder_rows(up.db, users)) == 16

    victim = pid_of(up.bots[0])
    deadline = time.monotonic() + 30
    mid_send = False
    while time.monotonic() < deadline:  # kill replica 1 while it holds a claimed reminder
        with up.db.read() as session:
            mid_send = session.scalar(select(Reminder.id).where(
                Reminder.user_id.in_(users), Reminder.status == "sending",
                Reminder.claimed_by.like(f"%:{victim}"))) is not None
        if mid_send:
            break
        await asyncio.sleep(0.01)
    assert mid_send, "replica 1 never claimed a reminder"
    up.bots[0].kill()

    deadline = time.monotonic() + 45
    while any(s in ("planned", "sending") for _, _, s, _ in reminder_rows(up.db, users)):
        assert time.monotonic() < deadline, Counter(s for *_, s, _ in reminder_rows(up.db,
                                                                                  users))
        await asyncio.sleep(0.2)
    up.server.clear_faults()
    sends = sends_per_reminder(up.server, gstins, since=mark)
    rows = reminder_rows(up.db, users)

    assert len(rows) == 16
    assert max(sends.values()) == 1, sends  # never twice
    for user, gstin, status, error in rows:
        if status == "sent" and error != ABANDONED:
            assert sends[(user, gstin)] == 1, (user, gstin)  # recorded sent: was sent
        else:  # counted as possibly delivered: the one in flight when its sender died
            assert (status == "sent" and error == ABANDONED) or status == "uncertain", (
                user, gstin, status, error)
    lost = [key for key, n in sends.items() if n == 0]
    possibly = [(u, g) for u, g, s, e in rows if s == "uncertain" or e == ABANDONED]
    assert set(lost) <= set(possibly)
    assert len(possibly) <= 1  # only the one killed in flight
