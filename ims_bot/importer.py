"""Import a portal IMS file into a workspace: validated, streamed, all or nothing.

The file is read record by record (never loaded whole); rows are written in batches inside
one transaction, which is rolled back if any record is invalid, so a refused file leaves
the store exactly as it was.
"""

from __future__ import annotations

import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ims_bot import suppliers
from ims_bot.db import Database, insert_rows
from ims_bot.domain import Period, Section, Status, Tax
from ims_bot.errors import ImportRefused, NotFound, WrongTaxpayerFile
from ims_bot.facts import direction_of
from ims_bot.models import ActionLog, Record, Taxpayer
from ims_bot.portal import (
    SECTION_KEYS,
    FieldError,
    FileInfo,
    RecipientMismatch,
    RecordError,
    RecordRow,
    decision_fingerprint,
    iter_raw_records,
    parse_record,
    supplier_check_ok,
)
from ims_bot.settings import INDIA

BATCH = 2000
OPEN_STATUSES = frozenset({Status.NO_ACTION.value, Status.PENDING.value})
#: Errors kept for the report; the rest are only counted.
MAX_ERRORS_KEPT = 200
#: Supplier GSTINs with a wrong check character named in the report, as examples.
MAX_GSTIN_EXAMPLES = 5
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
    #: Lists in the file IMS Bot does not handle (the ISD sections, anything unknown) →
    #: their record counts: named in the summary, never dropped silently.
    not_handled: dict[str, int] = field(default_factory=dict)
    #: Records whose supplier GSTIN has a wrong check character (imported as the portal
    #: sent them), how many such GSTINs, and a few of them.
    bad_check_records: int = 0
    bad_check_gstins: int = 0
    bad_check_examples: tuple[str, ...] = ()

    @property
    def warnings(self) -> list[str]:
        """What the user should know about the data, one sentence each."""
        if not self.bad_check_records:
            return []
        examples = ", ".join(self.bad_check_examples)
        more = "" if self.bad_check_gstins <= len(self.bad_check_examples) else ", …"
        return [
            f"{self.bad_check_records} record(s) from {self.bad_check_gstins} supplier "
            f"GSTIN(s) with a wrong check character were imported as the portal sent them "
            f"({examples}{more}): check those suppliers' GSTINs."
        ]

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
            "not_handled": dict(sorted(self.not_handled.items())),
            "warnings": [
                {
                    "code": "SUPPLIER_GSTIN_CHECK_CHARACTER",
                    "records": self.bad_check_records,
                    "gstins": self.bad_check_gstins,
                    "examples": list(self.bad_check_examples),
                    "message": message,
                }
                for message in self.warnings
            ],
        }


@dataclass
class _Existing:
    id: int
    content_hash: str
    status: str
    portal_status: str
    portal_decision: str | None
    flags: tuple[bool | None, ...]  # the portal's per-record flags, as _FLAG_COLUMNS


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

    def local_decision(self, record_id: int) -> str | None:
        """The declaration a stored record would send now (its `decision_fingerprint`)."""
        r = self.session.execute(
            select(
                Record.section, Record.status, Record.reduction, Record.decl_igst,
                Record.decl_cgst, Record.decl_sgst, Record.decl_cess, Record.remarks,
                Record.remarks_blocked, Record.itc_reduction_blocked,
            ).where(Record.id == record_id)
        ).one()
        return decision_fingerprint(
            r.section, r.status, r.reduction, (r.decl_igst, r.decl_cgst, r.decl_sgst, r.decl_cess),
            r.remarks, remarks_blocked=r.remarks_blocked,
            itc_reduction_blocked=r.itc_reduction_blocked,
        )


