"""THE IMS rules: what a recipient may do to a record, and what GSTR-2B makes of it.

Pure (no I/O, no database). Every channel — bot, CLI, recompute, reminders — asks this
module; nothing else decides a rule. Source of every rule: /work/shared/domain/ims-facts.md
(§ numbers below) and GSTN's Additional FAQ on IMS (the seed, "FAQ n").

Rule versions go by the record's GSTR-2B period: before Oct 2025 ("pre-2025-10") and
from Oct 2025 ("2025-10", GSTN FAQ 17 Oct 2025 / Advisory 624).

Order of checks for an action (first refusal wins):
1. not in IMS (GSTR-2B period before Oct 2024; imports before Oct 2025);
2. locked because GSTR-3B of the period is filed (accepted/rejected/no-action records);
3. upward amendment only saved by the supplier (FAQ 8);
4. the action itself (reject of imports; pending policy, window, s.16(4), portal flag) —
   an action equal to the record's effective status is always allowed (a no-op);
5. remarks, then the declared ITC reduction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import ClassVar

from ims_bot import deadlines
from ims_bot.domain import (
    IMS_FIRST_PERIOD,
    OCT_2025,
    TAX_HEADS,
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
from ims_bot.money import rupees

MAX_REMARKS = 250

RULES_PRE_2025_10 = "pre-2025-10"
RULES_2025_10 = "2025-10"

_INVOICE_AMENDMENTS = frozenset({Section.B2BA, Section.B2BDNA, Section.ECOMA})


class PendingPolicy(StrEnum):
    """How long a record may be kept pending (§2 table, "Pending" columns)."""

    YES = "yes"  # carries forward with no limit (imports)
    UNTIL_16_4 = "until_16_4"  # invoices/DNs: while their ITC can still be claimed (s.16(4))
    ONE_PERIOD = "one_period"  # until the 3B due date of the next tax period (from Oct 2025)
    NO = "no"  # never (credit notes and downward amendments before Oct 2025)


class Code(StrEnum):
    """Machine codes of refusals (portal error codes where one exists)."""

    NOT_IN_IMS = "NOT_IN_IMS"
    LOCKED_3B_FILED = "LOCKED_3B_FILED"
    NOT_FILED_BY_SUPPLIER = "NOT_FILED_BY_SUPPLIER"
    REJECT_NOT_ALLOWED = "REJECT_NOT_ALLOWED"
    PENDING_NOT_ALLOWED = "PENDING_NOT_ALLOWED"
    PENDING_WINDOW_CLOSED = "PENDING_WINDOW_CLOSED"
    ITC_TIME_LIMIT_PASSED = "ITC_TIME_LIMIT_PASSED"
    PORTAL_BLOCKED = "PORTAL_BLOCKED"
    REMARKS_NOT_ALLOWED = "REMARKS_NOT_ALLOWED"
    REMARKS_TOO_LONG = "REMARKS_TOO_LONG"
    REDUCTION_NOT_ALLOWED = "REDUCTION_NOT_ALLOWED"
    REDUCTION_INVALID = "REDUCTION_INVALID"
    REDUCTION_EXCEEDS_TAX = "REDUCTION_EXCEEDS_TAX"
    IMS2B009 = "IMS2B009"  # recompute: draft GSTR-2B not yet generated
    IMS2B007 = "IMS2B007"  # recompute: GSTR-3B already filed
    PERIOD_NOT_ENDED = "PERIOD_NOT_ENDED"  # GSTR-3B of a period still running


@dataclass(frozen=True)
class RecordFacts:
    section: Section
    period: Period  # the record's GSTR-2B period (not the document date)
    status: Status  # current status
    tax: Tax  # the record's tax per head
    document_date: date | None = None
    source_filed: bool = True  # srcfilstatus == "Filed"
    direction: Direction | None = None  # amendments: upward/downward when known
    original_status: Status | None = None  # amendments: status of the original record
    original_3b_filed: bool = False  # amendments: GSTR-3B of the original's period filed
    original_tax: Tax | None = None  # amendments: the original's tax (None: not in the data)
    itc_period: Period | None = None  # where its ITC lands (pending carried forward); None: period
    pending_blocked: bool | None = None  # portal flag ispendactblocked (None = not given)
    itc_reduction_blocked: bool | None = None  # portal flag isItcRedReqBlocked
    remarks_blocked: bool | None = None  # portal flag isRemarksBlocked
    boe_gstin_amended: bool = False  # import amendments: the BoE's GSTIN was amended


@dataclass(frozen=True)
class Context:
    frequency: Frequency
    state_code: str  # recipient's state code (due-date group)
    gstr3b_filed: bool  # GSTR-3B of the record's return period is filed
    today: date
    filed_returns: frozenset[int] = frozenset()  # return-period keys whose GSTR-3B is filed
    #: Annual returns recorded as filed: financial year's start year → filing date (s.16(4)).
    annual_returns: Mapping[int, date] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # for refusals: one or two sentences a taxpayer understands
    faq_id: str | None = None  # FAQ topic id (faq-topics.md) that explains it
    code: str | None = None  # machine code (Code)
    warning: str = ""  # allowed, but the user must know this first (e.g. ITC time-barred)

    ALLOW: ClassVar[Verdict]


Verdict.ALLOW = Verdict(True)


def _refuse(code: Code, reason: str, faq_id: str | None) -> Verdict:
    return Verdict(False, reason, faq_id, code.value)


def _name(section: Section) -> str:
    """The section's label inside a sentence: `credit note`, `Bill of Entry (import)`."""
    label = section.label
    return label.replace("Amended ", "amended ") if section.is_import else label.lower()


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


