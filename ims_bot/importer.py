"""Import a portal IMS file into a workspace: validated, streamed, all or nothing.

The file is read record by record (never loaded whole); rows are written in batches inside
one transaction, which is rolled back if any record is invalid, so a refused file leaves
the store exactly as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ims_bot.db import Database, insert_rows
from ims_bot.domain import Period, Section, Status, Tax
from ims_bot.errors import ImportRefused, NotFound
from ims_bot.facts import direction_of
from ims_bot.models import ActionLog, Record, Taxpayer
from ims_bot.portal import FieldError, RecordError, RecordRow, iter_raw_records, parse_record
from ims_bot.settings import INDIA

BATCH = 2000
OPEN_STATUSES = frozenset({Status.NO_ACTION.value, Status.PENDING.value})
#: Errors kept for the report; the rest are only counted.
MAX_ERRORS_KEPT = 200
SUPPLIER_EDIT_REASON = (
    "The supplier changed this record after you acted on it, so your earlier action no "
    "longer applies: it is back to no action and needs a fresh decision."
)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportReport:
    total: int
    created: int
    updated: int
    unchanged: int
    reset_by_supplier: int
    by_section: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    open_tax: Tax = field(default_factory=Tax)  # ITC of records still needing a decision
    periods: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "reset_by_supplier": self.reset_by_supplier,
            "by_section": self.by_section,
            "by_status": self.by_status,
            "open_itc": {k: float(v) for k, v in self.open_tax.as_dict().items()},
            "periods": list(self.periods),
        }


@dataclass
class _Existing:
    id: int
    content_hash: str
    status: str
    portal_status: str


def _row(taxpayer_id: int, row: RecordRow, now: datetime) -> RecordRow:
    row["taxpayer_id"] = taxpayer_id
    row["acted_at"] = None
    row["created_at"] = now
    row["updated_at"] = now
    row["version"] = 1
    return row


#: Columns a supplier's edit replaces (not the identity, creation time or version).
_KEEP_ON_UPDATE = frozenset({"taxpayer_id", "natural_key", "version", "acted_at", "created_at"})


class _Writer:
    """Collects rows and writes them in batches inside the caller's transaction.

    (Writing from a second thread while parsing was measured: the GIL hand-offs made it
    slower on SQLite and no faster on PostgreSQL.)
    """

    def __init__(self, session: Session, taxpayer_id: int, actor: str, channel: str) -> None:
        self.session = session
        self.taxpayer_id = taxpayer_id
        self.actor = actor
        self.channel = channel
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[tuple[int, dict[str, Any]]] = []
        self.logs: list[dict[str, Any]] = []

    def flush(self) -> None:
        insert_rows(self.session, Record.__table__, self.inserts)
        for record_id, values in self.updates:
            self.session.execute(
                update(Record.__table__)
                .where(Record.__table__.c.id == record_id)
                .values(version=Record.__table__.c.version + 1, **values)
            )
        insert_rows(self.session, ActionLog.__table__, self.logs)
        self.inserts, self.updates, self.logs = [], [], []


def _existing(session: Session, taxpayer_id: int) -> dict[str, _Existing]:
    stmt = select(
        Record.natural_key, Record.id, Record.content_hash, Record.status, Record.portal_status
    ).where(Record.taxpayer_id == taxpayer_id)
    return {
        key: _Existing(rid, chash, status, portal)
        for key, rid, chash, status, portal in session.execute(
            stmt.execution_options(yield_per=10000)
        )
    }


def import_file(
    db: Database,
    taxpayer_id: int,
    stream: IO[bytes],
    *,
    actor: str,
    channel: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a portal file (get-records response or offline-tool download).

    Raises PortalFileError (not an IMS file) or ImportRefused (invalid records; nothing
    written), NotFound (no such workspace).
    """
    now = datetime.now(INDIA)
    with db.begin() as session:
        if session.get(Taxpayer, taxpayer_id) is None:
            raise NotFound("This GSTIN is not linked (any more).")
        writer = _Writer(session, taxpayer_id, actor, channel)
        tally = _read(stream, _existing(session, taxpayer_id), writer, now, progress)
        if tally.error_count:
            raise ImportRefused(tally.errors, tally.error_count)
        writer.flush()
        _set_directions(session, taxpayer_id)
        if progress is not None:
            progress(tally.total)
    return ImportReport(
        total=tally.total,
        created=tally.counts["created"],
        updated=tally.counts["updated"] + tally.counts["reset"],
        unchanged=tally.counts["unchanged"],
        reset_by_supplier=tally.counts["reset"],
        by_section=dict(tally.by_section),
        by_status=dict(tally.by_status),
        open_tax=Tax(*tally.open_tax),
        periods=tuple(str(Period.from_key(key)) for key in sorted(tally.periods)),
    )


@dataclass
class _Tally:
    """What reading a file found: counts for the report, and every problem."""

    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # created/updated/reset/unchanged
    by_section: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    periods: set[int] = field(default_factory=set)
    open_tax: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * 4)
    errors: list[FieldError] = field(default_factory=list)
    error_count: int = 0

    def problem(self, error: FieldError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)


