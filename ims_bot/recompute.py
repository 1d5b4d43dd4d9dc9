"""GSTR-2B recompute: what ITC the return period's GSTR-2B carries, from the IMS actions.

`figures()` is pure (groups of records in, figures out); `PeriodService` owns the
transactions: recompute (refused as the portal refuses it), and recording a filed GSTR-3B,
which locks the period and carries its pending records forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, extract, func, select, update
from sqlalchemy.orm import Session

from ims_bot import deadlines, rules
from ims_bot.db import Database
from ims_bot.domain import IMS_FIRST_PERIOD, TAX_HEADS, Frequency, Period, Section, Status, Tax
from ims_bot.errors import NotFound, Refused
from ims_bot.facts import Surroundings, facts_for, surroundings
from ims_bot.models import ActionLog, AnnualReturn, PeriodState, Record, Taxpayer
from ims_bot.money import rupees
from ims_bot.settings import INDIA

BUCKETS: tuple[str, ...] = (
    "available",
    "credit_note_reduction",
    "rejected",
    "pending",
    "not_filed",
    "time_barred",
    "not_netted",
)


@dataclass(frozen=True)
class Bucket:
    tax: Tax = field(default_factory=Tax)
    count: int = 0

    def plus(self, tax: Tax, count: int) -> Bucket:
        return Bucket(self.tax + tax, self.count + count)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {h: float(v) for h, v in self.tax.as_dict().items()}
        data["count"] = self.count
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bucket:
        return cls(Tax(*(Decimal(str(data.get(h, 0))) for h in TAX_HEADS)), int(data["count"]))

    def minus(self, other: Bucket) -> Bucket:
        return Bucket(self.tax - other.tax, self.count - other.count)


@dataclass(frozen=True)
class Group:
    """Records alike for every rule that decides their GSTR-2B treatment, summed up: `facts`
    carries their summed tax (one record's facts, with its original, for amendments)."""

    facts: rules.RecordFacts
    reduction: str | None  # declared ITC reduction: full | partial | nil
    declared: Tax  # declared reduction amounts (partial reductions)
    count: int


@dataclass(frozen=True)
class Figures:
    """GSTR-2B of a return period (ims-facts §3), per tax head with record counts.

    available: ITC available, net of credit-note reductions and amendments' changes;
    credit_note_reduction: what credit notes take off; rejected; pending (held back);
    not_filed: only saved by the supplier, in no GSTR-2B figure until filed;
    time_barred: ITC that s.16(4) no longer allows; not_netted: amendments whose original is
    not in the data (their full tax), left out because their change cannot be known.
    """

    available: Bucket
    credit_note_reduction: Bucket
    rejected: Bucket
    pending: Bucket
    not_filed: Bucket = field(default_factory=Bucket)
    time_barred: Bucket = field(default_factory=Bucket)
    not_netted: Bucket = field(default_factory=Bucket)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name).to_json() for name in BUCKETS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figures:
        # Figures stored before a bucket existed read it as empty.
        return cls(*(Bucket.from_json(data[n]) if n in data else Bucket() for n in BUCKETS))

    def minus(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, n).minus(getattr(other, n)) for n in BUCKETS))


def _declared_cut(g: Group, change: Tax) -> Tax:
    """What a record with a reduction declaration takes off: nil nothing, partial the declared
    amounts, full (the default) its whole change."""
    if g.reduction == "nil":
        return Tax()
    if g.reduction == "partial":
        return g.declared
    return change