# ---------------------------------------------------------------------------- classification


def rule_version(period: Period) -> str:
    return RULES_2025_10 if period >= OCT_2025 else RULES_PRE_2025_10


def _from_oct_2025(record: RecordFacts) -> bool:
    return record.period >= OCT_2025


def in_ims(record: RecordFacts) -> bool:
    """IMS covers GSTR-2B periods from Oct 2024 (FAQ 1); imports from Oct 2025 (§2)."""
    first = OCT_2025 if record.section.is_import else IMS_FIRST_PERIOD
    return record.period >= first


def _original_accepted_and_filed(record: RecordFacts) -> bool:
    """The original's ITC was taken: accepted (or deemed: no action) and its 3B filed.

    An unknown original status with 3B filed counts as accepted: a rejected or pending
    original is the exception and the store knows it when it is so.
    """
    return record.original_3b_filed and record.original_status not in (
        Status.REJECTED,
        Status.PENDING,
    )


def is_downward_amendment_of_taken_itc(record: RecordFacts) -> bool:
    """§2 row "Invoice/DN amendment, downward, original accepted and 3B filed" (and ECO)."""
    return (
        record.section in _INVOICE_AMENDMENTS
        and record.direction is Direction.DOWNWARD
        and _original_accepted_and_filed(record)
    )


def is_downward_amendment_of_taken_credit_note(record: RecordFacts) -> bool:
    """A CN amendment lowering a credit note that was accepted (or deemed): §6, a reading."""
    return (
        record.section is Section.B2BCNA
        and record.direction is Direction.DOWNWARD
        and record.original_status is not None
        and record.original_status not in (Status.REJECTED, Status.PENDING)
    )


def is_unfiled_upward_amendment(record: RecordFacts) -> bool:
    """FAQ 8: an upward amended invoice/DN only saved by the supplier cannot be acted on.

    Only an explicitly UPWARD direction blocks: an unknown direction must not lock a record.
    """
    return (
        record.section in _INVOICE_AMENDMENTS
        and record.direction is Direction.UPWARD
        and not record.source_filed
    )


def pending_policy(record: RecordFacts) -> PendingPolicy:
    """The §2 table's pending column for this record, before per-record portal flags.

    An unknown amendment direction is read as the table's ordinary row (upward).
    """
    section = record.section
    if section.is_import:
        # §2: Bills of Entry may be kept pending (they are in IMS only from Oct 2025).
        return PendingPolicy.YES if _from_oct_2025(record) else PendingPolicy.NO
    # Credit notes, upward CN amendments and downward amendments of a rejected CN (GSTN's
    # Oct 2025 list): the supplier already cut their tax, so no pending before Oct 2025
    # (FAQ 10), one tax period from then. A downward amendment of a CN whose reduction was
    # taken is not on that list (ims-facts §6): it gives ITC back, like an invoice, and
    # stays pending with no limit of its own.
    if is_downward_amendment_of_taken_credit_note(record):
        return PendingPolicy.YES
    if section.is_credit_note or is_downward_amendment_of_taken_itc(record):
        return PendingPolicy.ONE_PERIOD if _from_oct_2025(record) else PendingPolicy.NO
    # Invoices, debit notes, ECO documents and their other amendments: pending up to
    # the s.16(4) limit (§2 table row 1; faq pending-invoice).
    return PendingPolicy.UNTIL_16_4


