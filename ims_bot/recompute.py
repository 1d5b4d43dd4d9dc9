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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ims_bot import deadlines, rules
from ims_bot.db import Database
from ims_bot.domain import TAX_HEADS, Direction, Frequency, Period, Section, Status, Tax
from ims_bot.errors import NotFound, Refused
from ims_bot.facts import originals_of, record_facts, surroundings
from ims_bot.models import ActionLog, PeriodState, Record, Taxpayer
from ims_bot.settings import INDIA

BUCKETS: tuple[str, ...] = ("available", "credit_note_reduction", "rejected", "pending")


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
    """Records alike for every rule that decides their GSTR-2B treatment, summed up."""

    section: Section
    period: Period
    status: Status
    direction: Direction | None
    pending_blocked: bool | None
    reduction: str | None
    tax: Tax
    declared: Tax  # declared reduction amounts (partial reductions)
    count: int
    # Downward invoice/DN/ECO amendments: their original, which decides the pending window.
    original_status: Status | None = None
    original_3b_filed: bool = False


@dataclass(frozen=True)
class Figures:
    available: Bucket
    credit_note_reduction: Bucket
    rejected: Bucket
    pending: Bucket

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name).to_json() for name in BUCKETS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figures:
        return cls(*(Bucket.from_json(data[name]) for name in BUCKETS))

    def minus(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, n).minus(getattr(other, n)) for n in BUCKETS))


def figures(groups: Iterable[Group], ctx: rules.Context) -> Figures:
    """Sort each group into GSTR-2B's parts (ims-facts §3).

    Accepted or deemed accepted (no action; pending past its window) → ITC available, a
    credit note reducing it by the full tax or the declared amount; rejected → ITC
    rejected; pending → held back from this period.
    """
    gross = Bucket()
    reduction = Bucket()
    rejected = Bucket()
    pending = Bucket()
    for g in groups:
        facts = rules.RecordFacts(
            section=g.section,
            period=g.period,
            status=g.status,
            tax=g.tax,
            direction=g.direction,
            pending_blocked=g.pending_blocked,
            original_status=g.original_status,
            original_3b_filed=g.original_3b_filed,
        )
        status = rules.effective_status(facts, ctx)
        if status is Status.REJECTED:
            rejected = rejected.plus(g.tax, g.count)
        elif status is Status.PENDING:
            pending = pending.plus(g.tax, g.count)
        elif g.section.is_credit_note:
            if g.reduction == "nil":
                reduce_by = Tax()
            elif g.reduction == "partial":
                reduce_by = g.declared
            else:
                reduce_by = g.tax
            reduction = reduction.plus(reduce_by, g.count)
        else:
            gross = gross.plus(g.tax, g.count)
    available = Bucket(gross.tax - reduction.tax, gross.count)
    return Figures(available, reduction, rejected, pending)


@dataclass(frozen=True)
class RecomputeResult:
    period: Period  # the return period (quarter's last month for QRMP)
    frequency: Frequency
    figures: Figures
    change: Figures | None  # since the last recompute; None for the first one
    previous_at: datetime | None
    at: datetime

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
            }
        )
        return data


def months_of(period: Period, frequency: Frequency) -> list[Period]:
    end = deadlines.return_period(period, frequency)
    count = deadlines.months_per_tax_period(frequency)
    return [end.shift(-i) for i in reversed(range(count))]


#: Amendments whose pending window depends on their original (accepted and 3B filed or not).
_ORIGINAL_DECIDES = (Section.B2BA.value, Section.B2BDNA.value, Section.ECOMA.value)


def _with_originals(
    session: Session, taxpayer: Taxpayer, today: date, keys: list[int], groups: list[Group]
) -> list[Group]:
    """Replace the groups of pending downward invoice/DN/ECO amendments by one group per
    record that knows its original: a downward amendment of ITC already taken may be kept
    pending for one tax period only, then counts as accepted (ims-facts §2). They are few."""

    def decided_by_original(g: Group) -> bool:
        return (
            g.section.value in _ORIGINAL_DECIDES
            and g.direction is Direction.DOWNWARD
            and g.status is Status.PENDING
        )

    if not any(decided_by_original(g) for g in groups):
        return groups
    rows = session.scalars(
        select(Record).where(
            Record.taxpayer_id == taxpayer.id,
            Record.itc_period_key.in_(keys),
            Record.section.in_(_ORIGINAL_DECIDES),
            Record.direction == Direction.DOWNWARD.value,
            Record.status == Status.PENDING.value,
        )
    ).all()
    around = surroundings(session, taxpayer, today)
    originals = originals_of(session, rows)
    kept = [g for g in groups if not decided_by_original(g)]
    for row in rows:
        facts = record_facts(row, around, originals.get(row.id))
        declared = (row.decl_igst, row.decl_cgst, row.decl_sgst, row.decl_cess)
        kept.append(
            Group(
                section=facts.section,
                period=facts.period,
                status=facts.status,
                direction=facts.direction,
                pending_blocked=facts.pending_blocked,
                reduction=row.reduction,
                tax=facts.tax,
                declared=Tax(*(v or Decimal(0) for v in declared)),
                count=1,
                original_status=facts.original_status,
                original_3b_filed=facts.original_3b_filed,
            )
        )
    return kept


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
            heads = [func.coalesce(func.sum(getattr(Record, h)), 0) for h in TAX_HEADS]
            declared = [
                func.coalesce(func.sum(getattr(Record, f"decl_{h}")), 0) for h in TAX_HEADS
            ]
            stmt = (
                select(
                    Record.section, Record.period_key, Record.status, Record.direction,
                    Record.pending_blocked, Record.reduction, func.count(Record.id),
                    *heads, *declared,
                )
                .where(Record.taxpayer_id == taxpayer_id, Record.itc_period_key.in_(keys))
                .group_by(
                    Record.section, Record.period_key, Record.status, Record.direction,
                    Record.pending_blocked, Record.reduction,
                )
            )
            groups = [
                Group(
                    section=Section(section),
                    period=Period.from_key(period_key),
                    status=Status(status),
                    direction=Direction(direction) if direction else None,
                    pending_blocked=pending_blocked,
                    reduction=reduction,
                    count=count,
                    tax=Tax(*(Decimal(v) for v in sums[:4])),
                    declared=Tax(*(Decimal(v) for v in sums[4:])),
                )
                for section, period_key, status, direction, pending_blocked, reduction, count,
                *sums in session.execute(stmt).all()
            ]
            groups = _with_originals(session, taxpayer, today, keys, groups)
            ctx = rules.Context(frequency, taxpayer.state_code, False, today)
            result_figures = figures(groups, ctx)
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

    def is_filed(self, taxpayer_id: int, period: Period) -> bool:
        with self.db.begin() as session:
            taxpayer = session.get(Taxpayer, taxpayer_id)
            if taxpayer is None:
                raise NotFound("This GSTIN is not linked (any more).")
            end = deadlines.return_period(period, Frequency(taxpayer.frequency))
            state = session.get(PeriodState, (taxpayer_id, end.key))
            return state is not None and state.gstr3b_filed_on is not None