def figures(groups: Iterable[Group], ctx: rules.Context) -> Figures:
    """Sort each group into GSTR-2B's parts (ims-facts §3), in this order:

    only saved by the supplier → not filed (no GSTR-2B figure at all); rejected → ITC
    rejected; time-barred by s.16(4) → time barred; pending → held back; an amendment whose
    original is unknown → not netted; otherwise accepted or deemed accepted → ITC available,
    by the record's change (amendments net of an original whose ITC was taken), a credit
    note reducing it by its change or the declared amount.
    """
    parts = {name: Bucket() for name in BUCKETS}
    gross = Bucket()

    def add(name: str, tax: Tax, count: int) -> None:
        parts[name] = parts[name].plus(tax, count)

    for g in groups:
        f = g.facts
        if not f.source_filed:
            add("not_filed", f.tax, g.count)
            continue
        status = rules.effective_status(f, ctx)
        if status is Status.REJECTED:
            add("rejected", f.tax, g.count)
        elif rules.itc_time_barred(f, ctx):
            add("time_barred", f.tax, g.count)
        elif status is Status.PENDING:
            add("pending", f.tax, g.count)
        elif rules.amendment_basis(f) is rules.Basis.UNKNOWN:
            add("not_netted", f.tax, g.count)
        elif f.section.is_credit_note:
            add("credit_note_reduction", _declared_cut(g, rules.itc_change(f)), g.count)
        elif rules.reduction_applicable(f) and rules.itc_change(f).total < 0:
            # A downward amendment of ITC taken: the declaration says how much of the cut
            # still has to come off (nil: already reversed).
            cut = _declared_cut(g, Tax() - rules.itc_change(f))
            gross = gross.plus(Tax() - cut, g.count)
        else:
            gross = gross.plus(rules.itc_change(f), g.count)
    reduction = parts["credit_note_reduction"]
    parts["available"] = Bucket(gross.tax - reduction.tax, gross.count)
    return Figures(**parts)


def notes(result: Figures, previous_filed: bool | None) -> list[str]:
    """What the figures assume or leave out, in plain words (shown with every recompute)."""
    lines = []
    if result.not_netted.count:
        lines.append(
            f"{result.not_netted.count} amendment(s) could not be netted: their original is "
            "not in your data, so how much they change your ITC is unknown. They are left out "
            f"of ITC available (their full tax is {rupees(result.not_netted.tax.total)}). "
            "Import the original's period, or check the difference on the portal."
        )
    if result.not_filed.count:
        lines.append(
            f"{result.not_filed.count} record(s) only saved by the supplier, not filed "
            f"({rupees(result.not_filed.tax.total)}), are in no GSTR-2B figure until the "
            "supplier files them. You can already act on them."
        )
    if result.time_barred.count:
        lines.append(
            f"{result.time_barred.count} record(s) ({rupees(result.time_barred.tax.total)}) "
            "are time-barred under Section 16(4): their ITC can no longer be claimed, so "
            "they are kept out of ITC available."
        )
    if previous_filed is False:
        lines.append(
            "Practitioners report that the portal may hold the draft GSTR-2B back while the "
            "previous period's GSTR-3B is unfiled; no GSTN text says so, and IMS Bot does "
            "not hold the recompute back for it."
        )
    return lines


@dataclass(frozen=True)
class RecomputeResult:
    period: Period  # the return period (quarter's last month for QRMP)
    frequency: Frequency
    figures: Figures
    change: Figures | None  # since the last recompute; None for the first one
    previous_at: datetime | None
    at: datetime
    notes: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        """The portal's IMS2005: nothing changed since the last generation."""
        return self.change is not None and all(
            getattr(self.change, n).count == 0 and getattr(self.change, n).tax.total == 0
            and getattr(self.change, n).tax == Tax()
            for n in BUCKETS
        )

    def to_json(self) -> dict[str, Any]:
        data = self.figures.to_json()
        data.update(
            {
                "period": str(self.period),
                "frequency": self.frequency.value,
                "change": self.change.to_json() if self.change else None,
                "unchanged": self.unchanged,
                "previous_at": self.previous_at.isoformat() if self.previous_at else None,
                "at": self.at.isoformat(),
                "notes": list(self.notes),
            }
        )
        return data


def months_of(period: Period, frequency: Frequency) -> list[Period]:
    end = deadlines.return_period(period, frequency)
    count = deadlines.months_per_tax_period(frequency)
    return [end.shift(-i) for i in reversed(range(count))]


_AMENDMENTS = [s.value for s in Section if s.is_amendment]