def pending_window_end(record: RecordFacts, ctx: Context) -> date | None:
    """End of the one-tax-period window (§2 "More rules"); None if the record has none."""
    if pending_policy(record) is not PendingPolicy.ONE_PERIOD:
        return None
    return deadlines.pending_window_end(record.period, ctx.frequency, ctx.state_code)


def itc_fy(record: RecordFacts) -> int | None:
    """The financial year (its start year) whose s.16(4) limit binds the record's ITC, for
    records that bring ITC and may wait for it (invoices, debit notes, ECO documents and
    their upward amendments); None for the others or when the document date is unknown."""
    if pending_policy(record) is not PendingPolicy.UNTIL_16_4 or record.document_date is None:
        return None
    return deadlines.financial_year_start(record.document_date)


def itc_time_barred(record: RecordFacts, ctx: Context) -> bool:
    """s.16(4) (§3): the record's ITC can no longer be taken. Its year's ITC had to be claimed
    in a GSTR-3B filed by 30 Nov of the next year (or by the annual return, if earlier); the
    last return that can carry it (Oct, or Jul–Sep for QRMP) is filed, or the date passed,
    or the record's ITC lands in a later return than that one."""
    fy = itc_fy(record)
    if fy is None:
        return False
    last = deadlines.itc_last_return(fy, ctx.frequency)
    lands_in = deadlines.return_period(record.itc_period or record.period, ctx.frequency)
    return (
        lands_in > last
        or last.key in ctx.filed_returns
        or ctx.today > deadlines.itc_claim_limit(fy, ctx.annual_returns.get(fy))
    )


def pending_time_limit(record: RecordFacts, ctx: Context) -> date | None:
    """The due date of the last GSTR-3B that can carry the record's ITC (s.16(4)): after that
    return is filed, keeping the record pending can no longer save its ITC."""
    fy = itc_fy(record)
    if fy is None:
        return None
    last = deadlines.itc_last_return(fy, ctx.frequency)
    return deadlines.gstr3b_due_date(last, ctx.frequency, ctx.state_code)


def time_barred_text(record: RecordFacts, ctx: Context) -> str:
    """Why the record's ITC is time-barred, in plain words."""
    fy = itc_fy(record)
    if fy is None:
        return ""
    year = f"FY {fy}-{(fy + 1) % 100:02d}"
    last = deadlines.period_label(deadlines.itc_last_return(fy, ctx.frequency), ctx.frequency)
    annual = ctx.annual_returns.get(fy)
    limit = deadlines.itc_claim_limit(fy, annual)
    by = f"{limit:%d %b %Y}" + (" (your annual return for the year)" if limit == annual else "")
    return (
        f"Its ITC is time-barred under Section 16(4): ITC of {year} had to be claimed in a "
        f"GSTR-3B filed by {by}, normally the {last} return."
    )


def _window_closed(record: RecordFacts, ctx: Context) -> bool:
    end = pending_window_end(record, ctx)
    # A flag describes the day of its download: an N does not reopen a window that has
    # since closed by date (§2 "Per-record portal flags").
    return end is not None and ctx.today > end


def effective_status(record: RecordFacts, ctx: Context) -> Status:
    """What GSTR-2B treats the record as.

    No action = accepted (FAQ 4); a one-period record still pending after its window is
    deemed accepted (§2 "More rules").
    """
    if record.status is Status.NO_ACTION:
        return Status.ACCEPTED
    if record.status is Status.PENDING and _window_closed(record, ctx):
        return Status.ACCEPTED
    return record.status


def is_deemed_accepted(record: RecordFacts, ctx: Context) -> bool:
    deemed = effective_status(record, ctx) is Status.ACCEPTED
    return deemed and record.status is not Status.ACCEPTED


# ------------------------------------------------------------------------------------ actions


