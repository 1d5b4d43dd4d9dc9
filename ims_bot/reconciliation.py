"""The reconciliation service: read a register, match it with a workspace's records, keep
the run, and apply one of its groups through the records service's bulk actions.

Each public method is one unit of work. Applying a group goes through
`RecordService.preview_bulk` / `act_bulk` with the group's record ids, so the rules module
checks every record as for any bulk action, and the batch can be undone as one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ims_bot import reconcile, suppliers
from ims_bot.db import Database
from ims_bot.domain import Action, Section, Tax
from ims_bot.errors import InvalidInput, NotFound
from ims_bot.facts import surroundings
from ims_bot.models import ReconcileRun, Record, RegisterMapping, Taxpayer
from ims_bot.reconcile import Doc, Group
from ims_bot.records import OPEN_STATUSES, BulkOutcome, BulkPreview, RecordFilter, RecordService
from ims_bot.register import FIELDS, Register, read_register
from ims_bot.settings import INDIA

Today = Callable[[], date]

#: What applying a group does: the suggestion, as a bulk action (not_in_ims has no records).
GROUP_ACTIONS = {
    Group.MATCHED: Action.ACCEPT,
    Group.NEAR_MATCH: Action.ACCEPT,
    Group.AMOUNT_MISMATCH: Action.PENDING,
    Group.NOT_IN_BOOKS: Action.PENDING,
}
MAX_TOLERANCE = Decimal(10_000)
MAX_DAYS = 60


@dataclass(frozen=True)
class Reconciled:
    result: reconcile.Result
    register: Register
    follow_ups: dict[str, str]  # supplier GSTIN -> message to forward
    names_filled: int
    run_id: int | None = None


def _now() -> datetime:
    return datetime.now(INDIA)


def check_mapping(pairs: Mapping[str, str]) -> dict[str, str]:
    """Field → header pairs as a user gives them; InvalidInput for an unknown field."""
    unknown = sorted(set(pairs) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown register field(s) {', '.join(unknown)}: use "
                           f"{', '.join(FIELDS)}")
    return {f: h.strip()[:200] for f, h in pairs.items() if h.strip()}


class ReconcileService:
    def __init__(self, db: Database, today: Today) -> None:
        self.db = db
        self.today = today
        self.records = RecordService(db, today)

    def mapping(self, taxpayer_id: int) -> dict[str, str]:
        with self.db.read() as session:
            row = session.get(RegisterMapping, taxpayer_id)
            return dict(row.mapping) if row is not None else {}

    def remember_mapping(self, taxpayer_id: int, mapping: Mapping[str, str]) -> None:
        with self.db.begin() as session:
            self._save_mapping(session, taxpayer_id, dict(mapping))

    @staticmethod
    def _save_mapping(session: Any, taxpayer_id: int, mapping: dict[str, str]) -> None:
        row = session.get(RegisterMapping, taxpayer_id)
        if row is None:
            session.add(RegisterMapping(taxpayer_id=taxpayer_id, mapping=mapping,
                                        updated_at=_now()))
        elif row.mapping != mapping:
            row.mapping, row.updated_at = mapping, _now()

    def run(
        self,
        taxpayer_id: int,
        data: bytes,
        name: str = "register.csv",
        *,
        mapping: Mapping[str, str] | None = None,
        tolerance: Decimal = reconcile.DEFAULT_TOLERANCE,
        days: int = reconcile.DEFAULT_DAYS,
        user_id: int | None = None,
    ) -> Reconciled:
        """Match the register with the workspace's records. Records are not changed; the
        register's supplier names and the column mapping are remembered, and with a
        `user_id` the run is kept (for its buttons). Raises RegisterError, MappingNeeded."""
        if not 0 <= tolerance <= MAX_TOLERANCE or not 0 <= days <= MAX_DAYS:
            raise InvalidInput(f"the tolerance is ₹0-{MAX_TOLERANCE} and days 0-{MAX_DAYS}")
        given = {**self.mapping(taxpayer_id), **dict(mapping or {})}
        register = read_register(data, name, given)
        records = self._records(taxpayer_id)
        result = reconcile.reconcile(records, register.rows, tolerance=tolerance, days=days)
        with self.db.begin() as session:
            taxpayer = session.get(Taxpayer, taxpayer_id)
            if taxpayer is None:
                raise NotFound("This GSTIN is not linked (any more).")
            names = {r.gstin: r.name for r in register.rows if r.name}
            filled = suppliers.remember(session, taxpayer_id, names, suppliers.Source.REGISTER)
            known = suppliers.names_for(session, taxpayer_id, names.keys() | {
                i.row.gstin for i in result.by_group(Group.NOT_IN_IMS) if i.row})
            if mapping:
                self._save_mapping(session, taxpayer_id, register.mapping)
            follow = reconcile.follow_ups(result, known)
            run_id = None
            if user_id is not None:
                run = ReconcileRun(taxpayer_id=taxpayer_id, user_id=user_id, created_at=_now(),
                                   result=_stored(result, follow))
                session.add(run)
                session.flush()
                run_id = run.id
        return Reconciled(result, register, follow, filled, run_id)

    def _records(self, taxpayer_id: int) -> list[Doc]:
        columns = (Record.id, Record.supplier_gstin, Record.number, Record.doc_date,
                   Record.section, Record.status, Record.igst, Record.cgst, Record.sgst,
                   Record.cess)
        with self.db.read() as session:
            taxpayer = session.get(Taxpayer, taxpayer_id)
            if taxpayer is None:
                raise NotFound("This GSTIN is not linked (any more).")
            # "Needs a decision" as listings and bulk actions read it (locks included).
            around = surroundings(session, taxpayer, self.today())
            open_stmt = self.records._where(
                select(Record.id), taxpayer_id, RecordFilter(needs_decision=True), around
            )
            open_ids = set(session.scalars(open_stmt))
            stmt = select(*columns).where(Record.taxpayer_id == taxpayer_id)
            credit = {Section.B2BCN.value, Section.B2BCNA.value}
            return [
                Doc(r.id, r.supplier_gstin, r.number, r.doc_date,
                    Tax(r.igst, r.cgst, r.sgst, r.cess), r.section in credit,
                    open=r.id in open_ids and r.status in OPEN_STATUSES)
                for r in session.execute(stmt)
            ]

    # ------------------------------------------------------------------ applying a group

    def group_ids(self, taxpayer_id: int, run_id: int, group: Group) -> list[int]:
        """The record ids of one group of a run of this workspace (NotFound otherwise)."""
        with self.db.read() as session:
            run = session.get(ReconcileRun, run_id)
            if run is None or run.taxpayer_id != taxpayer_id:
                raise NotFound("That reconciliation is not there any more: send the register "
                               "again.")
            return [int(i) for i in run.result.get("groups", {}).get(group.value, [])]

    def stored(self, taxpayer_id: int, run_id: int) -> dict[str, Any]:
        with self.db.read() as session:
            run = session.get(ReconcileRun, run_id)
            if run is None or run.taxpayer_id != taxpayer_id:
                raise NotFound("That reconciliation is not there any more: send the register "
                               "again.")
            return dict(run.result)

    # ------------------------------------------------------------------ column questions

    def ask_mapping(
        self, taxpayer_id: int, user_id: int, missing: tuple[str, ...], headers: tuple[str, ...]
    ) -> int:
        """Keep a question "which column is <field>?" (any replica may take the answer)."""
        question = {"missing": list(missing), "headers": [h[:60] for h in headers[:30]],
                    "answers": {}}
        with self.db.begin() as session:
            run = ReconcileRun(taxpayer_id=taxpayer_id, user_id=user_id, created_at=_now(),
                               result={"question": question})
            session.add(run)
            session.flush()
            return run.id

    def answer_mapping(self, taxpayer_id: int, run_id: int, column: int) -> dict[str, Any]:
        """Take the answer to the question's next field; once every field is answered the
        mapping is remembered for the workspace. Returns the question as it now stands."""
        with self.db.begin() as session:
            run = session.get(ReconcileRun, run_id)
            question = dict((run.result or {}).get("question") or {}) if run else {}
            if run is None or run.taxpayer_id != taxpayer_id or not question:
                raise NotFound("That question is not there any more: send the register again.")
            missing, headers = question["missing"], question["headers"]
            answers = dict(question["answers"])
            if not 0 <= column < len(headers):
                raise InvalidInput("That column is not in the file.")
            if len(answers) < len(missing):
                answers[missing[len(answers)]] = headers[column]
            question["answers"] = answers
            run.result = {"question": question}
            if len(answers) == len(missing):
                row = session.get(RegisterMapping, taxpayer_id)
                known = dict(row.mapping) if row is not None else {}
                self._save_mapping(session, taxpayer_id, {**known, **answers})
            return question

    def preview(self, taxpayer_id: int, group: Group, ids: list[int]) -> BulkPreview:
        action = _action(group)
        if not ids:
            return BulkPreview(action, 0, Tax(), 0, {})
        return self.records.preview_bulk(taxpayer_id, RecordFilter(ids=tuple(ids)), action)

    def apply(
        self, taxpayer_id: int, group: Group, ids: list[int], *, actor: str, channel: str
    ) -> BulkOutcome:
        action = _action(group)
        if not ids:
            return BulkOutcome(action, None, 0, Tax(), 0, {})
        return self.records.act_bulk(taxpayer_id, RecordFilter(ids=tuple(ids)), action,
                                     actor=actor, channel=channel)


def _action(group: Group) -> Action:
    action = GROUP_ACTIONS.get(group)
    if action is None:
        raise InvalidInput("Documents not in IMS are followed up with the supplier: there is "
                           "nothing to apply on the portal's records.")
    return action


def _stored(result: reconcile.Result, follow: dict[str, str]) -> dict[str, Any]:
    summary = {g: {k: (str(v) if isinstance(v, Decimal) else v) for k, v in s.items()}
               for g, s in result.summary().items()}
    # Both sides of the first few records of the groups to look at, for their previews.
    looks = {g.value: [i.reason for i in result.by_group(g) if i.record and i.record.open][:10]
             for g in (Group.NEAR_MATCH, Group.AMOUNT_MISMATCH)}
    return {
        "summary": summary,
        "groups": {g.value: [i.record.key for i in result.by_group(g)
                             if i.record is not None and i.record.open]
                   for g in reconcile.GROUPS},
        "follow_ups": follow,
        "looks": looks,
    }