def _grouped(session: Session, taxpayer_id: int, keys: list[int], end: Period) -> list[Group]:
    """Original documents, summed per group of records every rule treats alike (one query):
    the financial year of the document date is a group key, for s.16(4)."""
    heads = [func.coalesce(func.sum(getattr(Record, h)), 0) for h in TAX_HEADS]
    declared = [func.coalesce(func.sum(getattr(Record, f"decl_{h}")), 0) for h in TAX_HEADS]
    year = extract("year", Record.doc_date)
    early = case((extract("month", Record.doc_date) < 4, 1), else_=0)  # Jan-Mar: FY before
    keys_of_group = (
        Record.section, Record.period_key, Record.status, Record.pending_blocked,
        Record.reduction, Record.source_filed, year, early,
    )
    stmt = (
        select(*keys_of_group, func.count(Record.id), *heads, *declared)
        .where(
            Record.taxpayer_id == taxpayer_id,
            Record.itc_period_key.in_(keys),
            Record.section.not_in(_AMENDMENTS),
        )
        .group_by(*keys_of_group)
    )
    groups = []
    for section, period_key, status, blocked, reduction, filed, yr, jan_mar, count, *sums in (
        session.execute(stmt).all()
    ):
        # Any day of the document's financial year stands for its date: only the year counts.
        fy_day = date(int(yr) - int(jan_mar), 4, 1) if yr is not None else None
        facts = rules.RecordFacts(
            section=Section(section),
            period=Period.from_key(period_key),
            status=Status(status),
            tax=Tax(*(Decimal(v) for v in sums[:4])),
            document_date=fy_day,
            source_filed=filed,
            pending_blocked=blocked,
            itc_period=end,
        )
        groups.append(Group(facts, reduction, Tax(*(Decimal(v) for v in sums[4:])), count))
    return groups


def _amendments(
    session: Session, taxpayer_id: int, keys: list[int], around: Surroundings
) -> list[Group]:
    """Amendments one by one, each with its original: they count by their change (§3)."""
    rows = session.scalars(
        select(Record).where(
            Record.taxpayer_id == taxpayer_id,
            Record.itc_period_key.in_(keys),
            Record.section.in_(_AMENDMENTS),
        )
    ).all()
    return [
        Group(
            facts,
            row.reduction,
            Tax(*(v or Decimal(0) for v in (row.decl_igst, row.decl_cgst, row.decl_sgst,
                                            row.decl_cess))),
            1,
        )
        for row, (facts, _ctx) in zip(rows, facts_for(session, rows, around), strict=True)
    ]