def _presence_verdict(record: RecordFacts, ctx: Context) -> Verdict:
    """Checks that apply to every action (and undo): in IMS, and not locked by GSTR-3B."""
    if not in_ims(record):
        if record.section.is_import:
            return _refuse(
                Code.NOT_IN_IMS,
                "Bills of Entry come to IMS only from the Oct 2025 GSTR-2B period. "
                f"This one ({record.period.label}) goes straight to GSTR-2B.",
                "import-of-goods",
            )
        return _refuse(
            Code.NOT_IN_IMS,
            f"Records of GSTR-2B {record.period.label} are not in IMS: IMS covers GSTR-2B "
            "periods from Oct 2024 only.",
            "additional-faq-1",
        )
    # Filing 3B removes the period's accepted and rejected records from IMS; no-action
    # records were counted as accepted in it. Pending ones carry forward (§1).
    if ctx.gstr3b_filed and record.status is not Status.PENDING:
        if record.status is Status.REJECTED:
            return _refuse(
                Code.LOCKED_3B_FILED,
                "GSTR-3B for this period is filed, so this rejection can no longer be changed "
                "in IMS. If you rejected it by mistake, ask your supplier to report it again; "
                "then accept it.",
                "wrongly-rejected-after-3b",
            )
        return _refuse(
            Code.LOCKED_3B_FILED,
            "GSTR-3B for this period is filed, so this record has left IMS and can no longer "
            "be changed.",
            "after-3b-filed",
        )
    return Verdict.ALLOW


def _pending_verdict(record: RecordFacts, ctx: Context) -> Verdict:
    label = _name(record.section)
    other_actions = (
        "Accept it." if record.section.is_import else "Accept it, or reject it if it is not yours."
    )
    if record.pending_blocked is True:
        return _refuse(
            Code.PORTAL_BLOCKED,
            f"The GST portal does not allow keeping this {label} pending. {other_actions}",
            "actions-available",
        )
    policy = pending_policy(record)
    # An N flag is the portal's word on the kind of record (it may be kept pending), not on
    # dates: it overrides the table, but a window that closed since still counts.
    if policy is PendingPolicy.NO and record.pending_blocked is not False:
        if record.section is Section.B2BCNA:
            return _refuse(
                Code.PENDING_NOT_ALLOWED,
                f"{_article(label).capitalize()} {label} of a GSTR-2B period before Oct 2025 "
                "cannot be kept pending. " + _CNA_READING + " Accept it, or reject it if it "
                "is not yours.",
                "pending-credit-note",
            )
        if record.section.is_credit_note:
            return _refuse(
                Code.PENDING_NOT_ALLOWED,
                f"{_article(label).capitalize()} {label} of a GSTR-2B period before Oct 2025 "
                "cannot be kept pending: your supplier has already reduced their tax for it. "
                "Accept it, or reject it if it is not yours.",
                "additional-faq-10",
            )
        if record.section.is_import:
            return _refuse(
                Code.PENDING_NOT_ALLOWED,
                "Bills of Entry can be kept pending only from the Oct 2025 GSTR-2B period.",
                "import-of-goods",
            )
        return _refuse(
            Code.PENDING_NOT_ALLOWED,
            "This amendment lowers the tax on a document whose ITC you already took in "
            "GSTR-3B. Before the Oct 2025 GSTR-2B period such an amendment cannot be kept "
            "pending. Accept it, or reject it if it is wrong.",
            "pending-credit-note",
        )
    end = pending_window_end(record, ctx)
    if end is not None and ctx.today > end:
        reading = f" {_CNA_READING}" if record.section is Section.B2BCNA else ""
        return _refuse(
            Code.PENDING_WINDOW_CLOSED,
            f"This {label} could be kept pending only until {end:%d %b %Y}. It now "
            "counts as accepted; you can still accept it, or reject it if it is not yours."
            + reading,
            "pending-credit-note",
        )
    if itc_time_barred(record, ctx):
        return _refuse(
            Code.ITC_TIME_LIMIT_PASSED,
            f"This {label} can no longer be kept pending: keeping it cannot save its ITC. "
            f"{time_barred_text(record, ctx)} Accept or reject it.",
            "itc-time-limit",
        )
    return Verdict.ALLOW


#: ims-facts §6: which CN amendments follow the credit-note pending rule is a reading.
_CNA_READING = (
    "(GSTN's Oct 2025 list names upward credit-note amendments and downward amendments of "
    "a rejected credit note; IMS Bot applies the credit-note rule to those. This is a "
    "reading of that list, not a rule GSTN states for every amendment.)"
)


