"""IMS and GSTR-3B deadlines (pure; dates are Indian calendar dates).

Sources: ims-facts.md §1 (draft GSTR-2B on the 14th), §2 "More rules" (one-tax-period
pending window) and §4 (GSTR-3B due dates, s.16(4) time limit).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from ims_bot.domain import OCT_2025, Frequency, Period
from ims_bot.gstin import qrmp_3b_day

DRAFT_2B_DAY = 14
MONTHLY_3B_DAY = 20


class DeadlineKind(StrEnum):
    DRAFT_2B = "draft_2b"
    GSTR3B_DUE = "gstr3b_due"
    PENDING_WINDOW = "pending_window"
    ITC_TIME_LIMIT = "itc_time_limit"


_KIND_ORDER = {kind: index for index, kind in enumerate(DeadlineKind)}


def months_per_tax_period(frequency: Frequency) -> int:
    return 3 if frequency is Frequency.QUARTERLY else 1


def return_period(period: Period, frequency: Frequency) -> Period:
    """The return period a GSTR-2B period files in: itself, or for QRMP the quarter's last month."""
    return period.quarter_end if frequency is Frequency.QUARTERLY else period


def period_label(period: Period, frequency: Frequency) -> str:
    """`Oct 2025` for a month; `Oct–Dec 2025` for a QRMP quarter."""
    if frequency is Frequency.MONTHLY:
        return period.label
    end = return_period(period, frequency)
    start = end.shift(-2)
    return f"{start.first_day:%b}–{end.label}"


def draft_2b_date(period: Period, frequency: Frequency) -> date:
    """Draft GSTR-2B: the 14th of the month after the (QRMP: quarter's) return period (§1)."""
    after = return_period(period, frequency).next
    return date(after.year, after.month, DRAFT_2B_DAY)


def gstr3b_due_date(period: Period, frequency: Frequency, state_code: str) -> date:
    """GSTR-3B due: monthly the 20th of the next month; QRMP 22nd/24th after the quarter (§4)."""
    after = return_period(period, frequency).next
    day = MONTHLY_3B_DAY if frequency is Frequency.MONTHLY else qrmp_3b_day(state_code)
    return date(after.year, after.month, day)


def pending_window_end(period: Period, frequency: Frequency, state_code: str) -> date:
    """Last day a one-tax-period record may stay pending: 3B due date of the next tax period.

    ims-facts §2: monthly Oct 2025 -> 20 Dec 2025; QRMP Oct-Dec 2025 -> 22/24 Apr 2026.
    """
    following = return_period(period, frequency).shift(months_per_tax_period(frequency))
    return gstr3b_due_date(following, frequency, state_code)


def financial_year_start(day: date) -> int:
    """The calendar year in which the financial year (April-March) of `day` starts."""
    return day.year if day.month >= 4 else day.year - 1


def itc_claim_limit(fy_start: int, annual_return_filed: date | None = None) -> date:
    """s.16(4): ITC of the financial year starting in `fy_start` must be claimed in a GSTR-3B
    filed by 30 Nov of the next year, or by the annual return for the year if filed earlier."""
    limit = date(fy_start + 1, 11, 30)
    if annual_return_filed is not None and annual_return_filed < limit:
        return annual_return_filed
    return limit


def itc_last_return(fy_start: int, frequency: Frequency) -> Period:
    """The last GSTR-3B that can normally carry the year's ITC (§3): its due date falls before
    30 Nov of the next year — October's return for a monthly filer, Jul–Sep for QRMP."""
    return Period(fy_start + 1, 9 if frequency is Frequency.QUARTERLY else 10)


def itc_limit_title(fy_start: int, frequency: Frequency, state_code: str) -> str:
    """s.16(4) in the words a user acts on: which return to accept before, and its dates."""
    last = itc_last_return(fy_start, frequency)
    due = gstr3b_due_date(last, frequency, state_code)
    limit = itc_claim_limit(fy_start)
    return (
        f"FY {fy_start}-{(fy_start + 1) % 100:02d} ITC (s.16(4)): accept before you file the "
        f"{period_label(last, frequency)} GSTR-3B (due {due:%d %b}; it must be filed by "
        f"{limit:%d %b %Y})"
    )


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    period: Period  # the return period (QRMP: quarter's last month); ITC limit: the FY's March
    date: datetime.date  # module-qualified: the field name shadows the type in this body
    title: str

    def days_left(self, today: datetime.date) -> int:
        """Days from `today` to the deadline (0 on the day, negative once past)."""
        return (self.date - today).days


def calendar(
    state_code: str,
    frequency: Frequency,
    today: date,
    *,
    horizon_days: int = 62,
    past_days: int = 0,
) -> list[Deadline]:
    """Deadlines dated from `today - past_days` to `today + horizon_days`, by date then kind.

    Kinds tie-break in declaration order (draft 2B, 3B due, pending window, ITC limit):
    a pending window always ends on some period's 3B due date.
    """
    start = today - timedelta(days=past_days)
    end = today + timedelta(days=horizon_days)
    found: list[Deadline] = []

    # The latest event of a return period P is its pending window end, at most
    # 2 tax periods + 1 month after P; the earliest is the draft 2B one month after P.
    first = return_period(Period.of(start).shift(-7), frequency)
    last = Period.of(end)
    step = months_per_tax_period(frequency)
    period = first
    while period <= last:
        label = period_label(period, frequency)
        found.append(
            Deadline(
                DeadlineKind.DRAFT_2B,
                period,
                draft_2b_date(period, frequency),
                f"Draft GSTR-2B for {label}",
            )
        )
        found.append(
            Deadline(
                DeadlineKind.GSTR3B_DUE,
                period,
                gstr3b_due_date(period, frequency, state_code),
                f"GSTR-3B for {label} due",
            )
        )
        # One-tax-period pending exists only for GSTR-2B periods from Oct 2025 (§2).
        if period >= OCT_2025:
            found.append(
                Deadline(
                    DeadlineKind.PENDING_WINDOW,
                    period,
                    pending_window_end(period, frequency, state_code),
                    f"Last day to keep {label} credit notes and downward amendments pending",
                )
            )
        period = period.shift(step)

    # s.16(4): the deadline a user can act on is the due date of the last GSTR-3B that can
    # carry the year's ITC (not 30 Nov itself, by which that return must already be filed).
    for year in range(start.year - 1, end.year + 1):
        last = itc_last_return(year - 1, frequency)
        found.append(
            Deadline(
                DeadlineKind.ITC_TIME_LIMIT,
                Period(year, 3),
                gstr3b_due_date(last, frequency, state_code),
                itc_limit_title(year - 1, frequency, state_code),
            )
        )

    return sorted(
        (d for d in found if start <= d.date <= end),
        key=lambda d: (d.date, _KIND_ORDER[d.kind]),
    )
