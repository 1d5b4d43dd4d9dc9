"""The records service: list, look at, act on (one or in bulk), undo and trace IMS records.

Each public method is one unit of work (one transaction). Every change writes one action-log
entry per record; acting with the status a record already has is a no-op. The rules module
decides what is allowed; this module never decides a rule itself.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ims_bot import rules, suppliers
from ims_bot.db import Database, insert_rows
from ims_bot.domain import (
    TAX_HEADS,
    Action,
    Direction,
    Period,
    Reduction,
    ReductionKind,
    Section,
    Status,
    Tax,
)
from ims_bot.errors import Conflict, InvalidInput, NotFound, Refused
from ims_bot.facts import Surroundings, facts_for, surroundings
from ims_bot.models import ActionLog, Record, Supplier, Taxpayer
from ims_bot.settings import INDIA

Today = Callable[[], date]

#: Statuses that still need the recipient's decision.
OPEN_STATUSES = (Status.NO_ACTION.value, Status.PENDING.value)
CREDIT_NOTE_SECTIONS = (Section.B2BCN.value, Section.B2BCNA.value)
#: What facts.record_facts reads of a record: enough for every rule.
FACT_COLUMNS = (
    Record.id, Record.taxpayer_id, Record.section, Record.period_key, Record.itc_period_key,
    Record.status, Record.igst, Record.cgst, Record.sgst, Record.cess, Record.doc_date,
    Record.source_filed, Record.direction, Record.pending_blocked, Record.itc_reduction_blocked,
    Record.remarks_blocked, Record.boe_gstin_amended, Record.supplier_gstin,
    Record.original_number,
)
#: Listings count matches up to this many (see RecordService._count).
COUNT_CAP = 10_000
MAX_OFFSET = 2**63 - 1  # the largest OFFSET SQLite and PostgreSQL take


class Sort(StrEnum):
    DATE = "date"
    AMOUNT = "amount"
    SUPPLIER = "supplier"
    PERIOD = "period"
    CREDIT_NOTES_FIRST = "credit_notes_first"


@dataclass(frozen=True)
class RecordFilter:
    """Which records: every field narrows the selection; empty means no narrowing."""

    statuses: tuple[Status, ...] = ()
    sections: tuple[Section, ...] = ()
    supplier: str | None = None  # a GSTIN, part of one, or part of the supplier's name
    period: Period | None = None  # the GSTR-2B period
    min_value: Decimal | None = None  # document value, rupees
    max_value: Decimal | None = None  # document value, strictly below
    needs_decision: bool = False  # no action or pending, and not locked by a filed GSTR-3B
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RecordView:
    id: int
    section: Section
    supplier_gstin: str
    supplier_name: str  # as known (suppliers table), "" until a name is known
    number: str
    doc_date: date | None
    original_number: str | None
    period: Period
    itc_period: Period
    status: Status
    effective_status: Status
    doc_value: Decimal
    taxable_value: Decimal
    tax: Tax
    remarks: str | None
    reduction: str | None
    source_filed: bool
    version: int
    locked: bool
    verdicts: dict[Action, rules.Verdict]
    pending_window_end: date | None
    reduction_applicable: bool
    # s.16(4): why the record's ITC can no longer be claimed ("" while it can).
    time_barred: str = ""

    @property
    def supplier_label(self) -> str:
        """How the supplier is shown: its name, else its readable GSTIN."""
        return suppliers.display_name(self.supplier_name, self.supplier_gstin)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section.value,
            "supplier_gstin": self.supplier_gstin,
            "supplier_name": self.supplier_name,
            "supplier_label": self.supplier_label,
            "number": self.number,
            "date": self.doc_date.isoformat() if self.doc_date else None,
            "original_number": self.original_number,
            "period": str(self.period),
            "itc_period": str(self.itc_period),
            "status": self.status.value,
            "effective_status": self.effective_status.value,
            "taxable_value": float(self.taxable_value),
            "value": float(self.doc_value),
            "igst": float(self.tax.igst),
            "cgst": float(self.tax.cgst),
            "sgst": float(self.tax.sgst),
            "cess": float(self.tax.cess),
            "remarks": self.remarks,
            "reduction": self.reduction,
            "version": self.version,
            "locked": self.locked,
            "allowed_actions": [a.value for a, v in self.verdicts.items() if v.allowed],
            "pending_window_end": (
                self.pending_window_end.isoformat() if self.pending_window_end else None
            ),
            "time_barred": self.time_barred or None,
        }


@dataclass(frozen=True)
class Listed:
    """A record as a listing shows it (one button): read as plain columns, no rules run."""

    id: int
    number: str
    supplier_gstin: str
    supplier_name: str  # as known (suppliers table), "" until a name is known
    doc_value: Decimal

    @property
    def supplier_label(self) -> str:
        return suppliers.display_name(self.supplier_name, self.supplier_gstin)


#: What a listing reads of a record (see Listed).
LISTED_COLUMNS = (Record.id, Record.number, Record.supplier_gstin, Record.doc_value)


@dataclass(frozen=True)
class Page:
    items: tuple[RecordView, ...] | tuple[Listed, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def total_text(self) -> str:
        """The count as shown to a person: "10,000+" once the count was capped."""
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


@dataclass(frozen=True)
class ActOutcome:
    record: RecordView
    changed: bool
    previous: Status
    log_id: int | None


@dataclass(frozen=True)
class BulkPreview:
    action: Action
    eligible: int  # records the action would change
    tax: Tax  # their ITC
    unchanged: int  # already in that status
    refused: dict[str, int] = field(default_factory=dict)  # reason -> count


@dataclass(frozen=True)
class BulkOutcome:
    action: Action
    batch: str | None
    changed: int
    tax: Tax
    unchanged: int
    refused: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LogView:
    id: int
    record_id: int | None
    number: str | None
    supplier_name: str | None
    at: datetime
    actor: str
    channel: str
    kind: str
    from_status: Status | None
    to_status: Status | None
    remarks: str | None
    reduction: str | None
    reason: str | None
    batch: str | None
    undone: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record_id": self.record_id,
            "number": self.number,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "channel": self.channel,
            "kind": self.kind,
            "from": self.from_status.value if self.from_status else None,
            "to": self.to_status.value if self.to_status else None,
            "remarks": self.remarks,
            "reduction": self.reduction,
            "reason": self.reason,
            "batch": self.batch,
            "undone": self.undone,
        }


def reduction_text(reduction: Reduction | None) -> str | None:
    if reduction is None:
        return None
    if reduction.kind is ReductionKind.PARTIAL and reduction.amounts is not None:
        a = reduction.amounts
        return f"partial:{a.igst},{a.cgst},{a.sgst},{a.cess}"
    return reduction.kind.value


def _reduction_key(reduction: Reduction | None) -> tuple[Any, ...] | None:
    """A declared reduction, comparable with a stored one (kind and, if partial, amounts)."""
    if reduction is None:
        return None
    amounts = reduction.amounts if reduction.kind is ReductionKind.PARTIAL else None
    return (reduction.kind.value, *(amounts.as_dict().values() if amounts else ()))


def _stored_reduction(row: Record) -> tuple[Any, ...] | None:
    """The reduction a record holds: a new partial declaration with other amounts is a change."""
    if not row.reduction:
        return None
    if row.reduction != ReductionKind.PARTIAL.value:
        return (row.reduction,)
    return (row.reduction, *(v or Decimal(0) for v in (
        row.decl_igst, row.decl_cgst, row.decl_sgst, row.decl_cess)))


def _now() -> datetime:
    return datetime.now(INDIA)


class RecordService:
    def __init__(self, db: Database, today: Today) -> None:
        self.db = db
        self.today = today

    # ------------------------------------------------------------------ reading

    def _taxpayer(self, session: Session, taxpayer_id: int) -> Taxpayer:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is None:
            raise NotFound("This GSTIN is not linked (any more).")
        return taxpayer

    def _view(
        self, session: Session, rows: Sequence[Any], around: Surroundings
    ) -> list[RecordView]:
        views = []
        gstins = {row.supplier_gstin for row in rows}
        names = suppliers.names_for(session, rows[0].taxpayer_id, gstins) if rows else {}
        for row, (facts, ctx) in zip(rows, facts_for(session, rows, around), strict=True):
            status = Status(row.status)
            views.append(
                RecordView(
                    id=row.id,
                    section=facts.section,
                    supplier_gstin=row.supplier_gstin,
                    supplier_name=names.get(row.supplier_gstin, ""),
                    number=row.number,
                    doc_date=row.doc_date,
                    original_number=row.original_number,
                    period=facts.period,
                    itc_period=Period.from_key(row.itc_period_key),
                    status=status,
                    effective_status=rules.effective_status(facts, ctx),
                    doc_value=row.doc_value,
                    taxable_value=row.taxable_value,
                    tax=facts.tax,
                    remarks=row.remarks,
                    reduction=row.reduction,
                    source_filed=row.source_filed,
                    version=row.version,
                    locked=ctx.gstr3b_filed and status is not Status.PENDING,
                    verdicts=rules.action_verdicts(facts, ctx),
                    pending_window_end=rules.pending_window_end(facts, ctx),
                    reduction_applicable=rules.reduction_applicable(facts),
                    time_barred=(
                        rules.time_barred_text(facts, ctx)
                        if rules.itc_time_barred(facts, ctx)
                        else ""
                    ),
                )
            )
        return views

    def _where(
        self, stmt: Select[Any], taxpayer_id: int, flt: RecordFilter, around: Surroundings
    ) -> Select[Any]:
        stmt = stmt.where(Record.taxpayer_id == taxpayer_id)
        if flt.ids:
            # Rendered inline (whole numbers only): a reconciliation group can hold more ids
            # than a driver binds in one statement (65,535 parameters in PostgreSQL's).
            ids = bindparam("ids", [int(i) for i in flt.ids], expanding=True,
                            literal_execute=True)
            stmt = stmt.where(Record.id.in_(ids))
        if flt.statuses:
            stmt = stmt.where(Record.status.in_([s.value for s in flt.statuses]))
        if flt.sections:
            stmt = stmt.where(Record.section.in_([s.value for s in flt.sections]))
        if flt.supplier and flt.supplier.strip():
            stmt = stmt.where(self._supplier_match(taxpayer_id, flt.supplier))
        if flt.period is not None:
            stmt = stmt.where(Record.period_key == flt.period.key)
        if flt.min_value is not None:
            stmt = stmt.where(Record.doc_value >= flt.min_value)
        if flt.max_value is not None:
            stmt = stmt.where(Record.doc_value < flt.max_value)
        if flt.needs_decision:
            stmt = stmt.where(Record.status.in_(OPEN_STATUSES))
            if around.filed:
                # Filed periods keep only their pending records in IMS.
                stmt = stmt.where(
                    or_(
                        Record.status == Status.PENDING.value,
                        Record.itc_period_key.not_in(self._filed_month_keys(around)),
                    )
                )
        return stmt

    @staticmethod
    def _supplier_match(taxpayer_id: int, text: str) -> Any:
        """A whole GSTIN matches exactly (indexed); anything else matches the supplier's
        name (case-insensitive, anywhere in it) or a fragment of the GSTIN."""
        key = "".join(text.split()).upper()
        if len(key) == 15 and key[:2].isdigit() and key.isalnum():
            return Record.supplier_gstin == key
        words = " ".join(text.split())  # names are stored with single spaces
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        named = select(Supplier.gstin).where(
            Supplier.taxpayer_id == taxpayer_id,
            Supplier.name.ilike(f"%{escaped}%", escape="\\"),
        )
        match = Record.supplier_gstin.in_(named)
        if key.isalnum():  # letters and digits only: nothing to escape in LIKE
            match = or_(match, Record.supplier_gstin.like(f"%{key}%"))
        return match

    @staticmethod
    def _filed_month_keys(around: Surroundings) -> list[int]:
        months = 3 if around.frequency.value == "quarterly" else 1
        keys = []
        for key in around.filed:
            end = Period.from_key(key)
            keys.extend(end.shift(-i).key for i in range(months))
        return keys

    @staticmethod
    def _order(stmt: Select, sort: Sort) -> Select:
        if sort is Sort.AMOUNT:
            return stmt.order_by(Record.doc_value.desc(), Record.id)
        if sort is Sort.SUPPLIER:
            # By the name shown (case-insensitive); suppliers without a name after, by GSTIN.
            name = (
                select(Supplier.name)
                .where(
                    Supplier.taxpayer_id == Record.taxpayer_id,
                    Supplier.gstin == Record.supplier_gstin,
                )
                .scalar_subquery()
            )
            return stmt.order_by(
                name.is_(None), func.lower(name), Record.supplier_gstin, Record.doc_date,
                Record.id,
            )
        if sort is Sort.PERIOD:
            return stmt.order_by(Record.period_key, Record.doc_date, Record.id)
        return stmt.order_by(Record.doc_date.desc(), Record.id.desc())

    def _count(self, session: Session, stmt: Select) -> int:
        """Count matches, stopping at COUNT_CAP: a phone shows "10,000+" past that, and an
        exact count over a million rows would cost more than the page itself."""
        capped = stmt.with_only_columns(Record.id).limit(COUNT_CAP + 1).subquery()
        return session.scalar(select(func.count()).select_from(capped)) or 0

    def _page_rows(
        self, session: Session, base: Select, sort: Sort, offset: int, size: int,
        *, columns: bool = False,
    ) -> list[Any]:
        """The page's rows: ORM Records, or (`columns`) the plain rows of `base`'s columns."""
        fetch = session.execute if columns else session.scalars
        if sort is not Sort.CREDIT_NOTES_FIRST:
            return list(fetch(self._order(base, sort).limit(size).offset(offset)))
        # Credit notes first (their pending window is the short one), then everything else
        # newest first: two indexed queries instead of one sort over every match.
        notes = base.where(Record.section.in_(CREDIT_NOTE_SECTIONS))
        rest = base.where(Record.section.not_in(CREDIT_NOTE_SECTIONS))
        n_notes = self._count(session, notes)
        rows: list[Any] = []
        if offset < n_notes:
            rows = list(fetch(
                notes.order_by(Record.period_key, Record.doc_date, Record.id)
                .limit(size).offset(offset)
            ))
        if len(rows) < size:
            rest_offset = max(0, offset - n_notes)
            rows += fetch(
                self._order(rest, Sort.DATE).limit(size - len(rows)).offset(rest_offset)
            )
        return rows

    def list(
        self,
        taxpayer_id: int,
        flt: RecordFilter | None = None,
        *,
        sort: Sort = Sort.DATE,
        page: int = 1,
        page_size: int = 10,
    ) -> Page:
        """One page of matching records. `total` is capped at COUNT_CAP + 1."""
        flt = flt or RecordFilter()
        if page < 1 or not 1 <= page_size <= 1000:
            raise InvalidInput("page must be 1 or more and page size 1 to 1000")
        with self.db.read() as session:
            taxpayer = self._taxpayer(session, taxpayer_id)
            around = surroundings(session, taxpayer, self.today())
            base = self._where(select(Record), taxpayer_id, flt, around)
            total = self._count(session, base)
            # A page far past the end is empty, but its offset must still fit the database's
            # 64-bit integers (`--page 1000000000000000000`).
            offset = min((page - 1) * page_size, MAX_OFFSET)
            rows = self._page_rows(session, base, sort, offset, page_size)
            return Page(tuple(self._view(session, rows, around)), total, page, page_size)

    def window_ends(self, taxpayer_id: int) -> list[date]:
        """The distinct end dates of the one-period pending windows of open records, soonest
        first: one small grouped query, for "a window closes soon" hints."""
        with self.db.read() as session:
            taxpayer = self._taxpayer(session, taxpayer_id)
            around = surroundings(session, taxpayer, self.today())
            return self._window_ends(session, taxpayer_id, around)

    def _window_ends(self, session: Session, taxpayer_id: int, around: Surroundings) -> list[date]:
        stmt = self._where(
            select(
                Record.section, Record.period_key, Record.itc_period_key, Record.status,
                Record.direction, Record.pending_blocked,
            ).distinct(),
            taxpayer_id,
            RecordFilter(needs_decision=True),
            around,
        )
        ends = set()
        for section, period_key, itc_key, status, direction, blocked in session.execute(stmt):
            facts = rules.RecordFacts(
                section=Section(section),
                period=Period.from_key(period_key),
                status=Status(status),
                tax=Tax(),
                direction=Direction(direction) if direction else None,
                pending_blocked=blocked,
            )
            end = rules.pending_window_end(facts, around.context(Period.from_key(itc_key)))
            if end is not None:
                ends.add(end)
        return sorted(ends)

    def open_page(
        self,
        taxpayer_id: int,
        flt: RecordFilter,
        urgent: Callable[[list[date]], date | None],
        *,
        page: int,
        page_size: int,
    ) -> tuple[Page, date | None]:
        """/pending in one read: the window ends, `urgent(ends)` (a window closing soon puts
        credit notes first), and the page, clamped to the last one when past the end.
        The same records as `window_ends` then `list` (twice when clamped), with the
        workspace and its surroundings read once instead of up to three times; the items
        are `Listed` (what a listing shows), read as plain columns with no rules run."""
        if page < 1 or not 1 <= page_size <= 1000:
            raise InvalidInput("page must be 1 or more and page size 1 to 1000")
        with self.db.read() as session:
            taxpayer = self._taxpayer(session, taxpayer_id)
            around = surroundings(session, taxpayer, self.today())
            closing = urgent(self._window_ends(session, taxpayer_id, around))
            sort = Sort.CREDIT_NOTES_FIRST if closing else Sort.DATE
            base = self._where(select(*LISTED_COLUMNS), taxpayer_id, flt, around)
            total = self._count(session, base)
            pages = max(1, -(-total // page_size))
            if total and page > pages:
                page = pages
            offset = min((page - 1) * page_size, MAX_OFFSET)
            rows = self._page_rows(session, base, sort, offset, page_size, columns=True)
            names = suppliers.names_for(session, taxpayer_id, {r.supplier_gstin for r in rows})
            items = tuple(
                Listed(r.id, r.number, r.supplier_gstin, names.get(r.supplier_gstin, ""),
                       r.doc_value)
                for r in rows
            )
            return Page(items, total, page, page_size), closing

    def iter_all(self, taxpayer_id: int, flt: RecordFilter | None = None) -> list[RecordView]:
        """Every matching record (for exports and JSON listings), ordered by period and date."""
        flt = flt or RecordFilter()
        with self.db.read() as session:
            taxpayer = self._taxpayer(session, taxpayer_id)
            around = surroundings(session, taxpayer, self.today())
            stmt = self._where(select(Record), taxpayer_id, flt, around).order_by(
                Record.period_key, Record.doc_date, Record.id
            )
            return self._view(session, session.scalars(stmt).all(), around)

    def get(self, taxpayer_id: int, record_id: int) -> RecordView:
        with self.db.read() as session:
            taxpayer = self._taxpayer(session, taxpayer_id)
            row = session.get(Record, record_id)
            if row is None or row.taxpayer_id != taxpayer_id:
                raise NotFound(f"No record {record_id} for this GSTIN.")
            return self._view(session, [row], surroundings(session, taxpayer, self.today()))[0]

    # ------------------------------------------------------------------ acting

    def act(
        self,
        taxpayer_id: int,
        record_id: int,
        action: Action,
        *,
        actor: str,
        channel: str,
        remarks: str | None = None,
        reduction: Reduction | None = None,
        expected_version: int | None = None,
    ) -> ActOutcome:
        """Apply one action. Raises Refused (rules), Conflict (stale version), NotFound."""
        remarks = (remarks or "").strip() or None
        try:
            with self.db.begin() as session:
                taxpayer = self._taxpayer(session, taxpayer_id)
                row = session.get(Record, record_id, with_for_update=True)
                if row is None or row.taxpayer_id != taxpayer_id:
                    raise NotFound(f"No record {record_id} for this GSTIN.")
                if expected_version is not None and row.version != expected_version:
                    raise Conflict(
                        "This record changed since it was shown to you; "
                        "here it is as it is now."
                    )
                around = surroundings(session, taxpayer, self.today())
                facts, ctx = facts_for(session, [row], around)[0]
                verdict = rules.check_action(
                    facts, ctx, action, remarks=remarks, reduction=reduction
                )
                if not verdict.allowed:
                    raise Refused(verdict)
                previous = Status(row.status)
                if rules.reduction_applicable(facts) and action is Action.ACCEPT:
                    reduction = reduction or Reduction(ReductionKind.FULL)
                else:
                    reduction = None
                new_reduction = reduction_text(reduction)
                if (
                    previous is action.status
                    and row.remarks == remarks
                    and _stored_reduction(row) == _reduction_key(reduction)
                ):
                    return ActOutcome(self._view(session, [row], around)[0], False, previous, None)
                now = _now()
                self._apply(row, action.status, remarks, reduction, now)
                entry = ActionLog(
                    taxpayer_id=taxpayer_id,
                    record_id=row.id,
                    at=now,
                    actor=actor,
                    channel=channel,
                    kind="action",
                    from_status=previous.value,
                    to_status=action.status.value,
                    remarks=remarks,
                    reduction=new_reduction,
                )
                session.add(entry)
                session.flush()
                return ActOutcome(
                    self._view(session, [row], around)[0], True, previous, entry.id
                )
        except StaleDataError:
            raise Conflict(
                "Someone else changed this record at the same moment; nothing was overwritten. "
                "Look at it again and retry."
            ) from None

    @staticmethod
    def _apply(
        row: Record,
        status: Status,
        remarks: str | None,
        reduction: Reduction | None,
        now: datetime,
    ) -> None:
        row.status = status.value
        row.remarks = remarks
        row.reduction = reduction.kind.value if reduction else None
        amounts = reduction.amounts if reduction and reduction.amounts else None
        row.decl_igst = amounts.igst if amounts else None
        row.decl_cgst = amounts.cgst if amounts else None
        row.decl_sgst = amounts.sgst if amounts else None
        row.decl_cess = amounts.cess if amounts else None
        row.acted_at = now
        row.updated_at = now

    def _bulk_plan(
        self,
        session: Session,
        taxpayer_id: int,
        flt: RecordFilter,
        action: Action,
        lock: bool,
        remarks: str | None = None,
    ) -> tuple[list[tuple[Any, rules.RecordFacts]], Tax, int, Counter[str]]:
        taxpayer = self._taxpayer(session, taxpayer_id)
        around = surroundings(session, taxpayer, self.today())
        # Plain rows of the columns the rules need (no ORM objects): bulk actions touch
        # thousands of records and this is most of their cost.
        stmt = self._where(select(*FACT_COLUMNS), taxpayer_id, flt, around).order_by(Record.id)
        if lock:
            stmt = stmt.with_for_update()
        rows = session.execute(stmt).all()
        eligible: list[tuple[Any, rules.RecordFacts]] = []
        tax = Tax()
        unchanged = 0
        refused: Counter[str] = Counter()
        for row, (facts, ctx) in zip(rows, facts_for(session, rows, around), strict=True):
            if facts.status is action.status:
                unchanged += 1
                continue
            # Remarks are saved only with reject and pending (dropped on accept): each record
            # must allow them (from Oct 2025, not blocked by the portal), as for one action.
            verdict = rules.check_action(
                facts, ctx, action, remarks=remarks if action is not Action.ACCEPT else None
            )
            if not verdict.allowed:
                refused[verdict.reason] += 1
                continue
            eligible.append((row, facts))
            tax = tax + facts.tax
        return eligible, tax, unchanged, refused

    def preview_bulk(
        self, taxpayer_id: int, flt: RecordFilter, action: Action, *, remarks: str | None = None
    ) -> BulkPreview:
        remarks = (remarks or "").strip() or None
        with self.db.read() as session:
            eligible, tax, unchanged, refused = self._bulk_plan(
                session, taxpayer_id, flt, action, lock=False, remarks=remarks
            )
            return BulkPreview(action, len(eligible), tax, unchanged, dict(refused))

    def act_bulk(
        self,
        taxpayer_id: int,
        flt: RecordFilter,
        action: Action,
        *,
        actor: str,
        channel: str,
        remarks: str | None = None,
    ) -> BulkOutcome:
        """Apply one action to every record the filter selects and the rules allow, at once.

        One transaction: either every eligible record changes (each with its log entry) or
        none does. Records the rules refuse are counted by reason and left alone.
        """
        remarks = (remarks or "").strip() or None
        if remarks and len(remarks) > rules.MAX_REMARKS:
            raise InvalidInput(f"Remarks can be at most {rules.MAX_REMARKS} characters.")
        with self.db.begin() as session:
            eligible, tax, unchanged, refused = self._bulk_plan(
                session, taxpayer_id, flt, action, lock=True, remarks=remarks
            )
            if not eligible:
                return BulkOutcome(action, None, 0, tax, unchanged, dict(refused))
            batch = str(uuid.uuid4())
            now = _now()
            # Credit notes accepted in bulk reduce ITC in full: the portal's default.
            log_rows: list[dict[str, Any]] = []
            credit_note_ids: list[int] = []
            for row, facts in eligible:
                if action is Action.ACCEPT and rules.reduction_applicable(facts):
                    credit_note_ids.append(row.id)
                log_rows.append(
                    {
                        "taxpayer_id": taxpayer_id,
                        "record_id": row.id,
                        "at": now,
                        "actor": actor,
                        "channel": channel,
                        "kind": "bulk",
                        "from_status": row.status,
                        "to_status": action.status.value,
                        "remarks": remarks if action is not Action.ACCEPT else None,
                        "batch": batch,
                        "undone": False,
                    }
                )
            ids = [row.id for row, _ in eligible]
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                session.execute(
                    update(Record)
                    .where(Record.id.in_(chunk))
                    .values(
                        status=action.status.value,
                        remarks=remarks if action is not Action.ACCEPT else None,
                        reduction=None,
                        decl_igst=None,
                        decl_cgst=None,
                        decl_sgst=None,
                        decl_cess=None,
                        acted_at=now,
                        updated_at=now,
                        version=Record.version + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
            for start in range(0, len(credit_note_ids), 900):
                session.execute(
                    update(Record)
                    .where(Record.id.in_(credit_note_ids[start : start + 900]))
                    .values(reduction=ReductionKind.FULL.value)
                    .execution_options(synchronize_session=False)
                )
            insert_rows(session, ActionLog.__table__, log_rows)
            return BulkOutcome(action, batch, len(ids), tax, unchanged, dict(refused))

    # ------------------------------------------------------------------ undo and history

    def undo(
        self,
        taxpayer_id: int,
        *,
        actor: str,
        channel: str,
        log_id: int | None = None,
        record_id: int | None = None,
        batch: str | None = None,
    ) -> int:
        """Return records to the status they had before an action (or a bulk batch).

        Only the latest change of a record can be undone, and only before GSTR-3B of its
        period is filed. Returns how many records changed back. Raises Refused/NotFound.
        """
        with self.db.begin() as session:
            taxpayer = self._taxpayer(session, taxpayer_id)
            around = surroundings(session, taxpayer, self.today())
            entries = self._undo_targets(session, taxpayer_id, log_id, record_id, batch)
            now = _now()
            rows = []
            for entry in entries:
                row = session.get(Record, entry.record_id, with_for_update=True)
                if row is None:
                    continue
                latest = session.scalar(
                    select(func.max(ActionLog.id)).where(
                        ActionLog.record_id == row.id, ActionLog.undone.is_(False)
                    )
                )
                if latest != entry.id or row.status != entry.to_status:
                    raise Refused(
                        rules.Verdict(
                            False,
                            f"Record {row.number} changed after that action; "
                            "only the latest action on a record can be undone.",
                            "change-action",
                            "UNDO_NOT_LATEST",
                        )
                    )
                rows.append((entry, row))
            for (entry, row), (facts, ctx) in zip(
                rows, facts_for(session, [r for _, r in rows], around), strict=True
            ):
                verdict = rules.undo_verdict(facts, ctx)
                if not verdict.allowed:
                    raise Refused(verdict)
                earlier = session.scalars(
                    select(ActionLog)
                    .where(
                        ActionLog.record_id == row.id,
                        ActionLog.id < entry.id,
                        ActionLog.undone.is_(False),
                        ActionLog.kind.in_(("action", "bulk")),
                    )
                    .order_by(ActionLog.id.desc())
                    .limit(1)
                ).first()
                restore = Status(entry.from_status or Status.NO_ACTION.value)
                keep = earlier is not None and earlier.to_status == restore.value
                row.status = restore.value
                row.remarks = earlier.remarks if keep and earlier else None
                row.reduction = (earlier.reduction or "").split(":")[0] or None if keep else None
                row.updated_at = now
                entry.undone = True
                session.add(
                    ActionLog(
                        taxpayer_id=taxpayer_id,
                        record_id=row.id,
                        at=now,
                        actor=actor,
                        channel=channel,
                        kind="undo",
                        from_status=entry.to_status,
                        to_status=restore.value,
                        reason=f"undo of action #{entry.id}",
                        batch=entry.batch,
                        undone=True,  # an undo is not itself undoable
                    )
                )
            return len(rows)

    @staticmethod
    def _undo_targets(
        session: Session,
        taxpayer_id: int,
        log_id: int | None,
        record_id: int | None,
        batch: str | None,
    ) -> list[ActionLog]:
        base = select(ActionLog).where(
            ActionLog.taxpayer_id == taxpayer_id,
            ActionLog.undone.is_(False),
            ActionLog.kind.in_(("action", "bulk")),
        )
        if batch is not None:
            entries = list(session.scalars(base.where(ActionLog.batch == batch)).all())
        elif log_id is not None:
            entries = list(session.scalars(base.where(ActionLog.id == log_id)).all())
        elif record_id is not None:
            entries = list(
                session.scalars(
                    base.where(ActionLog.record_id == record_id)
                    .order_by(ActionLog.id.desc())
                    .limit(1)
                ).all()
            )
        else:
            raise InvalidInput("Say which action to undo.")
        if not entries:
            raise NotFound("There is no action left to undo there.")
        return entries

    def logged_record(self, taxpayer_id: int, log_id: int) -> int | None:
        """The record an action-log entry of this workspace is about (None: no such entry,
        or one about no record)."""
        with self.db.read_rows() as connection:
            return connection.scalar(
                select(ActionLog.record_id).where(
                    ActionLog.id == log_id, ActionLog.taxpayer_id == taxpayer_id
                )
            )

    def history(
        self, taxpayer_id: int, *, record_id: int | None = None, limit: int = 20
    ) -> list[LogView]:
        with self.db.read() as session:
            self._taxpayer(session, taxpayer_id)
            stmt = (
                select(ActionLog, Record.number, Record.supplier_gstin, Supplier.name)
                .outerjoin(Record, Record.id == ActionLog.record_id)
                .outerjoin(
                    Supplier,
                    and_(
                        Supplier.taxpayer_id == Record.taxpayer_id,
                        Supplier.gstin == Record.supplier_gstin,
                    ),
                )
                .where(ActionLog.taxpayer_id == taxpayer_id)
            )
            if record_id is not None:
                stmt = stmt.where(ActionLog.record_id == record_id)
            stmt = stmt.order_by(ActionLog.id.desc()).limit(max(1, min(limit, 1000)))
            return [
                LogView(
                    id=e.id,
                    record_id=e.record_id,
                    number=number,
                    supplier_name=(
                        suppliers.display_name(name, gstin) if number is not None else None
                    ),
                    at=e.at,
                    actor=e.actor,
                    channel=e.channel,
                    kind=e.kind,
                    from_status=Status(e.from_status) if e.from_status else None,
                    to_status=Status(e.to_status) if e.to_status else None,
                    remarks=e.remarks,
                    reduction=e.reduction,
                    reason=e.reason,
                    batch=e.batch,
                    undone=e.undone,
                )
                for e, number, gstin, name in session.execute(stmt).all()
            ]

    # ------------------------------------------------------------------ summary

    def summary(self, taxpayer_id: int) -> dict[str, Any]:
        """Counts per section and status, and the ITC of records still needing a decision."""
        with self.db.read() as session:
            self._taxpayer(session, taxpayer_id)
            tax_sum = [func.coalesce(func.sum(getattr(Record, h)), 0) for h in TAX_HEADS]
            stmt = (
                select(Record.section, Record.status, func.count(Record.id), *tax_sum)
                .where(Record.taxpayer_id == taxpayer_id)
                .group_by(Record.section, Record.status)
            )
            by_section: dict[str, dict[str, int]] = {}
            open_tax = Tax()
            open_count = 0
            for section, status, count, *heads in session.execute(stmt).all():
                by_section.setdefault(section, {})[status] = count
                if status in OPEN_STATUSES:
                    open_tax = open_tax + Tax(*(Decimal(h) for h in heads))
                    open_count += count
            return {"by_section": by_section, "open_count": open_count, "open_tax": open_tax}


def supplier_names(db: Database, taxpayer_id: int, limit: int = 8) -> list[tuple[str, str, int]]:
    """The suppliers with the most records needing a decision: (GSTIN, name as shown, count).

    Bills of entry without a supplier GSTIN are left out: there is no supplier to pick."""
    with db.read() as session:
        stmt = (
            select(Record.supplier_gstin, func.count(Record.id))
            .where(
                and_(
                    Record.taxpayer_id == taxpayer_id,
                    Record.status.in_(OPEN_STATUSES),
                    Record.supplier_gstin != "",
                )
            )
            .group_by(Record.supplier_gstin)
            .order_by(func.count(Record.id).desc(), Record.supplier_gstin)
            .limit(limit)
        )
        rows = session.execute(stmt).all()
        names = suppliers.names_for(session, taxpayer_id, (g for g, _ in rows))
        return [(g, suppliers.display_name(names.get(g), g), c) for g, c in rows]