def check_action(
    record: RecordFacts,
    ctx: Context,
    action: Action,
    *,
    remarks: str | None = None,
    reduction: Reduction | None = None,
) -> Verdict:
    """May the recipient take `action` (with these remarks / this declared reduction)?"""
    verdict = _presence_verdict(record, ctx)
    if not verdict.allowed:
        return verdict
    if is_unfiled_upward_amendment(record):
        return _refuse(
            Code.NOT_FILED_BY_SUPPLIER,
            "Your supplier has only saved this upward amendment, not filed it. You can act on "
            "it once they file it in GSTR-1/1A/IFF.",
            "additional-faq-8",
        )
    # Repeating the record's (effective) status is a no-op for the service, never refused.
    if action.status is not effective_status(record, ctx):
        if action is Action.REJECT and record.section.is_import:
            return _refuse(
                Code.REJECT_NOT_ALLOWED,
                "A Bill of Entry cannot be rejected in IMS. Accept it, or keep it pending.",
                "import-of-goods",
            )
        if action is Action.PENDING:
            verdict = _pending_verdict(record, ctx)
            if not verdict.allowed:
                return verdict
    verdict = remarks_verdict(record, action, remarks)
    if not verdict.allowed:
        return verdict
    if reduction is not None and action is not Action.ACCEPT:
        return _refuse(
            Code.REDUCTION_NOT_ALLOWED,
            "An ITC reduction is declared only when accepting a record.",
            "itc-reduction-declaration",
        )
    verdict = reduction_verdict(record, reduction)
    if verdict.allowed and action is Action.ACCEPT and itc_time_barred(record, ctx):
        return Verdict(
            True,
            code=Code.ITC_TIME_LIMIT_PASSED.value,
            faq_id="itc-time-limit",
            warning=f"Accepting it brings no ITC. {time_barred_text(record, ctx)}",
        )
    return verdict


def action_verdicts(record: RecordFacts, ctx: Context) -> dict[Action, Verdict]:
    """One verdict per action, in the order accept, reject, pending (for buttons)."""
    return {action: check_action(record, ctx, action) for action in Action}


def undo_verdict(record: RecordFacts, ctx: Context) -> Verdict:
    """Undo (reset to the previous status) is possible only until GSTR-3B of the period is filed.

    Unlike a fresh action, a pending record is locked too: undoing would move its effect back
    into a filed period.
    """
    verdict = _presence_verdict(record, ctx)
    if not verdict.allowed:
        return verdict
    if ctx.gstr3b_filed:
        return _refuse(
            Code.LOCKED_3B_FILED,
            "GSTR-3B for this period is filed, so your last action on this record can no "
            "longer be undone. You can still accept or reject it.",
            "after-3b-filed",
        )
    return Verdict.ALLOW


# ------------------------------------------------------------------------------------ remarks


def remarks_verdict(record: RecordFacts, action: Action, remarks: str | None) -> Verdict:
    """Remarks (from Oct 2025): optional on reject and pending, at most 250 characters (§2).

    On accept they follow the portal's isRemarksBlocked flag (§6): allowed only when the
    flag is explicitly N. Blank remarks count as none.
    """
    text = (remarks or "").strip()
    if not text:
        return Verdict.ALLOW
    if record.remarks_blocked is True:
        return _refuse(
            Code.PORTAL_BLOCKED,
            "The GST portal does not allow remarks on this record. Send the action without "
            "remarks.",
            "remarks",
        )
    if record.remarks_blocked is None:
        if not _from_oct_2025(record):
            return _refuse(
                Code.REMARKS_NOT_ALLOWED,
                "Remarks can be added only to records of the Oct 2025 GSTR-2B period onwards. "
                "Send the action without remarks.",
                "remarks",
            )
        if action is Action.ACCEPT:
            return _refuse(
                Code.REMARKS_NOT_ALLOWED,
                "Remarks can be added when you reject a record or keep it pending, not when "
                "you accept it.",
                "remarks",
            )
    if len(text) > MAX_REMARKS:
        return _refuse(
            Code.REMARKS_TOO_LONG,
            f"Remarks can be at most {MAX_REMARKS} characters; yours have {len(text)}. "
            "Please shorten them.",
            "remarks",
        )
    return Verdict.ALLOW


