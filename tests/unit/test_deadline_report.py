"""The deadline report: calendar, days left and open work counted from the store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ims_bot.deadline_report import format_text, upcoming
from ims_bot.deadlines import DeadlineKind
from ims_bot.demo import DEMO_GSTIN, DEMO_TODAY, load_demo
from ims_bot.domain import Frequency, Period, Status
from ims_bot.gstin import make_gstin
from ims_bot.records import RecordFilter, RecordService

OWNER = 4_400_001
DELHI_GSTIN = make_gstin("07", "AAKFS5566E")


def test_a_gstin_without_workspace_still_gets_its_calendar(database):
    items = upcoming(database, DELHI_GSTIN, date(2025, 12, 16))

    assert [(i.kind, i.date) for i in items][:2] == [
        (DeadlineKind.GSTR3B_DUE, date(2025, 12, 20)),
        (DeadlineKind.PENDING_WINDOW, date(2025, 12, 20)),
    ]
    assert all(i.open_records == 0 and i.open_itc == 0 for i in items)
    assert items[0].days_left == 4
    assert all(i.todo for i in items)


def test_frequency_argument_gives_the_qrmp_calendar_with_the_states_due_day(database):
    items = upcoming(database, DELHI_GSTIN, date(2025, 12, 16), frequency=Frequency.QUARTERLY)

    due = [i for i in items if i.kind is DeadlineKind.GSTR3B_DUE]
    assert [(i.period, i.date) for i in due] == [(Period(2025, 12), date(2026, 1, 24))]


def test_counts_match_the_records_service(database):
    workspace, _ = load_demo(database, OWNER)
    views = RecordService(database, lambda: DEMO_TODAY).iter_all(
        workspace.id, RecordFilter(needs_decision=True)
    )
    nov = [v for v in views if v.itc_period == Period(2025, 11)]
    leaving = [
        v for v in views
        if v.pending_window_end == date(2025, 12, 20)
        and v.status in (Status.PENDING, Status.NO_ACTION)
    ]

    items = upcoming(database, DEMO_GSTIN, DEMO_TODAY, owner_id=OWNER)

    due = next(i for i in items if i.kind is DeadlineKind.GSTR3B_DUE)
    window = next(i for i in items if i.kind is DeadlineKind.PENDING_WINDOW)
    assert due.period == Period(2025, 11)
    assert due.open_records == len(nov) > 0
    itc = sum((v.tax.total for v in nov if not v.section.is_credit_note), Decimal(0))
    assert due.open_itc == itc
    assert window.open_records == len(leaving) > 0
    assert f"{len(leaving)} credit notes or amendments leave their pending window" in due.todo


def test_another_owners_workspace_is_not_counted(database):
    load_demo(database, OWNER)

    items = upcoming(database, DEMO_GSTIN, DEMO_TODAY, owner_id=OWNER + 1)

    assert all(i.open_records == 0 for i in items)


def test_json_shape(database):
    load_demo(database, OWNER)

    data = [i.to_json() for i in upcoming(database, DEMO_GSTIN, DEMO_TODAY, owner_id=OWNER)]

    assert data
    first = data[0]
    assert set(first) == {
        "kind", "period", "date", "days_left", "title", "todo", "open_records", "open_itc"
    }
    assert first["kind"] in {"draft_2b", "gstr3b_due", "pending_window", "itc_time_limit"}
    assert first["period"] == "112025" and first["date"] == "2025-12-20"
    assert isinstance(first["open_itc"], float) and isinstance(first["days_left"], int)


def test_filed_period_has_nothing_left(database):
    load_demo(database, OWNER)

    items = upcoming(database, DEMO_GSTIN, date(2025, 11, 1), owner_id=OWNER, horizon_days=30)

    oct_due = next(
        i for i in items if i.kind is DeadlineKind.GSTR3B_DUE and i.period == Period(2025, 10)
    )
    assert "filed" in oct_due.todo


def test_format_text_has_a_line_per_deadline(database):
    items = upcoming(database, DELHI_GSTIN, date(2025, 12, 16))

    text = format_text(items)

    assert len(text.splitlines()) == len(items)
    assert "Sat 20 Dec 2025  (in 4 days)  GSTR-3B for Nov 2025 due" in text
