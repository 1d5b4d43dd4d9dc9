"""What each coming deadline of a GSTIN asks of the taxpayer: days left and what is still open.

The calendar comes from `deadlines`, every per-record date from `rules` (through `facts`);
this module only counts. `open_work` and `new_records` (the daily digest) are shared with the
reminder sweeper, which asks them for many workspaces at once, so their queries take sets of
workspaces and periods, never one row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ims_bot import deadlines, rules
from ims_bot.db import Database
from ims_bot.deadlines import Deadline, DeadlineKind
from ims_bot.domain import OCT_2025, Frequency, Period, Section, Status
from ims_bot.facts import Surroundings, facts_for
from ims_bot.gstin import state_code
from ims_bot.models import LOCAL_OWNER, Membership, PeriodState, Record, Taxpayer, User
from ims_bot.money import rupees
from ims_bot.records import OPEN_STATUSES
from ims_bot.settings import INDIA
from ims_bot.suppliers import names_for_many
from ims_bot.workspaces import parse_gstin

#: Sections whose pending may be limited to one tax period (credit notes, and downward
#: amendments of invoices/DNs/ECO documents); `rules.pending_window_end` decides per record.
_ONE_PERIOD_CANDIDATES = (
    Section.B2BCN.value,
    Section.B2BCNA.value,
    Section.B2BA.value,
    Section.B2BDNA.value,
    Section.ECOMA.value,
)
_CREDIT_NOTES = (Section.B2BCN.value, Section.B2BCNA.value)


@dataclass(frozen=True)
class Scope:
    """A workspace as the counting needs it."""

    taxpayer_id: int
    state_code: str
    frequency: Frequency


@dataclass(frozen=True)
class OpenWork:
    """What is still open for one deadline of one workspace."""

    open_records: int = 0  # records needing a decision (no action or pending)
    pending: int = 0  # of which pending
    open_itc: Decimal = Decimal(0)  # tax on the open invoices/debit notes (credit notes apart)
    credit_notes: int = 0  # open credit notes among open_records
    leaving_window: int = 0  # pending_window / itc_time_limit: records whose pending ends
    filed: bool = False  # GSTR-3B of the return period is already filed

    @property
    def nothing_to_do(self) -> bool:
        return self.filed or (self.open_records == 0 and self.leaving_window == 0)


WorkKey = tuple[int, DeadlineKind, int, date]  # taxpayer id, kind, period key, date


@dataclass(frozen=True)
class DeadlineItem:
    kind: DeadlineKind
    period: Period  # the return period (QRMP: the quarter's last month)
    date: date
    days_left: int
    title: str
    todo: str
    open_records: int
    open_itc: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "period": str(self.period),
            "date": self.date.isoformat(),
            "days_left": self.days_left,
            "title": self.title,
            "todo": self.todo,
            "open_records": self.open_records,
            "open_itc": float(self.open_itc),
        }


def key_of(taxpayer_id: int, deadline: Deadline) -> WorkKey:
    return (taxpayer_id, deadline.kind, deadline.period.key, deadline.date)


def _months(period: Period, frequency: Frequency) -> list[int]:
    end = deadlines.return_period(period, frequency)
    return [end.shift(-i).key for i in range(deadlines.months_per_tax_period(frequency))]


def open_work(
    session: Session, wanted: Iterable[tuple[Scope, Deadline]], today: date
) -> dict[WorkKey, OpenWork]:
    """Open work for each (workspace, deadline), in a handful of queries for all of them."""
    wanted = list(wanted)
    if not wanted:
        return {}
    scopes = {scope.taxpayer_id: scope for scope, _ in wanted}
    ids = sorted(scopes)
    filed = _filed(session, ids)
    by_period = _open_by_period(session, wanted)
    leaving = _leaving(session, wanted, scopes, filed, today)
    result: dict[WorkKey, OpenWork] = {}
    for scope, deadline in wanted:
        key = key_of(scope.taxpayer_id, deadline)
        end = deadlines.return_period(deadline.period, scope.frequency)
        is_filed = end.key in filed.get(scope.taxpayer_id, frozenset())
        if deadline.kind in (DeadlineKind.DRAFT_2B, DeadlineKind.GSTR3B_DUE):
            counts = [
                by_period.get((scope.taxpayer_id, m), _Counts())
                for m in _months(deadline.period, scope.frequency)
            ]
            total = sum(counts, _Counts())
            result[key] = OpenWork(
                open_records=total.records,
                pending=total.pending,
                open_itc=total.itc,
                credit_notes=total.credit_notes,
                filed=is_filed,
            )
        else:
            count = leaving.get(key, 0)
            result[key] = OpenWork(
                open_records=count,
                pending=count,
                leaving_window=count,
                # Pending records carry forward past a filed 3B: filing does not close them.
                filed=False,
            )
    return result


@dataclass(frozen=True)
class _Counts:
    records: int = 0
    pending: int = 0
    credit_notes: int = 0
    itc: Decimal = Decimal(0)

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(
            self.records + other.records,
            self.pending + other.pending,
            self.credit_notes + other.credit_notes,
            self.itc + other.itc,
        )


def _chunks(values: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _filed(session: Session, ids: Sequence[int]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(ids):
        stmt = select(PeriodState.taxpayer_id, PeriodState.period_key).where(
            PeriodState.taxpayer_id.in_(chunk), PeriodState.gstr3b_filed_on.is_not(None)
        )
        for taxpayer_id, key in session.execute(stmt):
            found[taxpayer_id].add(key)
    return {k: frozenset(v) for k, v in found.items()}


def _open_by_period(
    session: Session, wanted: Sequence[tuple[Scope, Deadline]]
) -> dict[tuple[int, int], _Counts]:
    """Open records per (workspace, ITC month) for the months of the 2B/3B deadlines asked."""
    months = {
        m
        for scope, d in wanted
        if d.kind in (DeadlineKind.DRAFT_2B, DeadlineKind.GSTR3B_DUE)
        for m in _months(d.period, scope.frequency)
    }
    if not months:
        return {}
    ids = sorted({scope.taxpayer_id for scope, _ in wanted})
    tax = Record.igst + Record.cgst + Record.sgst + Record.cess
    is_cn = Record.section.in_(_CREDIT_NOTES)
    result: dict[tuple[int, int], _Counts] = {}
    for chunk in _chunks(ids):
        stmt = (
            select(
                Record.taxpayer_id,
                Record.itc_period_key,
                Record.status,
                is_cn.label("cn"),
                func.count(Record.id),
                func.coalesce(func.sum(tax), 0),
            )
            .where(
                Record.taxpayer_id.in_(chunk),
                Record.status.in_(OPEN_STATUSES),
                Record.itc_period_key.in_(sorted(months)),
            )
            .group_by(Record.taxpayer_id, Record.itc_period_key, Record.status, is_cn)
        )
        for taxpayer_id, month, status, cn, count, amount in session.execute(stmt):
            part = _Counts(
                records=count,
                pending=count if status == Status.PENDING.value else 0,
                credit_notes=count if cn else 0,
                itc=Decimal(0) if cn else Decimal(amount),
            )
            key = (taxpayer_id, month)
            result[key] = result.get(key, _Counts()) + part
    return result


def _leaving(
    session: Session,
    wanted: Sequence[tuple[Scope, Deadline]],
    scopes: dict[int, Scope],
    filed: dict[int, frozenset[int]],
    today: date,
) -> dict[WorkKey, int]:
    """Open records whose pending option ends on a pending-window / s.16(4) deadline."""
    windows = [(s, d) for s, d in wanted if d.kind is DeadlineKind.PENDING_WINDOW]
    limits = [(s, d) for s, d in wanted if d.kind is DeadlineKind.ITC_TIME_LIMIT]
    rows: list[Record] = []
    if windows:
        months = sorted(
            {m for s, d in windows for m in _months(d.period, s.frequency) if m >= OCT_2025.key}
        )
        ids = sorted({s.taxpayer_id for s, _ in windows})
        for chunk in _chunks(ids):
            rows.extend(
                session.scalars(
                    select(Record).where(
                        Record.taxpayer_id.in_(chunk),
                        Record.section.in_(_ONE_PERIOD_CANDIDATES),
                        Record.period_key.in_(months),
                        Record.status.in_(OPEN_STATUSES),
                    )
                ).all()
            )
    if limits:
        # Only pending records still wait for the s.16(4) date: no action is deemed accepted.
        # The limit of 30 Nov Y closes the financial year April Y-1 to March Y.
        first_day = date(min(d.date.year for _, d in limits) - 1, 4, 1)
        ids = sorted({s.taxpayer_id for s, _ in limits})
        for chunk in _chunks(ids):
            rows.extend(
                session.scalars(
                    select(Record).where(
                        Record.taxpayer_id.in_(chunk),
                        Record.status == Status.PENDING.value,
                        Record.doc_date >= first_day,
                    )
                ).all()
            )
    by_taxpayer: dict[int, dict[int, Record]] = defaultdict(dict)
    for row in rows:
        by_taxpayer[row.taxpayer_id][row.id] = row
    dates: dict[tuple[int, DeadlineKind, date], int] = defaultdict(int)
    for taxpayer_id, found in by_taxpayer.items():
        scope = scopes[taxpayer_id]
        around = Surroundings(
            scope.frequency, scope.state_code, filed.get(taxpayer_id, frozenset()), today
        )
        records = list(found.values())
        for facts, ctx in facts_for(session, records, around):
            end = rules.pending_window_end(facts, ctx)
            if end is not None:
                dates[(taxpayer_id, DeadlineKind.PENDING_WINDOW, end)] += 1
            limit = rules.pending_time_limit(facts, ctx)
            if limit is not None and facts.status is Status.PENDING:
                dates[(taxpayer_id, DeadlineKind.ITC_TIME_LIMIT, limit)] += 1
    return {
        key_of(s.taxpayer_id, d): dates.get((s.taxpayer_id, d.kind, d.date), 0)
        for s, d in windows + limits
    }


# ------------------------------------------------------------------------------ new records

#: How many suppliers the daily digest names.
TOP_SUPPLIERS = 3
_SECTION_ORDER = {section.value: i for i, section in enumerate(Section)}


@dataclass(frozen=True)
class SupplierItc:
    gstin: str
    name: str  # as known (suppliers table), "" until a name is known
    records: int
    itc: Decimal


@dataclass(frozen=True)
class NewRecords:
    """Records first imported into one workspace within a window (what the daily digest says)."""

    records: int = 0
    open_records: int = 0  # of which still needing a decision (no action or pending)
    itc: Decimal = Decimal(0)  # tax on the new invoices, debit notes... (credit notes apart)
    credit_note_tax: Decimal = Decimal(0)  # tax the new credit notes take back
    by_section: tuple[tuple[Section, int], ...] = ()  # in the portal's section order
    top_suppliers: tuple[SupplierItc, ...] = ()  # by ITC, at most TOP_SUPPLIERS, none at ₹0

    @property
    def nothing_new(self) -> bool:
        return self.records == 0


@dataclass(frozen=True)
class _Arrival:
    """New records of one workspace sharing import time, section, supplier and openness."""

    created_at: datetime
    section: str
    supplier_gstin: str
    open: bool
    records: int
    tax: Decimal


def _india(moment: datetime) -> datetime:
    # SQLite reads timestamps back naive; they were written as India's wall time.
    return moment.replace(tzinfo=INDIA) if moment.tzinfo is None else moment.astimezone(INDIA)


def new_records(
    session: Session, wanted: Iterable[tuple[int, datetime]], until: datetime
) -> dict[tuple[int, datetime], NewRecords]:
    """For each (workspace, since): the records whose `created_at` is in (since, until].

    One query per chunk of workspaces, from the earliest `since` asked for each: an import
    stamps all the records it creates with one `created_at`, so grouping by it keeps the rows
    few, and each window then sums the groups that fall inside it. Records imported before
    `created_at` existed (NULL) are never new.
    """
    windows = {(taxpayer_id, _india(since)) for taxpayer_id, since in wanted}
    if not windows:
        return {}
    until = _india(until)
    earliest: dict[int, datetime] = {}
    for taxpayer_id, since in windows:
        earliest[taxpayer_id] = min(since, earliest.get(taxpayer_id, since))
    tax = Record.igst + Record.cgst + Record.sgst + Record.cess
    is_open = Record.status.in_(OPEN_STATUSES)
    arrivals: dict[int, list[_Arrival]] = defaultdict(list)
    for chunk in _chunks(sorted(earliest)):
        stmt = (
            select(
                Record.taxpayer_id,
                Record.created_at,
                Record.section,
                Record.supplier_gstin,
                is_open.label("open"),
                func.count(Record.id),
                func.coalesce(func.sum(tax), 0),
            )
            .where(
                Record.taxpayer_id.in_(chunk),
                Record.created_at > min(earliest[t] for t in chunk),
                Record.created_at <= until,
            )
            .group_by(
                Record.taxpayer_id,
                Record.created_at,
                Record.section,
                Record.supplier_gstin,
                is_open,
            )
        )
        for taxpayer_id, created, section, gstin, open_, count, amount in session.execute(stmt):
            arrivals[taxpayer_id].append(
                _Arrival(
                    _india(created), section, gstin, bool(open_), count,
                    Decimal(amount).quantize(Decimal("0.01")),
                )
            )
    found = {
        (taxpayer_id, since): _summarise(
            [a for a in arrivals.get(taxpayer_id, ()) if a.created_at > since]
        )
        for taxpayer_id, since in windows
    }
    return _with_names(session, found)


def _with_names(
    session: Session, found: dict[tuple[int, datetime], NewRecords]
) -> dict[tuple[int, datetime], NewRecords]:
    """Name the top suppliers (only those: a digest names a few) from the suppliers table."""
    wanted = {(t, s.gstin) for (t, _), news in found.items() for s in news.top_suppliers}
    names = names_for_many(session, wanted)
    return {
        (t, since): replace(news, top_suppliers=tuple(
            replace(s, name=names.get((t, s.gstin), ""))
            for s in news.top_suppliers
        ))
        for (t, since), news in found.items()
    }


def _summarise(arrivals: Sequence[_Arrival]) -> NewRecords:
    if not arrivals:
        return NewRecords()
    sections: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    itc = credit_note_tax = Decimal(0)
    for a in arrivals:
        sections[a.section] += a.records
        if a.section in _CREDIT_NOTES:
            credit_note_tax += a.tax
            continue
        itc += a.tax
        counts[a.supplier_gstin] += a.records
        amounts[a.supplier_gstin] += a.tax
    ranked = sorted(
        (SupplierItc(g, "", counts[g], amounts[g]) for g in amounts if amounts[g] > 0),
        key=lambda s: (-s.itc, s.gstin),
    )
    return NewRecords(
        records=sum(a.records for a in arrivals),
        open_records=sum(a.records for a in arrivals if a.open),
        itc=itc,
        credit_note_tax=credit_note_tax,
        by_section=tuple(
            (Section(value), count)
            for value, count in sorted(sections.items(), key=lambda i: _SECTION_ORDER[i[0]])
        ),
        top_suppliers=tuple(ranked[:TOP_SUPPLIERS]),
    )


# ------------------------------------------------------------------------------ wording


NOTES = "credit notes or amendments"


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def todo_text(deadline: Deadline, work: OpenWork | None) -> str:
    """What this deadline asks, in one line (no HTML)."""
    if work is None:
        return {
            DeadlineKind.DRAFT_2B: "Act on your IMS records before the draft is generated.",
            DeadlineKind.GSTR3B_DUE: "Act on your IMS records and recompute GSTR-2B, then "
            "file GSTR-3B.",
            DeadlineKind.PENDING_WINDOW: "Accept or reject credit notes you kept pending.",
            DeadlineKind.ITC_TIME_LIMIT: "Accept invoices you kept pending before you file "
            "that GSTR-3B.",
        }[deadline.kind]
    if work.filed and deadline.kind is not DeadlineKind.ITC_TIME_LIMIT:
        return "GSTR-3B filed: nothing left to do."
    if deadline.kind is DeadlineKind.PENDING_WINDOW:
        if not work.leaving_window:
            return "No credit notes or amendments waiting."
        return (
            f"{_plural(work.leaving_window, 'credit note or amendment', NOTES)} still open: "
            "accept or reject them, or they count as accepted."
        )
    if deadline.kind is DeadlineKind.ITC_TIME_LIMIT:
        if not work.leaving_window:
            return "No pending invoices reach this limit."
        return (
            f"{_plural(work.leaving_window, 'pending record')}: accept or reject them before "
            "you file that GSTR-3B."
        )
    if not work.open_records:
        return "Nothing open in IMS"
    text = f"{_plural(work.open_records, 'record')} need a decision"
    if work.pending:
        text += f" ({work.pending} pending)"
    text += f", {rupees(work.open_itc)} ITC"
    if work.credit_notes:
        text += f"; {_plural(work.credit_notes, 'credit note')}"
    return text


def _with_windows(items: list[DeadlineItem]) -> list[DeadlineItem]:
    """On a 3B due date, also say which credit notes leave their pending window that day."""
    windows = {i.date: i for i in items if i.kind is DeadlineKind.PENDING_WINDOW}
    out = []
    for item in items:
        window = windows.get(item.date)
        if item.kind is DeadlineKind.GSTR3B_DUE and window is not None and window.open_records:
            extra = (
                f"{_plural(window.open_records, 'credit note or amendment', NOTES)} "
                "leave their pending window "
                f"on {item.date:%d %b}"
            )
            item = DeadlineItem(
                item.kind, item.period, item.date, item.days_left, item.title,
                f"{item.todo}; {extra}", item.open_records, item.open_itc,
            )
        out.append(item)
    return out


# ------------------------------------------------------------------------------ the report


def upcoming(
    db: Database,
    gstin: str,
    today: date,
    *,
    owner_id: int = LOCAL_OWNER,
    frequency: Frequency | None = None,
    horizon_days: int = 62,
) -> list[DeadlineItem]:
    """The coming deadlines of `gstin` (seen by `owner_id`) with days left and open work.

    A GSTIN without a workspace still gets its calendar (monthly unless told), no counts.
    """
    gstin = parse_gstin(gstin)
    state = state_code(gstin)
    with db.begin() as session:
        taxpayer = session.scalar(
            select(Taxpayer).where(Taxpayer.gstin == gstin, Taxpayer.owner_id == owner_id)
        )
        return _items(session, taxpayer, state, frequency, today, horizon_days)


def _items(
    session: Session,
    taxpayer: Taxpayer | None,
    state: str,
    frequency: Frequency | None,
    today: date,
    horizon_days: int,
) -> list[DeadlineItem]:
    chosen = frequency or (Frequency(taxpayer.frequency) if taxpayer else Frequency.MONTHLY)
    found = deadlines.calendar(state, chosen, today, horizon_days=horizon_days)
    work: dict[WorkKey, OpenWork] = {}
    scope = None
    if taxpayer is not None:
        scope = Scope(taxpayer.id, state, chosen)
        work = open_work(session, [(scope, d) for d in found], today)
    items = []
    for d in found:
        w = work.get(key_of(scope.taxpayer_id, d)) if scope else None
        items.append(
            DeadlineItem(
                kind=d.kind,
                period=d.period,
                date=d.date,
                days_left=d.days_left(today),
                title=d.title,
                todo=todo_text(d, w),
                open_records=w.open_records if w else 0,
                open_itc=w.open_itc if w else Decimal(0),
            )
        )
    return _with_windows(items)


@dataclass(frozen=True)
class UserDeadlines:
    gstin: str | None
    name: str
    items: list[DeadlineItem]


def for_user(db: Database, user_id: int, today: date, *, horizon_days: int = 62) -> UserDeadlines:
    """The coming deadlines of the user's active workspace (or their first one)."""
    with db.begin() as session:
        user = session.get(User, user_id)
        taxpayer = None
        if user is not None and user.active_taxpayer_id is not None:
            taxpayer = session.get(Taxpayer, user.active_taxpayer_id)
        if taxpayer is None:
            taxpayer = session.scalar(
                select(Taxpayer)
                .join(Membership, Membership.taxpayer_id == Taxpayer.id)
                .where(Membership.user_id == user_id)
                .order_by(Taxpayer.id)
                .limit(1)
            )
        if taxpayer is None:
            return UserDeadlines(None, "", [])
        items = _items(session, taxpayer, taxpayer.state_code, None, today, horizon_days)
        return UserDeadlines(taxpayer.gstin, taxpayer.name, items)


def days_text(days_left: int) -> str:
    if days_left == 0:
        return "today"
    if days_left == 1:
        return "tomorrow"
    if days_left < 0:
        return f"{-days_left} days ago"
    return f"in {days_left} days"


def format_text(items: Sequence[DeadlineItem]) -> str:
    """One line per deadline, for the CLI."""
    if not items:
        return "No deadlines in this window."
    return "\n".join(
        f"{item.date:%a %d %b %Y}  ({days_text(item.days_left)})  {item.title}: {item.todo}"
        for item in items
    )