# ------------------------------------------------------------------------ declared ITC reduction


def reduction_applicable(record: RecordFacts) -> bool:
    """Should accepting this record ask full / partial / nil ITC reduction? (§2 last column)

    From Oct 2025: credit notes, upward (or unknown-direction) CN amendments, downward
    invoice/DN amendments of an accepted+filed original, and amended Bills of Entry
    whose GSTIN was amended. The portal's isItcRedReqBlocked flag overrides.
    """
    if record.itc_reduction_blocked is not None:
        return not record.itc_reduction_blocked
    if not _from_oct_2025(record):
        return False
    section = record.section
    if section is Section.B2BCN:
        return True
    if section is Section.B2BCNA:
        # A downward CN amendment raises ITC back: nothing to reduce ("—" in §2).
        return record.direction is not Direction.DOWNWARD
    if section.is_import:
        return record.boe_gstin_amended
    # §2: downward invoice/DN amendments; the ECO row has no declaration (nor the schema).
    return section is not Section.ECOMA and is_downward_amendment_of_taken_itc(record)


def reduction_verdict(record: RecordFacts, reduction: Reduction | None) -> Verdict:
    """May this reduction be declared on accepting the record, and is it valid?

    No declaration (None) is always fine: the portal then applies the default (full).
    """
    if reduction is None:
        return Verdict.ALLOW
    if not reduction_applicable(record):
        if record.itc_reduction_blocked is True:
            return _refuse(
                Code.PORTAL_BLOCKED,
                "The GST portal does not allow declaring an ITC reduction on this record. "
                "Accept it without one.",
                "itc-reduction-declaration",
            )
        if record.section.is_import and _from_oct_2025(record):
            why = "on a Bill of Entry it can be declared only where the BoE's GSTIN was amended"
        else:
            why = (
                "it applies only to credit notes, upward credit-note amendments and downward "
                "amendments of invoices you took ITC on, from the Oct 2025 GSTR-2B period"
            )
        return _refuse(
            Code.REDUCTION_NOT_ALLOWED,
            f"An ITC reduction cannot be declared on this {_name(record.section)}: {why}. "
            "Accept it without one.",
            "itc-reduction-declaration",
        )
    if reduction.kind is not ReductionKind.PARTIAL:
        return Verdict.ALLOW
    amounts = reduction.amounts
    if amounts is None:
        return _refuse(
            Code.REDUCTION_INVALID,
            "A partial reduction needs the amounts of IGST, CGST, SGST and cess to reduce.",
            "itc-reduction-declaration",
        )
    declared = amounts.as_dict()
    if any(value < 0 for value in declared.values()):
        return _refuse(
            Code.REDUCTION_INVALID,
            "Reduction amounts must be zero or more.",
            "itc-reduction-declaration",
        )
    if all(value == 0 for value in declared.values()):
        return _refuse(
            Code.REDUCTION_INVALID,
            "A partial reduction of zero in every head is a nil reduction: choose nil instead.",
            "itc-reduction-declaration",
        )
    cap = reduction_cap(record)
    available = cap.as_dict()
    over = [head for head in TAX_HEADS if declared[head] > available[head]]
    if over:
        details = ", ".join(
            f"{head.upper()} {rupees(declared[head])} > {rupees(available[head])}"
            for head in over
        )
        what = "the record's tax" if cap == _abs(record.tax) else "the change the amendment made"
        return _refuse(
            Code.REDUCTION_EXCEEDS_TAX,
            f"A partial reduction cannot be more than {what} in any head ({details}).",
            "itc-reduction-declaration",
        )
    return Verdict.ALLOW


def _abs(tax: Tax) -> Tax:
    return Tax(*(abs(v) for v in tax.as_dict().values()))


def reduction_cap(record: RecordFacts) -> Tax:
    """The most a declared reduction may be, per head: the record's tax, or for an amendment
    netted against an original whose ITC was taken, the change it made (a downward amendment
    cuts ITC by the cut, not by its whole tax)."""
    if amendment_basis(record) is not Basis.NET or record.original_tax is None:
        return _abs(record.tax)
    return _abs(record.tax - record.original_tax)


# -------------------------------------------------------------------------------- amendments