def _read(
    stream: IO[bytes],
    existing: dict[str, _Existing],
    writer: _Writer,
    now: datetime,
    progress: Progress | None,
) -> _Tally:
    """Validate every record and stage its write; after the first problem, only validate."""
    tally = _Tally()
    seen: dict[str, tuple[str, int]] = {}
    for section, position, raw in iter_raw_records(stream):
        tally.total += 1
        if progress is not None and tally.total % 5000 == 0:
            progress(tally.total)
        try:
            record = parse_record(section, position, raw)
        except RecordError as exc:
            tally.problem(exc.error)
            continue
        key = record["natural_key"]
        first = seen.setdefault(key, (section, position))
        if first != (section, position):
            tally.problem(FieldError(
                section, position, "inum/nt_num",
                f"duplicate of {first[0]} #{first[1]} (same supplier and number)",
            ))
            continue
        if tally.error_count:
            continue  # the file is refused anyway
        tally.by_section[section] += 1
        tally.by_status[record["status"]] += 1
        tally.periods.add(record["period_key"])
        if record["status"] in OPEN_STATUSES:
            heads = (record["igst"], record["cgst"], record["sgst"], record["cess"])
            tally.open_tax = [a + b for a, b in zip(tally.open_tax, heads, strict=True)]
        tally.counts[_stage(writer, existing.get(key), record, now)] += 1
        if len(writer.inserts) + len(writer.updates) >= BATCH:
            writer.flush()
    return tally


def _stage(writer: _Writer, old: _Existing | None, record: RecordRow, now: datetime) -> str:
    """Queue the insert/update for one record; returns created/updated/reset/unchanged."""
    if old is None:
        writer.inserts.append(_row(writer.taxpayer_id, record, now))
        return "created"
    file_status = record["status"]
    if old.content_hash != record["content_hash"]:
        values = {k: v for k, v in record.items() if k not in _KEEP_ON_UPDATE}
        values["updated_at"] = now
        acted = old.status != Status.NO_ACTION.value
        writer.updates.append((old.id, values))
        if acted and old.status != file_status:
            writer.logs.append(
                _log(writer, old.id, now, "supplier_edit", old.status, file_status,
                     SUPPLIER_EDIT_REASON)
            )
            return "reset"
        return "updated"
    if file_status != old.portal_status:
        # The status on the portal changed (acted there directly). Take it, unless the
        # user has a local decision not yet uploaded: that one stays, to be exported.
        values: dict[str, Any] = {"portal_status": file_status, "updated_at": now}
        if old.status == old.portal_status:
            values["status"] = file_status
            writer.logs.append(
                _log(writer, old.id, now, "portal", old.status, file_status,
                     "Status as saved on the GST portal.")
            )
        writer.updates.append((old.id, values))
        return "updated"
    return "unchanged"


def _log(
    writer: _Writer, record_id: int, now: datetime, kind: str, old: str, new: str, reason: str
) -> dict[str, Any]:
    return {
        "taxpayer_id": writer.taxpayer_id,
        "record_id": record_id,
        "at": now,
        "actor": writer.actor,
        "channel": writer.channel,
        "kind": kind,
        "from_status": old,
        "to_status": new,
        "reason": reason,
        "undone": True,  # not an action of the recipient: nothing to undo
    }


def _set_directions(session: Session, taxpayer_id: int) -> None:
    """Tell upward from downward amendments by comparing with the original, where stored."""
    amendments = session.execute(
        select(
            Record.id, Record.section, Record.supplier_gstin, Record.original_number,
            Record.igst, Record.cgst, Record.sgst, Record.cess,
        ).where(
            Record.taxpayer_id == taxpayer_id,
            Record.section.in_([s.value for s in Section if s.is_amendment]),
            Record.direction.is_(None),
        )
    ).all()
    if not amendments:
        return
    originals: dict[tuple[str, str, str], Tax] = {}
    numbers = sorted({a.original_number for a in amendments if a.original_number})
    for start in range(0, len(numbers), 500):  # stay far below SQLite's bound-parameter cap
        stmt = select(
            Record.section, Record.supplier_gstin, Record.number,
            Record.igst, Record.cgst, Record.sgst, Record.cess,
        ).where(
            Record.taxpayer_id == taxpayer_id,
            Record.section.in_([s.value for s in Section if not s.is_amendment]),
            Record.number.in_(numbers[start : start + 500]),
        )
        for section, supplier, number, *heads in session.execute(stmt):
            originals[(section, supplier, number)] = Tax(*heads)
    for a in amendments:
        original = originals.get((Section(a.section).original.value, a.supplier_gstin,
                                  a.original_number))
        if original is None:
            continue
        direction = direction_of(Tax(a.igst, a.cgst, a.sgst, a.cess), [original])
        if direction is not None:
            session.execute(
                update(Record.__table__)
                .where(Record.__table__.c.id == a.id)
                .values(direction=direction.value)
            )
