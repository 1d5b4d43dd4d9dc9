"""Reminder preferences, wording and job wiring (no Telegram, no clock of the machine)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from telegram.ext import Application

from ims_bot.deadline_report import NewRecords, OpenWork, SupplierItc
from ims_bot.deadlines import Deadline, DeadlineKind
from ims_bot.domain import Period, Section
from ims_bot.errors import InvalidInput
from ims_bot.reminders import (
    JOB_NAME,
    FakeSender,
    Preferences,
    digest_message,
    get_preferences,
    parse_days,
    parse_kinds,
    parse_time,
    reminder_message,
    schedule,
    set_preferences,
)
from ims_bot.settings import INDIA

NOW = datetime(2025, 12, 1, 8, 0, tzinfo=INDIA)
DUE = Deadline(
    DeadlineKind.GSTR3B_DUE, Period(2025, 11), date(2025, 12, 20), "GSTR-3B for Nov 2025 due"
)


@pytest.mark.parametrize(
    ("text", "days"),
    [("3,1", (3, 1)), ("1, 3 7", (7, 3, 1)), ("0", (0,)), ("30,30", (30,))],
)
def test_days_before_are_parsed_sorted_and_deduplicated(text, days):
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["", "31", "-1", "a", "7,5,3,2,1", "1.5"])
def test_bad_days_before_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_days(text)


@pytest.mark.parametrize("text", ["24:00", "9", "09:60", "nine", "09-00"])
def test_bad_times_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_time(text)


def test_times_are_normalised():
    assert parse_time("9:05") == "09:05" and parse_time(" 18:00 ") == "18:00"


def test_kinds_are_checked_and_kept_in_canonical_order():
    assert parse_kinds("gstr3b_due, draft_2b") == ("draft_2b", "gstr3b_due")
    assert parse_kinds(["digest"]) == ("digest",)
    with pytest.raises(InvalidInput, match="gstr1"):
        parse_kinds("gstr1")


def test_preferences_default_for_an_unknown_user(sqlite_db):
    assert get_preferences(sqlite_db, 77) == Preferences()


def test_set_preferences_validates_and_stores(sqlite_db):
    prefs = set_preferences(
        sqlite_db, 77, 770, days="7,3,1", time="18:00", kinds="gstr3b_due",
        all_clear=False, now=NOW,
    )

    assert prefs == Preferences(True, (7, 3, 1), "18:00", ("gstr3b_due",), False, False)
    assert get_preferences(sqlite_db, 77) == prefs
    with pytest.raises(InvalidInput):
        set_preferences(sqlite_db, 77, 770, days="45", now=NOW)
    assert get_preferences(sqlite_db, 77) == prefs  # nothing half-applied


def test_reminder_with_open_work_has_counts_and_buttons():
    work = OpenWork(open_records=7, pending=2, open_itc=Decimal("12340"))

    text, buttons = reminder_message(DUE, "27AAPFU0939F1ZV", "Shree <Ganesh>", work,
                                     date(2025, 12, 17), workspace=42)

    assert "GSTR-3B for Nov 2025 due</b> in 3 days (Sat 20 Dec 2025)" in text
    assert "7 record(s) need a decision (2 pending), ₹12,340 ITC" in text
    assert "Shree &lt;Ganesh&gt;" in text
    assert buttons == [
        ("Review open records", "rm:pending:42"),
        ("Recompute GSTR-2B", "rm:recompute:42:112025"),
    ]


def test_all_clear_reminder_has_no_buttons():
    text, buttons = reminder_message(
        DUE, "27AAPFU0939F1ZV", "", OpenWork(), date(2025, 12, 19), workspace=42
    )

    assert "all clear" in text and "tomorrow" in text
    assert buttons == []


def test_digest_is_not_chosen_by_default():
    assert "digest" not in Preferences().kinds


def test_digest_lists_counts_sections_and_top_suppliers_with_the_review_button():
    news = NewRecords(
        records=5, open_records=4, itc=Decimal("4300"), credit_note_tax=Decimal("180"),
        by_section=((Section.B2B, 4), (Section.B2BCN, 1)),
        top_suppliers=(
            SupplierItc("27AABCT1332L1ZV", "Tata <Steel>", 3, Decimal("3000")),
            SupplierItc("24AACCG9012M1ZT", "", 1, Decimal("1300")),
        ),
    )

    text, buttons = digest_message(news, "27AAPFU0939F1ZV", "Shree Ganesh", NOW, workspace=42)

    assert "Daily digest</b>: 5 new record(s) since Mon 01 Dec 08:00" in text
    assert "₹4,300 ITC at stake; 4 need a decision." in text
    assert "Credit notes among them take back ₹180." in text
    assert "By section: Invoice 4, Credit note 1" in text
    assert "1. Tata &lt;Steel&gt; (<code>27AABCT1332L1ZV</code>) ₹3,000" in text
    # No name known: the GSTIN stands in, spaced to be readable.
    assert "2. 24 AACCG9012M 1ZT (<code>24AACCG9012M1ZT</code>)" in text
    assert buttons == [("Review open records", "rm:pending:42")]


def test_digest_with_nothing_new_is_an_all_clear_without_buttons():
    text, buttons = digest_message(NewRecords(), "27AAPFU0939F1ZV", "", NOW, workspace=42)

    assert "no new records since Mon 01 Dec 08:00" in text and "All clear" in text
    assert buttons == []


async def test_schedule_replaces_the_job_of_the_same_name(sqlite_db):
    application = Application.builder().token("123456:TEST").build()
    now = lambda: datetime.combine(date(2025, 12, 1), time(9), INDIA)  # noqa: E731

    schedule(application, sqlite_db, now, sender=FakeSender())
    schedule(application, sqlite_db, now, sender=FakeSender(), interval_seconds=30)

    jobs = [j for j in application.job_queue.jobs() if not j.removed]
    assert [j.name for j in jobs] == [JOB_NAME]
    assert jobs[0].job.trigger.interval.total_seconds() == 30