class Basis(StrEnum):
    """How an amendment counts in GSTR-2B (§3 "Amendments count by their change")."""

    FULL = "full"  # not an amendment, or the original brought no ITC (rejected / pending)
    NET = "net"  # the original's ITC was taken: the amendment moves ITC by the difference
    UNKNOWN = "unknown"  # the original is not in the user's data: the change is unknown


def amendment_basis(record: RecordFacts) -> Basis:
    """Full, net of the original, or unknown.

    The original counts as taken when accepted or deemed accepted (no action): its ITC is in
    its own period's GSTR-2B, so counting the amendment in full would count it twice.
    """
    if not record.section.is_amendment:
        return Basis.FULL
    if record.original_tax is None or record.original_status is None:
        return Basis.UNKNOWN
    if record.original_status in (Status.REJECTED, Status.PENDING):
        return Basis.FULL
    return Basis.NET


def itc_change(record: RecordFacts) -> Tax:
    """What the record moves ITC (credit notes: the reduction) by, per head: the difference
    from the original when netted, else its own tax. Meaningless when the basis is UNKNOWN."""
    if amendment_basis(record) is Basis.NET and record.original_tax is not None:
        return record.tax - record.original_tax
    return record.tax


# ---------------------------------------------------------------------------------- recompute


def recompute_verdict(
    period: Period, frequency: Frequency, gstr3b_filed: bool, today: date
) -> Verdict:
    """May GSTR-2B of `period` be recomputed now? (§1; portal errors IMS2B009 / IMS2B007)

    For QRMP, any month of the quarter stands for the quarter's return period.
    """
    if period < IMS_FIRST_PERIOD:
        return _refuse(
            Code.NOT_IN_IMS,
            f"GSTR-2B of {period.label} was not built from IMS and cannot be recomputed: IMS "
            "covers GSTR-2B periods from Oct 2024.",
            "additional-faq-1",
        )
    label = deadlines.period_label(period, frequency)
    if gstr3b_filed:
        return _refuse(
            Code.IMS2B007,
            f"GSTR-3B for {label} is already filed, so its GSTR-2B can no longer be recomputed.",
            "recompute-2b",
        )
    draft = deadlines.draft_2b_date(period, frequency)
    if today < draft:
        return _refuse(
            Code.IMS2B009,
            f"The draft GSTR-2B for {label} is generated on {draft:%d %b %Y}; you can "
            "recompute it from then until you file GSTR-3B.",
            "recompute-2b",
        )
    return Verdict.ALLOW


def filing_verdict(period: Period, frequency: Frequency, today: date) -> Verdict:
    """May GSTR-3B of the return period holding `period` be recorded as filed today?

    Only for a tax period that has ended, and one IMS covers (from Oct 2024).
    """
    end = deadlines.return_period(period, frequency)
    label = deadlines.period_label(period, frequency)
    if end < IMS_FIRST_PERIOD:
        return _refuse(
            Code.NOT_IN_IMS,
            f"GSTR-3B for {label} is outside IMS, which covers GSTR-2B periods from Oct 2024.",
            "ims-start-date",
        )
    if today < end.next.first_day:
        return _refuse(
            Code.PERIOD_NOT_ENDED,
            f"The tax period {label} has not ended yet, so its GSTR-3B cannot have been filed.",
            "gstr3b-due-date",
        )
    return Verdict.ALLOW


def annual_return_verdict(fy_start: int, filed_on: date, today: date) -> Verdict:
    """May the annual return for the financial year starting in `fy_start` be recorded as
    filed on `filed_on`? Only after the year has ended, and not in the future."""
    label = f"FY {fy_start}-{(fy_start + 1) % 100:02d}"
    if fy_start < IMS_FIRST_PERIOD.year:
        return _refuse(
            Code.NOT_IN_IMS,
            f"{label} ended before IMS began (Oct 2024); its annual return does not matter here.",
            "itc-time-limit",
        )
    if filed_on < date(fy_start + 1, 4, 1):
        return _refuse(
            Code.PERIOD_NOT_ENDED,
            f"The annual return for {label} can be filed only after the year ends "
            f"(31 Mar {fy_start + 1}).",
            "itc-time-limit",
        )
    if filed_on > today:
        return _refuse(
            Code.PERIOD_NOT_ENDED,
            f"{filed_on:%d %b %Y} is in the future: record the annual return once it is filed.",
            "itc-time-limit",
        )
    return Verdict.ALLOW