def _existing(session: Session, taxpayer_id: int, *, lock: bool) -> dict[str, _Existing]:
    """The workspace's records as stored now; with `lock` (PostgreSQL), locked until the
    transaction ends, so no action slips in between this read and the import's writes
    (SQLite's BEGIN IMMEDIATE already holds the one write lock)."""
    stmt = select(
        Record.natural_key, Record.id, Record.content_hash, Record.status, Record.portal_status,
        Record.portal_decision, *(Record.__table__.c[name] for name in _FLAG_COLUMNS),
    ).where(Record.taxpayer_id == taxpayer_id)
    if lock:
        stmt = stmt.with_for_update()
    return {
        key: _Existing(rid, chash, status, portal, decision, tuple(flags))
        for key, rid, chash, status, portal, decision, *flags in session.execute(
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

    Raises PortalFileError (not an IMS file, or a provider's error response),
    WrongTaxpayerFile (the file names another recipient GSTIN), ImportRefused (invalid
    records; every problem listed, nothing written), NotFound (no such workspace).
    """
    return _import(
        db, taxpayer_id, lambda info: iter_raw_records(stream, info),
        actor=actor, channel=channel, progress=progress,
    )


def import_sections(
    db: Database,
    taxpayer_id: int,
    sections: Mapping[str, list[Any] | None],
    *,
    actor: str,
    channel: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Import IMS records fetched section by section from the portal (a provider's API):
    `{"b2b": [...], "b2bcn": [...], ...}`, merged with exactly the rules of `import_file`
    (supplier edits reset local decisions; local decisions not yet uploaded are kept).
    Lists IMS Bot does not read are named in the report's `not_handled`."""

    def records(info: FileInfo) -> Iterator[tuple[str, int, Any]]:
        for name, items in sections.items():
            if name not in SECTION_KEYS:
                if items:
                    info.not_handled[name] += len(items)
                continue
            for position, raw in enumerate(items or (), start=1):
                yield name, position, raw

    return _import(db, taxpayer_id, records, actor=actor, channel=channel, progress=progress)


def _import(
    db: Database,
    taxpayer_id: int,
    source: Callable[[FileInfo], Iterator[tuple[str, int, Any]]],
    *,
    actor: str,
    channel: str,
    progress: Progress | None = None,
) -> ImportReport:
    """The one import path: validate every record `source` yields, then merge (see
    `import_file`)."""
    # 1. Read and validate the whole file, holding no lock: other users' work and the
    #    CLI carry on meanwhile (the file is parsed into a spool, never into the store).
    with db.read() as session:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is None:
            raise NotFound("This GSTIN is not linked (any more).")
        info = FileInfo(recipient=taxpayer.gstin)
    with _Spool() as spool:
        try:
            tally = _read(source(info), spool, progress)
        except RecipientMismatch as exc:
            raise WrongTaxpayerFile(exc.file_gstin, exc.workspace_gstin) from None
        if tally.error_count:
            raise ImportRefused(tally.errors, tally.error_count)
        # 2. Publish in one short transaction, deciding each record against the store as it
        #    is now (locked), so a decision taken while the file was read is never
        #    overwritten silently: it meets the same supplier-edit rule as any other.
        now = datetime.now(INDIA)
        with db.begin() as session:
            if session.get(Taxpayer, taxpayer_id) is None:
                raise NotFound("This GSTIN is not linked (any more).")
            writer = _Writer(session, taxpayer_id, actor, channel)
            existing = _existing(session, taxpayer_id, lock=not db.is_sqlite)
            for record in spool.rows():
                tally.counts[_stage(writer, existing.get(record["natural_key"]), record, now)] += 1
                if len(writer.inserts) + len(writer.updates) >= BATCH:
                    writer.flush()
            writer.flush()
            suppliers.remember(
                session, taxpayer_id, tally.supplier_names, suppliers.Source.PORTAL
            )
            _set_directions(session, taxpayer_id)
    if progress is not None:
        progress(tally.total)
    bad_check = Counter(
        {gstin: n for gstin, n in tally.suppliers.items() if not supplier_check_ok(gstin)}
    )
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
        not_handled=dict(info.not_handled),
        bad_check_records=sum(bad_check.values()),
        bad_check_gstins=len(bad_check),
        bad_check_examples=tuple(g for g, _ in bad_check.most_common(MAX_GSTIN_EXAMPLES)),
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
    suppliers: Counter[str] = field(default_factory=Counter)  # supplier GSTIN -> records
    supplier_names: dict[str, str] = field(default_factory=dict)  # GSTIN -> the file's trdnm
    errors: list[FieldError] = field(default_factory=list)
    error_count: int = 0

    def problem(self, error: FieldError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)


class _Spool:
    """Validated rows, kept in a temporary file in batches (a file may hold more records
    than are worth keeping in memory), read back in order."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by __exit__
        self._batch: list[RecordRow] = []

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()

    def add(self, row: RecordRow) -> None:
        self._batch.append(row)
        if len(self._batch) >= BATCH:
            pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._batch = []

    def rows(self) -> Iterator[RecordRow]:
        self._file.seek(0)
        while True:
            try:
                batch = pickle.load(self._file)  # our own spool: trusted
            except EOFError:
                break
            yield from batch
        yield from self._batch


def _read(
    records: Iterator[tuple[str, int, Any]], spool: _Spool, progress: Progress | None
) -> _Tally:
    """Validate every record into the spool; after the first problem, only validate."""
    tally = _Tally()
    seen: dict[str, tuple[str, int]] = {}
    for section, position, raw in records:
        tally.total += 1
        if progress is not None and tally.total % 5000 == 0:
            progress(tally.total)
        try:
            record = parse_record(section, position, raw)
        except RecordError as exc:
            for error in exc.errors:
                tally.problem(error)
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
        if record["supplier_name"]:
            tally.supplier_names[record["supplier_gstin"]] = record["supplier_name"]
        tally.suppliers[record["supplier_gstin"]] += 1
        tally.by_section[section] += 1
        tally.by_status[record["status"]] += 1
        tally.periods.add(record["period_key"])
        if record["status"] in OPEN_STATUSES:
            heads = (record["igst"], record["cgst"], record["sgst"], record["cess"])
            tally.open_tax = [a + b for a, b in zip(tally.open_tax, heads, strict=True)]
        spool.add(record)
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
    file_decision = record["portal_decision"]
    # The portal's flags describe the day of the download: the latest file's always win.
    file_flags = _flags_of(record)
    if file_status == old.portal_status and file_decision == old.portal_decision:
        if file_flags == old.flags:
            return "unchanged"
        values: dict[str, Any] = {"updated_at": now}
    else:
        # The decision on the portal changed: its status, or its declaration (ITC
        # reduction, remarks) with the same status; acted there directly, or our upload
        # arrived. Take it, unless the user has a local decision not yet uploaded: that one
        # stays, to be exported.
        values = {"portal_status": file_status, "portal_decision": file_decision,
                  "updated_at": now}
        no_local_change = old.status == old.portal_status and (
            # Only read when needed: the portal's side rarely changes between downloads.
            writer.local_decision(old.id) == old.portal_decision
        )
        if no_local_change:
            values.update({key: record[key] for key in _DECISION_COLUMNS})
            if file_status != old.status:
                reason = "Status as saved on the GST portal."
            else:
                reason = "Declaration (ITC reduction, remarks) as saved on the GST portal."
            writer.logs.append(
                _log(writer, old.id, now, "portal", old.status, file_status, reason)
            )
    values.update(zip(_FLAG_COLUMNS, file_flags, strict=True))
    writer.updates.append((old.id, values))
    return "updated"


#: The portal's per-record flags (they decide what may be done, and what a save may carry).
_FLAG_COLUMNS = ("pending_blocked", "itc_reduction_blocked", "remarks_blocked")
_flags_of = itemgetter(*_FLAG_COLUMNS)
#: What a decision taken on the portal sets on a record.
_DECISION_COLUMNS = (
    "status", "remarks", "reduction", "decl_igst", "decl_cgst", "decl_sgst", "decl_cess",
)


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
