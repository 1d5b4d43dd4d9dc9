"""Deadlines: draft GSTR-2B, GSTR-3B due dates, pending windows, s.16(4) (ims-facts §1, §2, §4)."""

from __future__ import annotations

from datetime import date

import pytest

from ims_bot.deadlines import (
    Deadline,
    DeadlineKind,
    calendar,
    draft_2b_date,
    financial_year_start,
    gstr3b_due_date,
    itc_claim_limit,
    pending_window_end,
    period_label,
    return_period,
)
from ims_bot.domain import Frequency, Period
from ims_bot.gstin import STATES

M = Frequency.MONTHLY
Q = Frequency.QUARTERLY
QRMP_22 = {"22", "23", "24", "27", "29", "30", "32", "33", "36", "37", "25", "26", "34", "35", "31"}


@pytest.mark.parametrize(
    "period, frequency, expected",
    [
        pytest.param(Period(2025, 10), M, Period(2025, 10), id="monthly-is-itself"),
        pytest.param(Period(2025, 4), Q, Period(2025, 6), id="qrmp-apr-to-jun"),
        pytest.param(Period(2025, 8), Q, Period(2025, 9), id="qrmp-aug-to-sep"),
        pytest.param(Period(2025, 12), Q, Period(2025, 12), id="qrmp-dec-is-quarter-end"),
        pytest.param(Period(2026, 1), Q, Period(2026, 3), id="qrmp-jan-to-mar"),
    ],
)
def test_return_period(period: Period, frequency: Frequency, expected: Period) -> None:
    assert return_period(period, frequency) == expected


@pytest.mark.parametrize(
    "period, frequency, expected",
    [
        pytest.param(Period(2024, 10), M, date(2024, 11, 14), id="first-ims-draft-14-nov-2024"),
        pytest.param(Period(2025, 12), M, date(2026, 1, 14), id="monthly-dec-to-jan"),
        pytest.param(Period(2025, 11), Q, date(2026, 1, 14), id="qrmp-oct-dec-quarter"),
        pytest.param(Period(2026, 3), Q, date(2026, 4, 14), id="qrmp-mar-quarter-to-apr"),
        pytest.param(Period(2025, 7), Q, date(2025, 10, 14), id="qrmp-jul-sep-quarter"),
    ],
)
def test_draft_2b_date(period: Period, frequency: Frequency, expected: date) -> None:
    assert draft_2b_date(period, frequency) == expected


@pytest.mark.parametrize("code", sorted(STATES))
def test_monthly_3b_is_due_on_the_20th_in_every_state(code: str) -> None:
    assert gstr3b_due_date(Period(2025, 10), M, code) == date(2025, 11, 20)
    assert gstr3b_due_date(Period(2025, 12), M, code) == date(2026, 1, 20)  # year end
    assert gstr3b_due_date(Period(2026, 3), M, code) == date(2026, 4, 20)  # FY end


@pytest.mark.parametrize("code", sorted(STATES))
@pytest.mark.parametrize(
    "period, month_after",
    [
        pytest.param(Period(2025, 4), (2025, 7), id="apr-jun"),
        pytest.param(Period(2025, 9), (2025, 10), id="jul-sep"),
        pytest.param(Period(2025, 11), (2026, 1), id="oct-dec-year-end"),
        pytest.param(Period(2026, 2), (2026, 4), id="jan-mar-fy-end"),
    ],
)
def test_qrmp_3b_due_date_by_state_group(
    code: str, period: Period, month_after: tuple[int, int]
) -> None:
    day = 22 if code in QRMP_22 else 24
    assert gstr3b_due_date(period, Q, code) == date(*month_after, day)


@pytest.mark.parametrize(
    "period, frequency, code, expected",
    [
        # ims-facts §2: an Oct 2025 credit note may stay pending until 20 Dec 2025.
        pytest.param(Period(2025, 10), M, "27", date(2025, 12, 20), id="monthly-oct-2025"),
        pytest.param(Period(2025, 12), M, "07", date(2026, 2, 20), id="monthly-dec-year-end"),
        pytest.param(Period(2026, 2), M, "07", date(2026, 4, 20), id="monthly-feb-to-apr"),
        # QRMP: Oct-Dec 2025 -> 3B due of Jan-Mar 2026 = 22/24 Apr 2026.
        pytest.param(Period(2025, 10), Q, "27", date(2026, 4, 22), id="qrmp-22-group"),
        pytest.param(Period(2025, 12), Q, "09", date(2026, 4, 24), id="qrmp-24-group"),
        pytest.param(Period(2026, 2), Q, "38", date(2026, 7, 24), id="qrmp-ladakh-jan-mar"),
    ],
)
def test_pending_window_end(
    period: Period, frequency: Frequency, code: str, expected: date
) -> None:
    assert pending_window_end(period, frequency, code) == expected


@pytest.mark.parametrize(
    "day, fy_start",
    [
        pytest.param(date(2025, 3, 31), 2024, id="31-mar-is-previous-fy"),
        pytest.param(date(2025, 4, 1), 2025, id="1-apr-starts-fy"),
        pytest.param(date(2025, 1, 15), 2024, id="january"),
        pytest.param(date(2025, 12, 31), 2025, id="december"),
    ],
)
def test_financial_year_start(day: date, fy_start: int) -> None:
    assert financial_year_start(day) == fy_start


