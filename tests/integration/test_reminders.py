"""Reminders on a real database: planned and swept at the right times, never twice."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from telegram.error import NetworkError, TimedOut

from ims_bot import reminders
from ims_bot.access import AccessService
from ims_bot.db import Database
from ims_bot.domain import Frequency
from ims_bot.gstin import make_gstin
from ims_bot.importer import import_file
from ims_bot.models import Membership, Record, Reminder, User
from ims_bot.reminders import FakeSender, plan, set_preferences, sweep
from ims_bot.settings import INDIA
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note, portal_file, stream

PANS = ("AABCT1332L", "AAGFM4521K", "ABCPS7788Q", "AACCG9012M", "AADFB3344N", "AFZPK2255H")


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), INDIA)


def reopen(db: Database) -> Database:
    """A new Database object on the same database, as a restarted process would have."""
    return Database(db.url.render_as_string(hide_password=False))


def add_user(
    db: Database,
    user_id: int,
    *,
    gstins: tuple[str, ...],
    frequency: Frequency = Frequency.MONTHLY,
    now: datetime,
    **prefs: object,
) -> None:
    for gstin in gstins:
        ensure_workspace(db, gstin, user_id, frequency=frequency)
    set_preferences(db, user_id, user_id, now=now, **prefs)  # type: ignore[arg-type]


def rows(db: Database, user_id: int | None = None) -> list[Reminder]:
    with db.begin() as session:
        stmt = select(Reminder).order_by(Reminder.send_at, Reminder.kind, Reminder.id)
        if user_id is not None:
            stmt = stmt.where(Reminder.user_id == user_id)
        return list(session.scalars(stmt))


def sent_plan(db: Database, user_id: int) -> list[tuple[date, str]]:
    return [
        (reminders.india(r.sent_at).date(), r.kind)
        for r in rows(db, user_id)
        if r.status == "sent" and r.sent_at is not None
    ]


MONTHLY_USER = 101
QRMP_USER = 202


def test_itc_time_limit_reminder_names_the_return_to_accept_before(database):
    start = at(date(2025, 11, 10), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=start)
    sender = FakeSender()
    day = date(2025, 11, 10)
    while day <= date(2025, 11, 21):
        plan(database, at(day, 8))
        asyncio.run(sweep(database, sender, at(day, 9), worker="w1"))
        day += timedelta(days=1)
    limits = [(day, kind) for day, kind in sent_plan(database, MONTHLY_USER)
              if kind == "itc_time_limit"]
    assert limits == [(date(2025, 11, 17), "itc_time_limit"),
                      (date(2025, 11, 19), "itc_time_limit")]
    texts = [m.text for m in sender.messages if "s.16(4)" in m.text]
    assert texts and all(
        "accept before you file the Oct 2025 GSTR-3B (due 20 Nov; it must be filed by "
        "30 Nov 2025)" in text for text in texts
    )


def test_sent_at_the_right_times_across_month_and_quarter_end_with_a_restart(database):
    start = at(date(2025, 11, 25), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=start)
    add_user(
        database, QRMP_USER, gstins=(make_gstin("07", PANS[1]),),
        frequency=Frequency.QUARTERLY, now=start,
    )
    db, sender, senders = database, FakeSender(), []
    day = date(2025, 11, 25)
    while day <= date(2026, 1, 25):
        if day == date(2025, 12, 18):  # restart: new process objects, same database
            senders.append(sender)
            db, sender = reopen(database), FakeSender()
        plan(db, at(day, 8))
        for hour in (9, 21):
            asyncio.run(sweep(db, sender, at(day, hour), worker="w1"))
        day += timedelta(days=1)
    senders.append(sender)

    d = date
    # The s.16(4) reminders came before the Oct 2025 GSTR-3B (20 Nov; QRMP: 24 Oct).
    assert sent_plan(database, MONTHLY_USER) == [
        (d(2025, 12, 11), "draft_2b"), (d(2025, 12, 13), "draft_2b"),
        (d(2025, 12, 17), "gstr3b_due"), (d(2025, 12, 17), "pending_window"),
        (d(2025, 12, 19), "gstr3b_due"), (d(2025, 12, 19), "pending_window"),
        (d(2026, 1, 11), "draft_2b"), (d(2026, 1, 13), "draft_2b"),
        (d(2026, 1, 17), "gstr3b_due"), (d(2026, 1, 17), "pending_window"),
        (d(2026, 1, 19), "gstr3b_due"), (d(2026, 1, 19), "pending_window"),
    ]
    # QRMP in Delhi: one draft and one 3B (24th) for the Oct-Dec quarter.
    assert sent_plan(database, QRMP_USER) == [
        (d(2026, 1, 11), "draft_2b"), (d(2026, 1, 13), "draft_2b"),
        (d(2026, 1, 21), "gstr3b_due"), (d(2026, 1, 23), "gstr3b_due"),
    ]
    messages = [m for s in senders for m in s.messages]
    assert len(messages) == 12 + 4
    assert len({(m.chat_id, m.text) for m in messages}) == len(messages)
    assert any("GSTR-3B for Oct–Dec 2025 due" in m.text for m in messages)
    assert senders[1].messages, "the restarted process sends what is due after the restart"
    if db is not database:
        db.dispose()


def test_planning_twice_adds_nothing(database):
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now)
    before = len(rows(database))

    assert plan(database, now) == 0
    assert plan(reopen(database), now + timedelta(minutes=5)) == 0
    assert len(rows(database)) == before > 0


def test_overdue_by_more_than_a_day_is_not_planned(database):
    now = at(date(2025, 12, 19), 10)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             kinds="gstr3b_due")

    # 17 Dec 09:00 (3 days before) is two days gone; 19 Dec 09:00 (1 day) is an hour late.
    planned = [(r.deadline, r.days_before) for r in rows(database)]
    assert [p for p in planned if p[0] < date(2026, 1, 1)] == [(date(2025, 12, 20), 1)]


def test_crash_between_sends_loses_none_and_repeats_none(database):
    now = at(date(2025, 12, 1), 8)
    gstins = tuple(make_gstin("27", pan) for pan in PANS[:5])
    add_user(database, MONTHLY_USER, gstins=gstins, now=now, kinds="gstr3b_due", days="1")
    due = at(date(2025, 12, 19))
    crashing = FakeSender(crash_after=3)

    with pytest.raises(RuntimeError, match="simulated crash"):
        asyncio.run(sweep(database, crashing, due, worker="w1", batch=2))

    statuses = [r.status for r in rows(database)]
    assert statuses.count("sent") == 3 and statuses.count("planned") == 2

    after = FakeSender()
    result = asyncio.run(sweep(reopen(database), after, due, worker="w2", batch=2))

    assert result.sent == 2
    assert all(r.status == "sent" for r in rows(database))
    sent_texts = [m.text for m in crashing.messages + after.messages]
    assert len(sent_texts) == 5 and len(set(sent_texts)) == 5  # each GSTIN exactly once


def test_a_row_left_mid_send_by_a_dead_sweeper_counts_as_sent(database):
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             kinds="gstr3b_due", days="1")
    due = at(date(2025, 12, 19))
    # A sweeper of this host whose process is gone (pid 0 is never a user process here),
    # and one of another host whose lease ran out, both claimed a row and died mid-send.
    [row] = rows(database)
    with database.begin() as session:
        session.execute(
            update(Reminder).where(Reminder.id == row.id).values(
                status="sending", claimed_by=f"{socket.gethostname()}:999999999",
                claimed_at=due)
        )
    sender = FakeSender()
    result = asyncio.run(sweep(database, sender, due, worker="w2"))
    assert result.settled == 1 and sender.messages == []
    assert [r.status for r in rows(database)] == ["sent"]


def test_a_row_being_sent_by_a_live_sweeper_is_left_alone(database):
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             kinds="gstr3b_due", days="1")
    due = at(date(2025, 12, 19))
    [row] = rows(database)
    with database.begin() as session:
        session.execute(
            update(Reminder).where(Reminder.id == row.id).values(
                status="sending", claimed_by="another-host:42", claimed_at=due)
        )
    result = asyncio.run(sweep(database, FakeSender(), due, worker="w2"))
    assert result.settled == 0 and [r.status for r in rows(database)] == ["sending"]
    later = asyncio.run(sweep(database, FakeSender(), due + timedelta(minutes=11),
                              worker="w2"))
    assert later.settled == 1


def test_blocked_user_is_marked_and_their_reminders_skipped(database):
    now = at(date(2025, 12, 1), 8)
    gstins = (make_gstin("27", PANS[0]), make_gstin("27", PANS[1]))
    add_user(database, MONTHLY_USER, gstins=gstins, now=now)
    add_user(database, QRMP_USER, gstins=gstins[:1], now=now)
    sender = FakeSender(blocked={MONTHLY_USER})

    result = asyncio.run(sweep(database, sender, at(date(2025, 12, 11)), worker="w1"))

    assert result.blocked_users == 1
    with database.begin() as session:
        assert session.get(User, MONTHLY_USER).blocked_at is not None
    mine = rows(database, MONTHLY_USER)
    assert mine and all(r.status == "skipped" for r in mine)
    assert [m.chat_id for m in sender.messages] == [QRMP_USER]
    before = len(rows(database, MONTHLY_USER))
    plan(database, at(date(2025, 12, 20), 10))  # new deadlines enter the horizon
    assert len(rows(database, MONTHLY_USER)) == before  # but not for a blocked user

    set_preferences(database, MONTHLY_USER, MONTHLY_USER, now=at(date(2025, 12, 12), 8))

    assert any(r.status == "planned" for r in rows(database, MONTHLY_USER))


def _unsent(message: str) -> NetworkError:
    """A network error raised before the request could reach Telegram."""
    try:
        try:
            raise httpx.ConnectError(message)
        except httpx.ConnectError as exc:
            raise NetworkError(message) from exc
    except NetworkError as error:
        return error


def _timed_out_after_sending() -> TimedOut:
    try:
        try:
            raise httpx.ReadTimeout("no answer in 5 s")
        except httpx.ReadTimeout as exc:
            raise TimedOut() from exc
    except TimedOut as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(_timed_out_after_sending(), id="timed-out-waiting-for-the-answer"),
        pytest.param(NetworkError("connection reset"), id="connection-cut-mid-request"),
    ],
)
def test_a_send_of_unknown_outcome_counts_as_delivered_and_is_never_resent(database, error):
    """Issue 12: Telegram got the message but answered too late; sending it again two
    minutes later would be the second copy. Recorded `uncertain`, never retried."""
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             kinds="draft_2b", days="3")
    sender = FakeSender(errors={MONTHLY_USER: error})
    moment = at(date(2025, 12, 11))
    first = asyncio.run(sweep(database, sender, moment, worker="w1"))
    assert (first.uncertain, first.retried, first.sent) == (1, 0, 0)
    sender.errors.clear()
    for _ in range(4):
        moment += timedelta(hours=1)
        asyncio.run(sweep(database, sender, moment, worker="w1"))
    assert sender.messages == []
    (row,) = rows(database)
    assert row.status == "uncertain" and row.sent_at is not None


def test_network_errors_retry_later_and_fail_after_five_attempts(database):
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             kinds="draft_2b", days="3")
    sender = FakeSender(errors={MONTHLY_USER: _unsent("connection refused")})
    moment = at(date(2025, 12, 11))

    first = asyncio.run(sweep(database, sender, moment, worker="w1"))

    assert first.retried == 1
    (row,) = rows(database)
    assert (row.status, row.attempts) == ("planned", 1)
    assert reminders.india(row.send_at) > moment
    for _ in range(6):
        moment += timedelta(hours=1)
        asyncio.run(sweep(database, sender, moment, worker="w1"))
    (row,) = rows(database)
    assert (row.status, row.attempts) == ("failed", reminders.MAX_ATTEMPTS)
    assert "NetworkError" in (row.last_error or "")


def test_all_clear_off_skips_instead_of_sending(database):
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             all_clear=False, kinds="draft_2b", days="3")
    sender = FakeSender()

    result = asyncio.run(sweep(database, sender, at(date(2025, 12, 11)), worker="w1"))

    assert (result.sent, result.skipped) == (0, 1)
    assert [r.status for r in rows(database)] == ["skipped"]
    assert sender.messages == []


def test_changing_preferences_replans_planned_reminders(database):
    now = at(date(2025, 12, 1), 8)
    add_user(database, MONTHLY_USER, gstins=(make_gstin("27", PANS[0]),), now=now,
             kinds="gstr3b_due", days="3,1")

    set_preferences(database, MONTHLY_USER, MONTHLY_USER, days="7", time="18:30", now=now)

    assert [(r.days_before, reminders.india(r.send_at)) for r in rows(database)] == [
        (7, at(date(2025, 12, 13), 18, 30))
    ]
    set_preferences(database, MONTHLY_USER, MONTHLY_USER, enabled=False, now=now)
    assert rows(database) == []


def test_reminder_lists_open_records_with_buttons(database):
    from ims_bot.demo import DEMO_GSTIN, load_demo

    now = at(date(2025, 12, 10), 8)
    workspace, _ = load_demo(database, MONTHLY_USER)
    set_preferences(database, MONTHLY_USER, 555, kinds="gstr3b_due", days="3", now=now)
    sender = FakeSender()

    asyncio.run(sweep(database, sender, at(date(2025, 12, 17)), worker="w1"))

    (message,) = sender.messages
    assert DEMO_GSTIN in message.text and "GSTR-3B for Nov 2025 due" in message.text
    assert "need a decision" in message.text and "₹" in message.text
    assert message.buttons == [
        ("Review open records", f"rm:pending:{workspace.id}"),
        ("Recompute GSTR-2B", f"rm:recompute:{workspace.id}:112025"),
    ]


# ---------------------------------------------------------------------------- daily digest

DIGEST_USER = 303
DEC_1 = date(2025, 12, 1)  # a Monday


def digest_user(db: Database, now: datetime, **prefs: object) -> int:
    """A user who chose only the daily digest, with one workspace; its id."""
    workspace = ensure_workspace(db, RECIPIENT, DIGEST_USER)
    set_preferences(db, DIGEST_USER, DIGEST_USER, kinds="digest", now=now, **prefs)  # type: ignore[arg-type]
    return workspace.id


def arrive(db: Database, workspace_id: int, moment: datetime, **sections: list[dict]) -> None:
    """Import a portal file as if at `moment` (the importer stamps the machine's clock)."""
    import_file(db, workspace_id, stream(portal_file(**sections)), actor="test", channel="cli")
    numbers = [r.get("inum") or r.get("nt_num") for found in sections.values() for r in found]
    table = Record.__table__
    with db.begin() as session:
        session.execute(
            update(table)
            .where(table.c.taxpayer_id == workspace_id, table.c.number.in_(numbers))
            .values(created_at=moment)
        )


def digests(db: Database, user_id: int) -> list[Reminder]:
    return [r for r in rows(db, user_id) if r.kind == reminders.DIGEST]


def test_digest_is_planned_daily_at_the_chosen_time_only_for_those_who_chose_it(database):
    gstin = make_gstin("27", PANS[0])
    add_user(database, DIGEST_USER, gstins=(gstin,), now=at(DEC_1, 8), kinds="digest",
             time="18:30")
    add_user(database, MONTHLY_USER, gstins=(gstin,), now=at(DEC_1, 8))  # the default kinds

    assert [
        (r.deadline, reminders.india(r.send_at), r.days_before, r.period_key)
        for r in rows(database, DIGEST_USER)
    ] == [
        (DEC_1, at(DEC_1, 18, 30), 0, 202512),
        (date(2025, 12, 2), at(date(2025, 12, 2), 18, 30), 0, 202512),
    ]
    assert digests(database, MONTHLY_USER) == []
    assert plan(database, at(DEC_1, 20)) == 0
    restarted = reopen(database)
    try:
        assert plan(restarted, at(date(2025, 12, 2), 8)) == 1  # the day after tomorrow
        assert plan(restarted, at(date(2025, 12, 2), 8, 15)) == 0
    finally:
        restarted.dispose()
    assert [r.deadline for r in digests(database, DIGEST_USER)] == [
        DEC_1, date(2025, 12, 2), date(2025, 12, 3)
    ]


def test_digest_counts_records_imported_since_the_last_digest_and_not_before(database):
    workspace = digest_user(database, at(DEC_1, 8))
    arrive(database, workspace, at(date(2025, 11, 30), 7), b2b=[invoice("OLD-1", tax=5000.0)])
    arrive(
        database, workspace, at(date(2025, 11, 30), 20),
        b2b=[invoice("NEW-1", tax=900.0), invoice("NEW-2", supplier=SUPPLIER_B, tax=450.0)],
        b2bcn=[note("CN-1", tax=90.0)],
    )
    sender = FakeSender()

    asyncio.run(sweep(database, sender, at(DEC_1, 9, 40), worker="w1"))  # a late sweep

    (first,) = sender.messages
    assert "3 new record(s) since Sun 30 Nov 09:00" in first.text  # OLD-1 came 26 h before
    assert "₹2,700 ITC at stake; 3 need a decision." in first.text
    assert "take back ₹180" in first.text
    assert "By section: Invoice 2, Credit note 1" in first.text
    assert first.text.index("Tata Steel") < first.text.index("Gujarat Chemicals")
    assert first.buttons == [("Review open records", f"rm:pending:{workspace}")]

    arrive(database, workspace, at(DEC_1, 15), b2b=[invoice("NEW-3", tax=100.0)])
    asyncio.run(sweep(database, sender, at(date(2025, 12, 2), 9), worker="w1"))

    second = sender.messages[1]
    # From when the last digest went out, not from its planned time nor a day back.
    assert "1 new record(s) since Mon 01 Dec 09:40" in second.text
    assert "₹200 ITC at stake" in second.text and "Gujarat" not in second.text
    assert [r.status for r in digests(database, DIGEST_USER)][:2] == ["sent", "sent"]


def test_digest_with_nothing_new_and_all_clear_off_sends_nothing(database):
    workspace = digest_user(database, at(DEC_1, 8), all_clear=False)
    arrive(database, workspace, at(date(2025, 11, 29), 12), b2b=[invoice("OLD-1")])
    # Arrives after the sweep's clock: belongs to the next digest, not this one.
    arrive(database, workspace, at(DEC_1, 9, 10), b2b=[invoice("LATE-1", tax=300.0)])
    sender = FakeSender()

    result = asyncio.run(sweep(database, sender, at(DEC_1, 9), worker="w1"))

    assert (result.sent, result.skipped) == (0, 1)
    assert sender.messages == []
    first = digests(database, DIGEST_USER)[0]
    assert (first.status, first.last_error) == ("skipped", reminders.NOTHING_NEW)
    # A digest with nothing new still closes its window: after a move to 18:00 the next
    # one starts at 09:00 on the 1st, not a day before its own time (which would miss LATE-1).
    set_preferences(database, DIGEST_USER, DIGEST_USER, time="18:00", now=at(DEC_1, 12))
    asyncio.run(sweep(database, sender, at(date(2025, 12, 2), 18), worker="w1"))
    (message,) = sender.messages
    assert "1 new record(s) since Mon 01 Dec 09:00" in message.text
    assert "₹600 ITC" in message.text


def test_digest_with_nothing_new_and_all_clear_on_says_all_clear(database):
    digest_user(database, at(DEC_1, 8))
    sender = FakeSender()

    result = asyncio.run(sweep(database, sender, at(DEC_1, 9), worker="w1"))

    (message,) = sender.messages
    assert (result.sent, result.all_clear) == (1, 1)
    assert "no new records" in message.text and "All clear" in message.text
    assert message.buttons == []


def test_digest_missed_while_down_is_sent_once_across_restarts(database):
    workspace = digest_user(database, at(DEC_1, 8))
    arrive(database, workspace, at(DEC_1, 7), b2b=[invoice("NEW-1")])
    messages = []
    # The process that planned stopped before 09:00; each of these is a new process.
    for minute in (30, 31, 45):
        db, sender = reopen(database), FakeSender()
        try:
            plan(db, at(DEC_1, 10, minute))
            asyncio.run(sweep(db, sender, at(DEC_1, 10, minute), worker=f"w{minute}"))
        finally:
            db.dispose()
        messages += sender.messages

    assert [m.text.splitlines()[0] for m in messages] == [
        "📥 <b>Daily digest</b>: 1 new record(s) since Sun 30 Nov 09:00"
    ]
    today = [r for r in digests(database, DIGEST_USER) if r.deadline == DEC_1]
    assert [r.status for r in today] == ["sent"]


def test_after_downtime_one_digest_covers_the_days_missed(database):
    workspace = digest_user(database, at(DEC_1, 8))
    arrive(database, workspace, at(date(2025, 11, 30), 20), b2b=[invoice("NEW-1")])
    arrive(database, workspace, at(DEC_1, 20), b2b=[invoice("NEW-2")])
    sender = FakeSender()

    asyncio.run(sweep(database, sender, at(date(2025, 12, 2), 9), worker="w1"))

    (message,) = sender.messages
    assert "2 new record(s) since Sun 30 Nov 09:00" in message.text
    assert sorted((r.deadline, r.status) for r in digests(database, DIGEST_USER)) == [
        (DEC_1, "skipped"), (date(2025, 12, 2), "sent")
    ]


@pytest.mark.postgres
def test_two_sweepers_on_postgres_send_each_reminder_exactly_once(postgres_db):
    now = at(date(2025, 12, 1), 8)
    gstins = (make_gstin("27", PANS[0]), make_gstin("24", PANS[3]))
    users = range(1000, 1040)
    for user in users:
        add_user(postgres_db, user, gstins=gstins, now=now, kinds="draft_2b,gstr3b_due")
    due = at(date(2025, 12, 19))
    with postgres_db.begin() as session:
        due_rows = session.scalar(
            select(func.count(Reminder.id)).where(Reminder.send_at <= due)
        )
    expected = len(users) * len(gstins)  # the 1-day reminder of the 20 Dec GSTR-3B each

    class SlowSender(FakeSender):
        async def send(self, chat_id: int, text: str, buttons: list) -> None:
            await asyncio.sleep(0.002)  # let the other sweeper run meanwhile
            await super().send(chat_id, text, buttons)

    senders = [SlowSender(), SlowSender()]
    errors: list[BaseException] = []

    def run(sender: FakeSender, name: str) -> None:
        db = reopen(postgres_db)
        try:
            asyncio.run(sweep(db, sender, due, worker=name, batch=5))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(s, f"w{i}")) for i, s in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    messages = [(m.chat_id, m.text) for s in senders for m in s.messages]
    assert len(messages) == expected == len(set(messages)) > 0
    assert all(s.messages for s in senders), "both sweepers took a share"
    done = [r for r in rows(postgres_db) if reminders.india(r.send_at) <= due]
    assert len(done) == due_rows and "planned" not in {r.status for r in done}
    assert sum(r.status == "sent" for r in done) == expected


