"""Turn stored rows into the rules module's facts: the one bridge between the store and rules.

Everything a rule needs about a record's surroundings (its original, the filed periods)
is read here in batches, so services never hand-roll a rule input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ims_bot import deadlines
from ims_bot.domain import Direction, Frequency, Period, Section, Status, Tax
from ims_bot.models import AnnualReturn, PeriodState, Record, Taxpayer
from ims_bot.rules import Context, RecordFacts


@dataclass(frozen=True)
class Surroundings:
    """What is known of a workspace beyond single records: frequency, state, filed periods,
    annual returns."""

    frequency: Frequency
    state_code: str
    filed: frozenset[int]  # return-period keys whose GSTR-3B is filed
    today: date
    annual_returns: Mapping[int, date] = field(default_factory=dict)  # FY start → filed on

    def is_filed(self, period: Period) -> bool:
        return deadlines.return_period(period, self.frequency).key in self.filed

    def context(self, itc_period: Period) -> Context:
        return Context(
            frequency=self.frequency,
            state_code=self.state_code,
            gstr3b_filed=self.is_filed(itc_period),
            today=self.today,
            filed_returns=self.filed,
            annual_returns=self.annual_returns,
        )


def surroundings(session: Session, taxpayer: Taxpayer, today: date) -> Surroundings:
    filed = session.scalars(
        select(PeriodState.period_key).where(
            PeriodState.taxpayer_id == taxpayer.id, PeriodState.gstr3b_filed_on.is_not(None)
        )
    ).all()
    annual = session.execute(
        select(AnnualReturn.fy_start, AnnualReturn.filed_on).where(
            AnnualReturn.taxpayer_id == taxpayer.id
        )
    ).all()
    return Surroundings(
        frequency=Frequency(taxpayer.frequency),
        state_code=taxpayer.state_code,
        filed=frozenset(filed),
        today=today,
        annual_returns={fy: filed_on for fy, filed_on in annual},
    )


def record_tax(row: Record) -> Tax:
    return Tax(row.igst, row.cgst, row.sgst, row.cess)


@dataclass(frozen=True)
class Original:
    status: Status
    period: Period  # where its ITC landed (its GSTR-2B period, or later if carried forward)
    tax: Tax


def originals_of(session: Session, rows: Sequence[Record]) -> dict[int, Original]:
    """The original record of each amendment in `rows` that the store holds, by amendment id."""
    wanted = {
        r.id: (Section(r.section).original.value, r.supplier_gstin, r.original_number)
        for r in rows
        if Section(r.section).is_amendment and r.original_number
    }
    if not wanted:
        return {}
    taxpayer_id = rows[0].taxpayer_id
    found: dict[tuple[str, str, str], Original] = {}
    keys = list(set(wanted.values()))
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt = select(
            Record.section,
            Record.supplier_gstin,
            Record.number,
            Record.status,
            Record.itc_period_key,
            Record.igst,
            Record.cgst,
            Record.sgst,
            Record.cess,
        ).where(
            Record.taxpayer_id == taxpayer_id,
            tuple_(Record.section, Record.supplier_gstin, Record.number).in_(chunk),
        )
        for section, supplier, number, status, itc_key, *heads in session.execute(stmt):
            found[(section, supplier, number)] = Original(
                Status(status), Period.from_key(itc_key), Tax(*heads)
            )
    return {rid: found[key] for rid, key in wanted.items() if key in found}


def record_facts(row: Record, around: Surroundings, original: Original | None) -> RecordFacts:
    return RecordFacts(
        section=Section(row.section),
        period=Period.from_key(row.period_key),
        status=Status(row.status),
        tax=record_tax(row),
        document_date=row.doc_date,
        source_filed=row.source_filed,
        direction=Direction(row.direction) if row.direction else None,
        original_status=original.status if original else None,
        original_3b_filed=around.is_filed(original.period) if original else False,
        original_tax=original.tax if original else None,
        itc_period=Period.from_key(row.itc_period_key),
        pending_blocked=row.pending_blocked,
        itc_reduction_blocked=row.itc_reduction_blocked,
        remarks_blocked=row.remarks_blocked,
        boe_gstin_amended=row.boe_gstin_amended,
    )


def facts_for(
    session: Session, rows: Sequence[Record], around: Surroundings
) -> list[tuple[RecordFacts, Context]]:
    originals = originals_of(session, rows)
    return [
        (
            record_facts(row, around, originals.get(row.id)),
            around.context(Period.from_key(row.itc_period_key)),
        )
        for row in rows
    ]


def direction_of(amended: Tax, original: Iterable[Tax]) -> Direction | None:
    """Upward when the amendment raises the tax, downward when it lowers it."""
    for tax in original:
        if amended.total > tax.total:
            return Direction.UPWARD
        if amended.total < tax.total:
            return Direction.DOWNWARD
        return None
    return None