@pytest.mark.parametrize(
    "document_date, limit",
    [
        pytest.param(date(2025, 3, 15), date(2025, 11, 30), id="march-invoice-same-year"),
        pytest.param(date(2025, 3, 31), date(2025, 11, 30), id="last-day-of-fy"),
        pytest.param(date(2025, 4, 1), date(2026, 11, 30), id="first-day-of-next-fy"),
        pytest.param(date(2025, 4, 10), date(2026, 11, 30), id="april-invoice-next-year"),
        pytest.param(date(2024, 12, 5), date(2025, 11, 30), id="december-invoice"),
    ],
)
def test_itc_time_limit_crosses_the_financial_year(document_date: date, limit: date) -> None:
    assert itc_claim_limit(financial_year_start(document_date)) == limit


def test_an_annual_return_filed_earlier_ends_the_itc_time_limit_then() -> None:
    assert itc_claim_limit(2024, date(2025, 10, 1)) == date(2025, 10, 1)
    assert itc_claim_limit(2024, date(2025, 12, 15)) == date(2025, 11, 30)


def test_period_label() -> None:
    assert period_label(Period(2025, 10), M) == "Oct 2025"
    assert period_label(Period(2025, 11), Q) == "Oct–Dec 2025"


def test_days_left() -> None:
    deadline = Deadline(DeadlineKind.GSTR3B_DUE, Period(2025, 10), date(2025, 11, 20), "x")
    assert deadline.days_left(date(2025, 11, 18)) == 2
    assert deadline.days_left(date(2025, 11, 20)) == 0
    assert deadline.days_left(date(2025, 11, 21)) == -1


def _summary(deadlines: list[Deadline]) -> list[tuple[date, DeadlineKind, str]]:
    return [(d.date, d.kind, str(d.period)) for d in deadlines]


def test_monthly_calendar_around_a_pending_window() -> None:
    got = calendar("27", M, date(2025, 11, 15), horizon_days=40)
    assert _summary(got) == [
        (date(2025, 11, 20), DeadlineKind.GSTR3B_DUE, "102025"),
        (date(2025, 11, 20), DeadlineKind.ITC_TIME_LIMIT, "032025"),
        (date(2025, 12, 14), DeadlineKind.DRAFT_2B, "112025"),
        (date(2025, 12, 20), DeadlineKind.GSTR3B_DUE, "112025"),
        (date(2025, 12, 20), DeadlineKind.PENDING_WINDOW, "102025"),
    ]
    assert got[0].title == "GSTR-3B for Oct 2025 due"
    assert "FY 2024-25" in got[1].title


def test_qrmp_calendar_uses_quarters_and_state_day() -> None:
    got = calendar("09", Q, date(2026, 1, 1), horizon_days=120)
    assert _summary(got) == [
        (date(2026, 1, 14), DeadlineKind.DRAFT_2B, "122025"),
        (date(2026, 1, 24), DeadlineKind.GSTR3B_DUE, "122025"),
        (date(2026, 4, 14), DeadlineKind.DRAFT_2B, "032026"),
        (date(2026, 4, 24), DeadlineKind.GSTR3B_DUE, "032026"),
        (date(2026, 4, 24), DeadlineKind.PENDING_WINDOW, "122025"),
    ]
    assert got[1].title == "GSTR-3B for Oct–Dec 2025 due"


def test_calendar_past_days_includes_recent_deadlines() -> None:
    got = calendar("27", M, date(2025, 11, 22), horizon_days=0, past_days=3)
    assert _summary(got) == [
        (date(2025, 11, 20), DeadlineKind.GSTR3B_DUE, "102025"),
        (date(2025, 11, 20), DeadlineKind.ITC_TIME_LIMIT, "032025"),
    ]


def test_itc_time_limit_names_the_return_to_accept_before() -> None:
    monthly = calendar("27", M, date(2025, 11, 1), horizon_days=30)
    (limit,) = [d for d in monthly if d.kind is DeadlineKind.ITC_TIME_LIMIT]
    assert limit.title == (
        "FY 2024-25 ITC (s.16(4)): accept before you file the Oct 2025 GSTR-3B "
        "(due 20 Nov; it must be filed by 30 Nov 2025)"
    )
    quarterly = calendar("29", Q, date(2025, 10, 1), horizon_days=30)
    (limit,) = [d for d in quarterly if d.kind is DeadlineKind.ITC_TIME_LIMIT]
    assert limit.date == date(2025, 10, 22)
    assert "Jul–Sep 2025 GSTR-3B (due 22 Oct" in limit.title


def test_no_pending_window_for_periods_before_oct_2025() -> None:
    # Sep 2025's "window" would end 20 Nov 2025, but one-period pending starts with Oct 2025.
    got = calendar("27", M, date(2025, 10, 1), horizon_days=60)
    kinds = {(d.kind, str(d.period)) for d in got}
    assert (DeadlineKind.PENDING_WINDOW, "092025") not in kinds
    assert (DeadlineKind.GSTR3B_DUE, "092025") in kinds


def test_calendar_is_sorted_by_date_then_kind() -> None:
    got = calendar("33", M, date(2026, 1, 1), horizon_days=365)
    keys = [(d.date, list(DeadlineKind).index(d.kind)) for d in got]
    assert keys == sorted(keys)
    assert all(date(2026, 1, 1) <= d.date <= date(2027, 1, 1) for d in got)