# ------------------------------------------------------------------------- private chat only

GROUP_CHAT = -1_001_234_567_890


def test_a_reminder_goes_to_the_private_chat_even_when_a_group_chat_was_stored(database):
    """/remind typed in a group used to store the group as the user's chat, and the GSTIN's
    reminders then went to everyone in it."""
    ensure_workspace(database, make_gstin("27", PANS[0]), MONTHLY_USER)
    set_preferences(database, MONTHLY_USER, GROUP_CHAT, now=at(date(2025, 12, 1), 8))
    sender = FakeSender()

    asyncio.run(sweep(database, sender, at(date(2025, 12, 11)), worker="w1"))

    assert sender.messages
    assert {m.chat_id for m in sender.messages} == {MONTHLY_USER}


def test_a_reminder_planned_before_access_was_removed_is_not_sent(database):
    now = at(date(2025, 12, 1), 8)
    ws = ensure_workspace(database, make_gstin("27", PANS[0]), MONTHLY_USER)
    access = AccessService(database, lambda: now)
    access.join(QRMP_USER, QRMP_USER, access.invite(MONTHLY_USER, ws.id).code)
    set_preferences(database, QRMP_USER, QRMP_USER, now=now)
    assert any(r.status == "planned" for r in rows(database, QRMP_USER))
    with database.begin() as session:  # access gone, the planned rows left behind
        session.execute(delete(Membership).where(Membership.user_id == QRMP_USER))
    sender = FakeSender()

    asyncio.run(sweep(database, sender, at(date(2025, 12, 11)), worker="w1"))

    assert sender.to(QRMP_USER) == []
    assert "sent" not in {r.status for r in rows(database, QRMP_USER)}


def test_revoking_a_member_drops_their_planned_reminders_about_that_gstin(database):
    now = at(date(2025, 12, 1), 8)
    ws = ensure_workspace(database, make_gstin("27", PANS[0]), MONTHLY_USER)
    own = ensure_workspace(database, make_gstin("27", PANS[1]), QRMP_USER)
    access = AccessService(database, lambda: now)
    access.join(QRMP_USER, QRMP_USER, access.invite(MONTHLY_USER, ws.id).code)
    set_preferences(database, QRMP_USER, QRMP_USER, now=now)

    assert access.revoke(MONTHLY_USER, ws.id, QRMP_USER)

    planned = {r.taxpayer_id for r in rows(database, QRMP_USER) if r.status == "planned"}
    assert planned == {own.id}