class PeriodService:
    def __init__(self, db: Database, today: Callable[[], date]) -> None:
        self.db = db
        self.today = today

    def recompute(self, taxpayer_id: int, period: Period) -> RecomputeResult:
        """Recompute GSTR-2B of the return period holding `period`. Raises Refused."""
        today = self.today()
        with self.db.begin() as session:
            taxpayer = session.get(Taxpayer, taxpayer_id)
            if taxpayer is None:
                raise NotFound("This GSTIN is not linked (any more).")
            frequency = Frequency(taxpayer.frequency)
            end = deadlines.return_period(period, frequency)
            state = session.get(PeriodState, (taxpayer_id, end.key), with_for_update=True)
            filed = state is not None and state.gstr3b_filed_on is not None
            verdict = rules.recompute_verdict(period, frequency, filed, today)
            if not verdict.allowed:
                raise Refused(verdict)
            keys = [p.key for p in months_of(period, frequency)]
            around = surroundings(session, taxpayer, today)
            groups = _grouped(session, taxpayer_id, keys, end)
            groups += _amendments(session, taxpayer_id, keys, around)
            ctx = around.context(end)
            result_figures = figures(groups, ctx)
            before = deadlines.return_period(end.shift(-1), frequency)
            previous_filed = around.is_filed(before) if before >= IMS_FIRST_PERIOD else None
            now = datetime.now(INDIA)
            previous = None
            previous_at = None
            if state is None:
                state = PeriodState(taxpayer_id=taxpayer_id, period_key=end.key)
                session.add(state)
            elif state.last_figures:
                previous = Figures.from_json(state.last_figures)
                previous_at = state.last_recompute_at
            state.last_figures = result_figures.to_json()
            state.last_recompute_at = now
            return RecomputeResult(
                period=end,
                frequency=frequency,
                figures=result_figures,
                change=result_figures.minus(previous) if previous else None,
                previous_at=previous_at,
                at=now,
                notes=tuple(notes(result_figures, previous_filed)),
            )

    def mark_filed(self, taxpayer_id: int, period: Period, *, actor: str, channel: str) -> int:
        """Record that GSTR-3B of the return period holding `period` is filed.

        Accepted and rejected records of the period leave IMS (they are locked); pending
        ones carry forward to the next period. Returns how many records carried forward;
        filing twice changes nothing. Raises Refused for a period not ended or outside IMS.
        """
        with self.db.begin() as session:
            taxpayer = session.get(Taxpayer, taxpayer_id)
            if taxpayer is None:
                raise NotFound("This GSTIN is not linked (any more).")
            frequency = Frequency(taxpayer.frequency)
            verdict = rules.filing_verdict(period, frequency, self.today())
            if not verdict.allowed:
                raise Refused(verdict)
            end = deadlines.return_period(period, frequency)
            state = session.get(PeriodState, (taxpayer_id, end.key), with_for_update=True)
            if state is None:
                state = PeriodState(taxpayer_id=taxpayer_id, period_key=end.key)
                session.add(state)
            elif state.gstr3b_filed_on is not None:
                return 0
            state.gstr3b_filed_on = self.today()
            keys = [p.key for p in months_of(period, frequency)]
            carried = session.execute(
                update(Record)
                .where(
                    Record.taxpayer_id == taxpayer_id,
                    Record.itc_period_key.in_(keys),
                    Record.status == Status.PENDING.value,
                )
                .values(itc_period_key=end.next.key, version=Record.version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.add(
                ActionLog(
                    taxpayer_id=taxpayer_id,
                    record_id=None,
                    at=datetime.now(INDIA),
                    actor=actor,
                    channel=channel,
                    kind="filed",
                    reason=(
                        f"GSTR-3B for {deadlines.period_label(end, frequency)} filed; "
                        f"{carried} pending record(s) carried forward"
                    ),
                    undone=True,
                )
            )
            return carried

    def record_annual_return(
        self, taxpayer_id: int, fy_start: int, filed_on: date, *, actor: str, channel: str
    ) -> None:
        """Record the day the annual return for a financial year was filed (s.16(4): filed
        before 30 Nov, it ends the time limit for that year's ITC earlier). Raises Refused."""
        verdict = rules.annual_return_verdict(fy_start, filed_on, self.today())
        if not verdict.allowed:
            raise Refused(verdict)
        with self.db.begin() as session:
            if session.get(Taxpayer, taxpayer_id) is None:
                raise NotFound("This GSTIN is not linked (any more).")
            row = session.get(AnnualReturn, (taxpayer_id, fy_start), with_for_update=True)
            if row is None:
                session.add(AnnualReturn(taxpayer_id=taxpayer_id, fy_start=fy_start,
                                         filed_on=filed_on))
            else:
                row.filed_on = filed_on
            session.add(
                ActionLog(
                    taxpayer_id=taxpayer_id, record_id=None, at=datetime.now(INDIA),
                    actor=actor, channel=channel, kind="annual_return",
                    reason=f"Annual return for FY {fy_start}-{(fy_start + 1) % 100:02d} "
                    f"filed on {filed_on:%d %b %Y}",
                    undone=True,
                )
            )

    def is_filed(self, taxpayer_id: int, period: Period) -> bool:
        with self.db.read() as session:
            taxpayer = session.get(Taxpayer, taxpayer_id)
            if taxpayer is None:
                raise NotFound("This GSTIN is not linked (any more).")
            end = deadlines.return_period(period, Frequency(taxpayer.frequency))
            state = session.get(PeriodState, (taxpayer_id, end.key))
            return state is not None and state.gstr3b_filed_on is not None
