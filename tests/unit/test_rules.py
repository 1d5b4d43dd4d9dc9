"""The IMS rules, one case per rule of ims-facts.md §2 (ids name the rule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from ims_bot import rules
from ims_bot.domain import (
    Action,
    Direction,
    Frequency,
    Period,
    Reduction,
    ReductionKind,
    Section,
    Status,
    Tax,
)
from ims_bot.rules import (
    MAX_REMARKS,
    Code,
    Context,
    PendingPolicy,
    RecordFacts,
    Verdict,
    action_verdicts,
    check_action,
    effective_status,
    is_deemed_accepted,
    pending_policy,
    pending_window_end,
    recompute_verdict,
    reduction_applicable,
    rule_version,
    undo_verdict,
)

M = Frequency.MONTHLY
Q = Frequency.QUARTERLY
OCT25 = "102025"  # first period of the Oct 2025 rules
SEP25 = "092025"  # last period of the earlier rules
TAX = Tax(Decimal(0), Decimal("900.00"), Decimal("900.00"), Decimal(0))
#: Inside the one-period window of Oct 2025 records (it ends 20 Dec 2025, monthly).
TODAY = date(2025, 11, 10)

UP = Direction.UPWARD
DOWN = Direction.DOWNWARD


def rec(
    section: Section, period: str = OCT25, status: Status = Status.NO_ACTION, **kw
) -> RecordFacts:
    return RecordFacts(section, Period.parse(period), status, kw.pop("tax", TAX), **kw)


def ctx(
    today: date = TODAY, frequency: Frequency = M, filed: bool = False, state: str = "27"
) -> Context:
    return Context(frequency=frequency, state_code=state, gstr3b_filed=filed, today=today)


def downward(section: Section, period: str, **kw) -> RecordFacts:
    """A downward amendment whose original was accepted and its GSTR-3B filed."""
    return rec(
        section,
        period,
        direction=DOWN,
        original_status=Status.ACCEPTED,
        original_3b_filed=True,
        **kw,
    )


def partial(igst: str, cgst: str, sgst: str, cess: str) -> Reduction:
    amounts = Tax(Decimal(igst), Decimal(cgst), Decimal(sgst), Decimal(cess))
    return Reduction(ReductionKind.PARTIAL, amounts)


@dataclass(frozen=True)
class Case:
    record: RecordFacts
    action: Action
    allowed: bool
    code: str | None = None
    faq_id: str | None = None
    context: Context = field(default_factory=ctx)
    remarks: str | None = None
    reduction: Reduction | None = None


A, R, P = Action.ACCEPT, Action.REJECT, Action.PENDING

#: The one-period window of Oct 2025 records has closed (20 Dec 2025, monthly).
AFTER_CN_WINDOW = ctx(date(2025, 12, 22))

CASES = [
    # --- §2 table: invoices, debit notes, upward amendments -------------------------------
    pytest.param(Case(rec(Section.B2B), A, True), id="invoice-can-be-accepted"),
    pytest.param(Case(rec(Section.B2B), R, True), id="invoice-can-be-rejected"),
    pytest.param(Case(rec(Section.B2B, SEP25), P, True), id="invoice-can-be-kept-pending"),
    pytest.param(
        Case(
            rec(Section.B2B, "102024", document_date=date(2024, 3, 10)),
            P,
            True,
            context=ctx(date(2024, 11, 30)),
        ),
        id="invoice-in-the-last-return-can-be-pending-until-30-nov",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, "102024", document_date=date(2024, 3, 10)),
            P,
            False,
            Code.ITC_TIME_LIMIT_PASSED,
            "itc-time-limit",
            context=ctx(date(2024, 12, 1)),
        ),
        id="invoice-cannot-be-pending-past-30-nov",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, "112024", document_date=date(2024, 3, 10)),
            P,
            False,
            Code.ITC_TIME_LIMIT_PASSED,
            "itc-time-limit",
            context=ctx(date(2024, 11, 20)),
        ),
        id="invoice-landing-after-the-october-return-is-time-barred-before-30-nov",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, SEP25, document_date=date(2025, 3, 10)),
            P,
            False,
            Code.ITC_TIME_LIMIT_PASSED,
            "itc-time-limit",
            context=Context(M, "27", False, date(2025, 11, 21), frozenset({202510})),
        ),
        id="invoice-cannot-be-pending-once-the-october-return-is-filed",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, SEP25, document_date=date(2025, 3, 10)),
            P,
            False,
            Code.ITC_TIME_LIMIT_PASSED,
            "itc-time-limit",
            context=Context(
                M, "27", False, date(2025, 10, 2), annual_returns={2024: date(2025, 10, 1)}
            ),
        ),
        id="invoice-cannot-be-pending-once-the-annual-return-is-filed",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, "102024", document_date=date(2024, 3, 10)),
            P,
            False,
            Code.ITC_TIME_LIMIT_PASSED,
            "itc-time-limit",
            context=ctx(date(2024, 11, 1), frequency=Q),
        ),
        id="qrmp-invoice-landing-after-the-jul-sep-return-is-time-barred",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, "102024", document_date=date(2024, 3, 10)),
            A,
            True,
            Code.ITC_TIME_LIMIT_PASSED,
            "itc-time-limit",
            context=ctx(date(2024, 12, 1)),
        ),
        id="time-barred-invoice-can-be-accepted-with-a-warning",
    ),
    pytest.param(Case(rec(Section.B2BDN, SEP25), P, True), id="debit-note-can-be-kept-pending"),
    pytest.param(
        Case(rec(Section.B2BA, SEP25, direction=UP), P, True),
        id="upward-invoice-amendment-can-be-kept-pending",
    ),
    pytest.param(
        Case(rec(Section.B2BDNA, SEP25, direction=UP), R, True),
        id="upward-debit-note-amendment-can-be-rejected",
    ),
    # --- downward invoice/DN amendments of an accepted+filed original ---------------------
    pytest.param(
        Case(downward(Section.B2BA, SEP25), P, False, Code.PENDING_NOT_ALLOWED),
        id="downward-invoice-amendment-before-oct-2025-cannot-be-pending",
    ),
    pytest.param(
        Case(downward(Section.B2BDNA, OCT25), P, True),
        id="downward-debit-note-amendment-from-oct-2025-can-be-pending-one-period",
    ),
    pytest.param(
        Case(downward(Section.B2BA, SEP25), A, True),
        id="downward-invoice-amendment-before-oct-2025-can-be-accepted",
    ),
    pytest.param(
        Case(
            rec(Section.B2BA, SEP25, direction=DOWN, original_status=Status.PENDING),
            P,
            True,
        ),
        id="downward-amendment-of-a-pending-original-is-pending-like-an-invoice",
    ),
    # --- credit notes -------------------------------------------------------------------------
    pytest.param(
        Case(rec(Section.B2BCN, SEP25), P, False, Code.PENDING_NOT_ALLOWED, "additional-faq-10"),
        id="credit-note-before-oct-2025-cannot-be-pending",
    ),
    pytest.param(
        Case(rec(Section.B2BCN, SEP25), R, True),
        id="credit-note-before-oct-2025-can-be-rejected",
    ),
    pytest.param(
        Case(rec(Section.B2BCN, OCT25), P, True),
        id="credit-note-from-oct-2025-can-be-pending-for-one-period",
    ),
    pytest.param(
        Case(rec(Section.B2BCN, OCT25), P, True, context=ctx(date(2025, 12, 20))),
        id="credit-note-can-be-pending-on-the-last-day-of-its-window",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25),
            P,
            False,
            Code.PENDING_WINDOW_CLOSED,
            "pending-credit-note",
            context=ctx(date(2025, 12, 21)),
        ),
        id="credit-note-pending-is-no-longer-offered-after-its-window",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25, Status.PENDING),
            R,
            True,
            context=ctx(date(2025, 12, 21)),
        ),
        id="credit-note-can-still-be-rejected-after-its-pending-window",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25, Status.PENDING),
            A,
            True,
            context=ctx(date(2025, 12, 21)),
        ),
        id="credit-note-can-still-be-accepted-after-its-pending-window",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25),
            P,
            False,
            Code.PENDING_WINDOW_CLOSED,
            context=ctx(date(2026, 4, 25), Q, state="27"),
        ),
        id="qrmp-credit-note-window-closes-after-the-next-quarters-3b-due-date",
    ),
    pytest.param(
        Case(rec(Section.B2BCN, OCT25), P, True, context=ctx(date(2026, 4, 24), Q, state="09")),
        id="qrmp-credit-note-window-runs-to-the-24th-in-a-24th-state",
    ),
    # --- credit-note amendments -------------------------------------------------------------
    pytest.param(
        Case(rec(Section.B2BCNA, SEP25, direction=UP), P, False, Code.PENDING_NOT_ALLOWED),
        id="upward-credit-note-amendment-before-oct-2025-cannot-be-pending",
    ),
    pytest.param(
        Case(rec(Section.B2BCNA, OCT25, direction=UP), P, True),
        id="upward-credit-note-amendment-from-oct-2025-can-be-pending-one-period",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCNA, SEP25, direction=DOWN, original_status=Status.REJECTED),
            P,
            False,
            Code.PENDING_NOT_ALLOWED,
        ),
        id="downward-cn-amendment-of-rejected-original-before-oct-2025-cannot-be-pending",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCNA, OCT25, direction=DOWN, original_status=Status.REJECTED),
            P,
            True,
        ),
        id="downward-cn-amendment-of-rejected-original-from-oct-2025-can-be-pending",
    ),
    # --- e-commerce documents ---------------------------------------------------------------
    pytest.param(Case(rec(Section.ECOM, SEP25), P, True), id="eco-document-pending-as-invoice"),
    pytest.param(
        Case(downward(Section.ECOMA, SEP25), P, False, Code.PENDING_NOT_ALLOWED),
        id="downward-eco-amendment-before-oct-2025-cannot-be-pending",
    ),
    pytest.param(
        Case(downward(Section.ECOMA, OCT25), P, True),
        id="downward-eco-amendment-from-oct-2025-can-be-pending-one-period",
    ),
    # --- import of goods -----------------------------------------------------------------------
    pytest.param(Case(rec(Section.IMPG), A, True), id="bill-of-entry-can-be-accepted"),
    pytest.param(
        Case(rec(Section.IMPGSEZ), R, False, Code.REJECT_NOT_ALLOWED, "import-of-goods"),
        id="bill-of-entry-can-never-be-rejected",
    ),
    pytest.param(Case(rec(Section.IMPGA), P, True), id="bill-of-entry-can-be-kept-pending"),
    pytest.param(
        Case(rec(Section.IMPG, SEP25), A, False, Code.NOT_IN_IMS, "import-of-goods"),
        id="bill-of-entry-before-oct-2025-is-not-in-ims",
    ),
    # --- not in IMS ---------------------------------------------------------------------------
    pytest.param(
        Case(rec(Section.B2B, "092024"), A, False, Code.NOT_IN_IMS, "additional-faq-1"),
        id="record-of-2b-period-before-oct-2024-is-not-in-ims",
    ),
    pytest.param(Case(rec(Section.B2B, "102024"), R, True), id="oct-2024-records-are-in-ims"),
    # --- upward amendment only saved by the supplier (FAQ 8) ------------------------------------
    pytest.param(
        Case(
            rec(Section.B2BA, direction=UP, source_filed=False),
            A,
            False,
            Code.NOT_FILED_BY_SUPPLIER,
            "additional-faq-8",
        ),
        id="unfiled-upward-invoice-amendment-cannot-be-acted-on",
    ),
    pytest.param(
        Case(
            rec(Section.B2BDNA, direction=UP, source_filed=False),
            P,
            False,
            Code.NOT_FILED_BY_SUPPLIER,
        ),
        id="unfiled-upward-debit-note-amendment-cannot-be-acted-on",
    ),
    pytest.param(
        Case(
            rec(Section.ECOMA, direction=UP, source_filed=False),
            R,
            False,
            Code.NOT_FILED_BY_SUPPLIER,
        ),
        id="unfiled-upward-eco-amendment-cannot-be-acted-on",
    ),
    pytest.param(
        Case(rec(Section.B2BA, source_filed=False), A, True),
        id="unfiled-amendment-of-unknown-direction-can-be-acted-on",
    ),
    pytest.param(
        Case(rec(Section.B2B, source_filed=False), A, True),
        id="saved-but-unfiled-original-invoice-can-be-acted-on",
    ),
    # --- per-record portal flags --------------------------------------------------------------
    pytest.param(
        Case(rec(Section.B2B, pending_blocked=True), P, False, Code.PORTAL_BLOCKED),
        id="portal-pending-block-refuses-pending",
    ),
    pytest.param(
        Case(rec(Section.B2BCN, SEP25, pending_blocked=False), P, True),
        id="portal-pending-flag-n-allows-what-derived-rules-refuse",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25, pending_blocked=False),
            P,
            False,
            Code.PENDING_WINDOW_CLOSED,
            context=ctx(date(2025, 12, 22)),
        ),
        id="portal-pending-flag-n-does-not-reopen-a-window-closed-by-date",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25, pending_blocked=True),
            P,
            False,
            Code.PORTAL_BLOCKED,
        ),
        id="portal-pending-flag-y-wins-inside-the-window",
    ),
    # --- credit-note amendments (GSTN's Oct 2025 list; ims-facts §6) ----------------------------
    pytest.param(
        Case(rec(Section.B2BCNA, SEP25, direction=UP), P, False, Code.PENDING_NOT_ALLOWED),
        id="upward-cn-amendment-before-oct-2025-cannot-be-pending",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCNA, direction=DOWN, original_status=Status.REJECTED),
            P,
            False,
            Code.PENDING_WINDOW_CLOSED,
            context=AFTER_CN_WINDOW,
        ),
        id="downward-amendment-of-rejected-cn-follows-the-cn-window",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCNA, direction=DOWN, original_status=Status.ACCEPTED),
            P,
            True,
            context=AFTER_CN_WINDOW,
        ),
        id="downward-amendment-of-accepted-cn-is-not-on-the-list-so-may-stay-pending",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, status=Status.ACCEPTED, pending_blocked=False),
            P,
            False,
            Code.LOCKED_3B_FILED,
            context=ctx(filed=True),
        ),
        id="portal-pending-flag-n-does-not-unlock-a-filed-period",
    ),
    # --- lock once GSTR-3B is filed -----------------------------------------------------------
    pytest.param(
        Case(
            rec(Section.B2B, status=Status.ACCEPTED),
            R,
            False,
            Code.LOCKED_3B_FILED,
            "after-3b-filed",
            context=ctx(filed=True),
        ),
        id="accepted-record-is-locked-after-3b-filed",
    ),
    pytest.param(
        Case(
            rec(Section.B2B, status=Status.REJECTED),
            A,
            False,
            Code.LOCKED_3B_FILED,
            "wrongly-rejected-after-3b",
            context=ctx(filed=True),
        ),
        id="rejected-record-is-locked-after-3b-filed",
    ),
    pytest.param(
        Case(rec(Section.B2B), P, False, Code.LOCKED_3B_FILED, context=ctx(filed=True)),
        id="no-action-record-is-locked-after-3b-filed",
    ),
    pytest.param(
        Case(rec(Section.B2B, status=Status.PENDING), A, True, context=ctx(filed=True)),
        id="pending-record-carries-forward-and-stays-actionable-after-3b",
    ),
    # --- acting with the current status is a no-op, never refused -----------------------------
    pytest.param(
        Case(rec(Section.B2B, status=Status.ACCEPTED), A, True),
        id="accepting-an-accepted-record-is-allowed",
    ),
    pytest.param(
        Case(rec(Section.B2B, status=Status.PENDING, pending_blocked=True), P, True),
        id="keeping-a-pending-record-pending-is-allowed-even-when-now-blocked",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, OCT25, Status.PENDING),
            P,
            False,
            Code.PENDING_WINDOW_CLOSED,
            context=ctx(date(2025, 12, 21)),
        ),
        id="re-pending-after-the-window-is-refused-as-it-is-deemed-accepted",
    ),
    # --- remarks (from Oct 2025) --------------------------------------------------------------
    pytest.param(
        Case(rec(Section.B2B), R, True, remarks="Not our order"),
        id="remarks-allowed-on-reject-from-oct-2025",
    ),
    pytest.param(
        Case(rec(Section.B2BCN), P, True, remarks="Checking the quantity"),
        id="remarks-allowed-on-pending-from-oct-2025",
    ),
    pytest.param(
        Case(rec(Section.B2BCN), A, False, Code.REMARKS_NOT_ALLOWED, "remarks", remarks="ok"),
        id="remarks-refused-on-accept-without-the-portal-flag",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, remarks_blocked=False),
            A,
            True,
            remarks="Partly reversed already",
            reduction=partial("0", "100", "100", "0"),
        ),
        id="remarks-allowed-on-accept-when-portal-flag-is-n",
    ),
    pytest.param(
        Case(rec(Section.B2B, remarks_blocked=True), R, False, Code.PORTAL_BLOCKED, remarks="x"),
        id="remarks-refused-when-portal-flag-is-y",
    ),
    pytest.param(
        Case(rec(Section.B2B, SEP25), R, False, Code.REMARKS_NOT_ALLOWED, remarks="Not ours"),
        id="remarks-refused-before-oct-2025",
    ),
    pytest.param(
        Case(rec(Section.B2B), R, False, Code.REMARKS_TOO_LONG, remarks="x" * (MAX_REMARKS + 1)),
        id="remarks-longer-than-250-characters-refused",
    ),
    pytest.param(
        Case(rec(Section.B2B), R, True, remarks="x" * MAX_REMARKS),
        id="remarks-of-exactly-250-characters-allowed",
    ),
    pytest.param(
        Case(rec(Section.B2B, SEP25), A, True, remarks="   "),
        id="blank-remarks-count-as-none",
    ),
    # --- declared ITC reduction (from Oct 2025) -----------------------------------------------
    pytest.param(
        Case(rec(Section.B2BCN), A, True, reduction=Reduction(ReductionKind.FULL)),
        id="credit-note-accept-with-full-reduction",
    ),
    pytest.param(
        Case(rec(Section.B2BCN), A, True, reduction=partial("0", "450", "450", "0")),
        id="credit-note-accept-with-partial-reduction",
    ),
    pytest.param(
        Case(rec(Section.B2BCN), A, True, reduction=Reduction(ReductionKind.NIL)),
        id="credit-note-accept-with-nil-reduction",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN),
            A,
            False,
            Code.REDUCTION_EXCEEDS_TAX,
            "itc-reduction-declaration",
            reduction=partial("0", "901", "450", "0"),
        ),
        id="partial-reduction-above-a-heads-tax-refused",
    ),
    pytest.param(
        Case(rec(Section.B2BCN), A, False, Code.REDUCTION_INVALID, reduction=partial(*"0000")),
        id="partial-reduction-of-all-zeros-refused-use-nil",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN),
            A,
            False,
            Code.REDUCTION_INVALID,
            reduction=Reduction(ReductionKind.PARTIAL),
        ),
        id="partial-reduction-without-amounts-refused",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, SEP25),
            A,
            False,
            Code.REDUCTION_NOT_ALLOWED,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="reduction-declaration-refused-before-oct-2025",
    ),
    pytest.param(
        Case(rec(Section.B2B), A, False, Code.REDUCTION_NOT_ALLOWED, reduction=partial(*"0110")),
        id="reduction-declaration-refused-on-an-invoice",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN),
            R,
            False,
            Code.REDUCTION_NOT_ALLOWED,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="reduction-declared-only-when-accepting",
    ),
    pytest.param(
        Case(downward(Section.B2BA, OCT25), A, True, reduction=Reduction(ReductionKind.NIL)),
        id="downward-invoice-amendment-reduction-declaration-allowed",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCNA, direction=UP),
            A,
            True,
            reduction=partial("0", "1", "1", "0"),
        ),
        id="upward-cn-amendment-reduction-declaration-allowed",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCNA, direction=DOWN, original_status=Status.REJECTED),
            A,
            False,
            Code.REDUCTION_NOT_ALLOWED,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="downward-cn-amendment-has-no-reduction-declaration",
    ),
    pytest.param(
        Case(
            rec(Section.IMPGA, boe_gstin_amended=True),
            A,
            True,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="bill-of-entry-reduction-only-where-its-gstin-was-amended",
    ),
    pytest.param(
        Case(
            rec(Section.IMPGA),
            A,
            False,
            Code.REDUCTION_NOT_ALLOWED,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="bill-of-entry-without-gstin-amendment-has-no-reduction",
    ),
    pytest.param(
        Case(
            rec(Section.B2BCN, itc_reduction_blocked=True),
            A,
            False,
            Code.PORTAL_BLOCKED,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="portal-itc-reduction-block-refuses-declaration",
    ),
    pytest.param(
        Case(
            rec(Section.IMPG, itc_reduction_blocked=False),
            A,
            True,
            reduction=Reduction(ReductionKind.NIL),
        ),
        id="portal-itc-reduction-flag-n-allows-declaration",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_check_action(case: Case) -> None:
    verdict = check_action(
        case.record,
        case.context,
        case.action,
        remarks=case.remarks,
        reduction=case.reduction,
    )
    assert verdict.allowed is case.allowed, verdict.reason
    if case.allowed and case.code is not None:  # allowed with a warning
        assert verdict.code == case.code and verdict.warning and verdict.faq_id == case.faq_id
        return
    if case.allowed:
        assert verdict == Verdict.ALLOW
        return
    assert verdict.code == case.code
    if case.faq_id is not None:
        assert verdict.faq_id == case.faq_id
    assert verdict.reason and verdict.faq_id, "a refusal explains itself and points to an FAQ"


def test_every_action_code_is_covered_by_a_case() -> None:
    covered = {p.values[0].code for p in CASES}
    action_codes = set(Code) - {Code.IMS2B009, Code.IMS2B007, Code.PERIOD_NOT_ENDED}
    assert action_codes <= covered


def test_credit_note_refusal_is_in_plain_words() -> None:
    verdict = check_action(rec(Section.B2BCN, SEP25), ctx(), Action.PENDING)
    assert "supplier has already reduced their tax" in verdict.reason


def test_action_verdicts_give_one_verdict_per_action_in_order() -> None:
    verdicts = action_verdicts(rec(Section.IMPG), ctx())
    assert list(verdicts) == [Action.ACCEPT, Action.REJECT, Action.PENDING]
    assert [v.allowed for v in verdicts.values()] == [True, False, True]


@pytest.mark.parametrize(
    "record, expected",
    [
        pytest.param(rec(Section.B2B), PendingPolicy.UNTIL_16_4, id="invoice-until-16-4"),
        pytest.param(rec(Section.IMPG), PendingPolicy.YES, id="import-yes"),
        pytest.param(rec(Section.B2BCN, SEP25), PendingPolicy.NO, id="old-credit-note-no"),
        pytest.param(rec(Section.B2BCN), PendingPolicy.ONE_PERIOD, id="credit-note-one-period"),
        pytest.param(
            rec(Section.B2BA, direction=DOWN, original_status=Status.ACCEPTED),
            PendingPolicy.UNTIL_16_4,
            id="downward-amendment-of-unfiled-original-as-invoice",
        ),
        pytest.param(
            rec(Section.B2BDNA, SEP25, direction=DOWN, original_3b_filed=True),
            PendingPolicy.NO,
            id="downward-amendment-of-filed-original-of-unknown-status-as-accepted",
        ),
    ],
)
def test_pending_policy(record: RecordFacts, expected: PendingPolicy) -> None:
    assert pending_policy(record) == expected


@pytest.mark.parametrize(
    "period, version",
    [
        pytest.param(Period(2025, 9), "pre-2025-10", id="sep-2025-earlier-rules"),
        pytest.param(Period(2025, 10), "2025-10", id="oct-2025-new-rules"),
    ],
)
def test_rule_version(period: Period, version: str) -> None:
    assert rule_version(period) == version


@pytest.mark.parametrize(
    "record, context, expected",
    [
        pytest.param(rec(Section.B2BCN), ctx(), date(2025, 12, 20), id="monthly-oct-2025-cn"),
        pytest.param(
            rec(Section.B2BCN, "112025"),
            ctx(frequency=Q, state="29"),
            date(2026, 4, 22),
            id="qrmp-oct-dec-2025-cn-22nd-state",
        ),
        pytest.param(rec(Section.B2B), ctx(), None, id="invoice-has-no-one-period-window"),
        pytest.param(rec(Section.B2BCN, SEP25), ctx(), None, id="old-credit-note-has-none"),
    ],
)
def test_pending_window_end(record: RecordFacts, context: Context, expected: date | None) -> None:
    assert pending_window_end(record, context) == expected


AFTER_WINDOW = ctx(date(2025, 12, 21))


@pytest.mark.parametrize(
    "record, context, expected, deemed",
    [
        pytest.param(rec(Section.B2B), ctx(), Status.ACCEPTED, True, id="no-action-is-deemed"),
        pytest.param(
            rec(Section.B2B, status=Status.PENDING),
            AFTER_WINDOW,
            Status.PENDING,
            False,
            id="pending-invoice-stays-pending",
        ),
        pytest.param(
            rec(Section.B2BCN, status=Status.PENDING),
            ctx(date(2025, 12, 20)),
            Status.PENDING,
            False,
            id="pending-credit-note-within-window-stays-pending",
        ),
        pytest.param(
            rec(Section.B2BCN, status=Status.PENDING),
            AFTER_WINDOW,
            Status.ACCEPTED,
            True,
            id="pending-credit-note-past-window-is-deemed-accepted",
        ),
        pytest.param(
            rec(Section.B2BCN, status=Status.PENDING, pending_blocked=False),
            AFTER_WINDOW,
            Status.ACCEPTED,
            True,
            id="portal-flag-n-does-not-keep-a-credit-note-pending-past-its-window",
        ),
        pytest.param(
            rec(Section.B2BCN, status=Status.REJECTED),
            AFTER_WINDOW,
            Status.REJECTED,
            False,
            id="rejected-stays-rejected",
        ),
        pytest.param(
            rec(Section.B2B, status=Status.ACCEPTED),
            ctx(),
            Status.ACCEPTED,
            False,
            id="accepted-is-not-deemed",
        ),
    ],
)
def test_effective_status(
    record: RecordFacts, context: Context, expected: Status, deemed: bool
) -> None:
    assert effective_status(record, context) is expected
    assert is_deemed_accepted(record, context) is deemed


@pytest.mark.parametrize(
    "record, expected",
    [
        pytest.param(rec(Section.B2BCN), True, id="credit-note"),
        pytest.param(rec(Section.B2BCN, SEP25), False, id="credit-note-before-oct-2025"),
        pytest.param(rec(Section.B2BCNA, direction=UP), True, id="upward-cn-amendment"),
        pytest.param(rec(Section.B2BCNA, direction=DOWN), False, id="downward-cn-amendment"),
        pytest.param(downward(Section.B2BDNA, OCT25), True, id="downward-dn-amendment"),
        # §2: the ECO row has no declaration column (nor does the providers' save schema).
        pytest.param(downward(Section.ECOMA, OCT25), False, id="downward-eco-amendment"),
        pytest.param(rec(Section.B2BA, direction=UP), False, id="upward-invoice-amendment"),
        pytest.param(rec(Section.B2B), False, id="invoice"),
        pytest.param(rec(Section.IMPGSEZA, boe_gstin_amended=True), True, id="boe-gstin-amended"),
        pytest.param(rec(Section.B2BCN, itc_reduction_blocked=True), False, id="portal-blocked"),
    ],
)
def test_reduction_applicable(record: RecordFacts, expected: bool) -> None:
    assert reduction_applicable(record) is expected


@pytest.mark.parametrize(
    "period, frequency, filed, today, code",
    [
        pytest.param(
            Period(2025, 10), M, False, date(2025, 11, 13), "IMS2B009", id="monthly-before-draft"
        ),
        pytest.param(Period(2025, 10), M, False, date(2025, 11, 14), None, id="monthly-on-14th"),
        pytest.param(
            Period(2025, 10), M, True, date(2025, 11, 25), "IMS2B007", id="monthly-3b-filed"
        ),
        pytest.param(
            Period(2025, 10),
            Q,
            False,
            date(2025, 11, 14),
            "IMS2B009",
            id="qrmp-mid-quarter-waits-for-the-quarterly-draft",
        ),
        pytest.param(Period(2025, 12), Q, False, date(2026, 1, 14), None, id="qrmp-after-draft"),
        pytest.param(Period(2025, 12), Q, True, date(2026, 1, 30), "IMS2B007", id="qrmp-filed"),
        pytest.param(Period(2024, 9), M, False, date(2024, 10, 20), "NOT_IN_IMS", id="before-ims"),
    ],
)
def test_recompute_verdict(
    period: Period, frequency: Frequency, filed: bool, today: date, code: str | None
) -> None:
    verdict = recompute_verdict(period, frequency, filed, today)
    assert verdict.allowed is (code is None)
    assert verdict.code == code
    if code:
        assert verdict.reason and verdict.faq_id


@pytest.mark.parametrize(
    "record, context, code",
    [
        pytest.param(rec(Section.B2B, status=Status.REJECTED), ctx(), None, id="before-3b"),
        pytest.param(
            rec(Section.B2B, status=Status.ACCEPTED),
            ctx(filed=True),
            "LOCKED_3B_FILED",
            id="after-3b-filed",
        ),
        pytest.param(
            rec(Section.B2B, status=Status.PENDING),
            ctx(filed=True),
            "LOCKED_3B_FILED",
            id="pending-record-after-3b-filed",
        ),
        pytest.param(
            rec(Section.B2B, "082024", Status.ACCEPTED), ctx(), "NOT_IN_IMS", id="not-in-ims"
        ),
    ],
)
def test_undo_verdict(record: RecordFacts, context: Context, code: str | None) -> None:
    verdict = undo_verdict(record, context)
    assert verdict.allowed is (code is None)
    assert verdict.code == code


@pytest.mark.parametrize(
    ("period", "frequency", "today", "code"),
    [
        (Period(2025, 11), Frequency.MONTHLY, date(2025, 12, 1), None),
        (Period(2025, 12), Frequency.MONTHLY, date(2025, 12, 16), "PERIOD_NOT_ENDED"),
        (Period(2025, 11), Frequency.QUARTERLY, date(2025, 12, 16), "PERIOD_NOT_ENDED"),
        (Period(2025, 11), Frequency.QUARTERLY, date(2026, 1, 1), None),
        (Period(2024, 9), Frequency.MONTHLY, date(2025, 12, 16), "NOT_IN_IMS"),
    ],
    ids=["ended-month", "running-month", "running-quarter", "ended-quarter", "before-ims"],
)
def test_gstr3b_can_be_recorded_as_filed_only_for_an_ended_period_in_ims(
    period, frequency, today, code
):
    verdict = rules.filing_verdict(period, frequency, today)
    assert verdict.allowed is (code is None)
    assert verdict.code == code


def test_time_barred_accept_warns_in_plain_words() -> None:
    record = rec(Section.B2B, "102024", document_date=date(2024, 3, 10))
    verdict = check_action(record, ctx(date(2024, 12, 1)), A)
    assert verdict.allowed
    assert "brings no ITC" in verdict.warning
    assert "Section 16(4)" in verdict.warning and "FY 2023-24" in verdict.warning
    assert "Oct 2024" in verdict.warning and "30 Nov 2024" in verdict.warning


def test_time_limit_is_the_due_date_of_the_last_return_that_can_carry_the_itc() -> None:
    record = rec(Section.B2B, SEP25, document_date=date(2025, 3, 10))
    assert rules.pending_time_limit(record, ctx()) == date(2025, 11, 20)
    assert rules.pending_time_limit(record, ctx(frequency=Q, state="29")) == date(2025, 10, 22)
    assert rules.pending_time_limit(rec(Section.B2BCN), ctx()) is None


def test_cn_amendment_refusal_says_the_rule_is_a_reading() -> None:
    record = rec(Section.B2BCNA, direction=DOWN, original_status=Status.REJECTED)
    verdict = check_action(record, AFTER_CN_WINDOW, P)
    assert "reading" in verdict.reason


ORIGINAL = Tax(Decimal("18000.00"), Decimal(0), Decimal(0), Decimal(0))
HALF = Tax(Decimal("9000.00"), Decimal(0), Decimal(0), Decimal(0))


@pytest.mark.parametrize(
    "original_status, original_tax, basis, change",
    [
        pytest.param(Status.ACCEPTED, ORIGINAL, rules.Basis.NET, Tax() - HALF, id="accepted"),
        pytest.param(Status.NO_ACTION, ORIGINAL, rules.Basis.NET, Tax() - HALF, id="deemed"),
        pytest.param(Status.REJECTED, ORIGINAL, rules.Basis.FULL, HALF, id="rejected-in-full"),
        pytest.param(Status.PENDING, ORIGINAL, rules.Basis.FULL, HALF, id="pending-in-full"),
        pytest.param(None, None, rules.Basis.UNKNOWN, HALF, id="original-not-in-data"),
    ],
)
def test_amendments_count_by_their_change(
    original_status: Status | None, original_tax: Tax | None, basis: rules.Basis, change: Tax
) -> None:
    record = rec(
        Section.B2BA, tax=HALF, direction=DOWN, original_status=original_status,
        original_tax=original_tax, original_3b_filed=True,
    )
    assert rules.amendment_basis(record) is basis
    assert rules.itc_change(record) == change


def test_declared_reduction_on_a_downward_amendment_is_capped_by_the_cut() -> None:
    amended = Tax(Decimal("12000.00"), Decimal(0), Decimal(0), Decimal(0))
    record = downward(Section.B2BA, OCT25, tax=amended, original_tax=ORIGINAL)
    over = check_action(record, ctx(), A, reduction=partial("6000.01", "0", "0", "0"))
    assert not over.allowed and over.code == Code.REDUCTION_EXCEEDS_TAX
    assert "change the amendment made" in over.reason
    assert check_action(record, ctx(), A, reduction=partial("6000", "0", "0", "0")).allowed
