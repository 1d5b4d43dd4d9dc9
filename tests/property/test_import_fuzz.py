"""Bad portal files, generated: the import either refuses with a clear error or imports
cleanly, and never leaves a partial import behind.

Each example runs against one workspace that already holds records (so the update paths are
exercised too); the store is read back through a *new* session before and after.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ims_bot.db import Database
from ims_bot.errors import ImportRefused, WrongTaxpayerFile
from ims_bot.importer import import_file
from ims_bot.models import ActionLog, Record
from ims_bot.portal import PortalFileError, RecordError, parse_record
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note

FUZZ = settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SECTIONS = ("b2b", "b2ba", "b2bcn", "b2bdn", "ecom", "impg", "unknown", "imsDetails", "data",
            "isd", "isdcn", "rtin", "gstin", "status_cd", "status", "error", "code", "message")
FIELDS = ("stin", "trdnm", "rtnprd", "srcform", "srcfilstatus", "inum", "idt", "nt_num",
          "nt_dt", "inv_typ", "pos", "val", "txval", "iamt", "camt", "samt", "cess", "action",
          "hash", "ispendactblocked", "isItcRedReqBlocked", "oinum", "oidt", "rmks")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, int]]:
    """A migrated SQLite store with one workspace already holding a few records."""
    path = tmp_path_factory.mktemp("fuzz") / "import.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    workspace = ensure_workspace(db, RECIPIENT, 1)
    base = {"b2b": [invoice("BASE-1"), invoice("BASE-2", supplier=SUPPLIER_B)],
            "b2bcn": [note("BASE-CN")]}
    import_file(db, workspace.id, io.BytesIO(json.dumps(base).encode()), actor="t",
                channel="t")
    try:
        yield db, workspace.id
    finally:
        db.dispose()


def snapshot(db: Database) -> tuple[int, int, frozenset[tuple[Any, ...]]]:
    """Row counts and every record's identity, status and version, through a new session."""
    with db.begin() as session:
        rows = frozenset(tuple(row) for row in session.execute(
            select(Record.id, Record.natural_key, Record.status, Record.version,
                   Record.content_hash)))
        logs = session.scalar(select(func.count()).select_from(ActionLog)) or 0
    return len(rows), int(logs), rows


OUTCOMES: dict[str, int] = {}


def check_import(db: Database, w: int, data: bytes) -> str:
    """Import `data`; refused → nothing changed; imported → exactly its records added."""
    before = snapshot(db)
    try:
        report = import_file(db, w, io.BytesIO(data), actor="fuzz", channel="test")
    except (PortalFileError, ImportRefused, WrongTaxpayerFile) as exc:
        message = str(exc)
        assert message.strip(), "an import error must say what is wrong"
        assert "Traceback" not in message
        assert snapshot(db) == before, "a refused file changed the store"
        OUTCOMES[type(exc).__name__] = OUTCOMES.get(type(exc).__name__, 0) + 1
        return "refused"
    count, _, _ = snapshot(db)
    assert count == before[0] + report.created
    assert report.created + report.updated + report.unchanged == report.total
    OUTCOMES["imported"] = OUTCOMES.get("imported", 0) + 1
    return "imported"


# ------------------------------------------------------------------------------ strategies

json_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "31-02-2025", "00-00-0000", "2025-11-05", "132025", "Y", "N",
                      "Filed", "R1", "99999999999999999999.999", "-1", "1e400", "NaN"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A valid file with a few mutations: wrong types, missing fields, huge numbers, bad
    dates, duplicates, deep nesting, misplaced sections."""
    n = draw(st.integers(min_value=1, max_value=6))
    records: list[dict[str, Any]] = [
        invoice(f"F-{draw(st.integers(0, 10**6))}-{i}", tax=draw(st.floats(0, 1e6)))
        for i in range(n)
    ]
    notes: list[dict[str, Any]] = [note(f"N-{i}") for i in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        target = draw(st.sampled_from(records + notes)) if notes else draw(
            st.sampled_from(records))
        kind = draw(st.sampled_from(["set", "delete", "duplicate", "huge", "date", "deep"]))
        field = draw(st.sampled_from(FIELDS))
        if kind == "set":
            target[field] = draw(json_values)
        elif kind == "delete":
            target.pop(field, None)
        elif kind == "duplicate":
            records.append(dict(target))
        elif kind == "huge":
            target[draw(st.sampled_from(["val", "txval", "iamt", "camt", "samt", "cess"]))] = (
                draw(st.sampled_from([10**15, 10**30, -(10**15), 1e308, 0.001, 123456789012.999])))
        elif kind == "date":
            target[draw(st.sampled_from(["idt", "nt_dt", "oidt"]))] = draw(
                st.sampled_from(["31-02-2025", "29-02-2023", "1-1-2025", "05-13-2025", "",
                                 "05/11/2025", "05-11-25", "٠٥-١١-٢٠٢٥", "05-11-2025\n"]))
        else:
            target[field] = "@@DEEP@@"
    body: dict[str, Any] = {"b2b": records, "b2bcn": notes}
    if draw(st.booleans()):  # lists IMS Bot does not handle, or the file's recipient GSTIN
        body[draw(st.sampled_from(["isd", "isda", "tds", "rtin", "gstin"]))] = draw(
            st.sampled_from([[{"docnum": "1"}], [], RECIPIENT, SUPPLIER_B, None, [1, [2]]]))
    shape = draw(st.sampled_from(
        ["plain", "imsDetails", "data", "sandbox", "vayana", "list", "error", "odd"]))
    top: Any = body
    if shape == "imsDetails":
        top = {"imsDetails": body}
    elif shape == "data":
        top = {"data": body}
    elif shape == "sandbox":
        top = {"code": 200, "data": {"data": body, "status_cd": "1"}, "timestamp": 1,
               "transaction_id": "t"}
    elif shape == "vayana":
        top = {"status": "1", "data": body, "error": None}
    elif shape == "list":
        top = [{"data": {"data": body, "status_cd": "1"}}, {"b2bdn": []}]
    elif shape == "error":
        top = {"data": dict(body, status_cd=draw(st.sampled_from(["0", 0, "1"])),
                            error=draw(json_values))}
    elif shape == "odd":
        body[draw(st.sampled_from(SECTIONS))] = draw(json_values)
    text = json.dumps(top)
    depth = draw(st.sampled_from([3, 100, 1000]))
    return text.replace('"@@DEEP@@"', "[" * depth + "1" + "]" * depth).encode()


raw_files = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda head, tail: head + tail,
              st.sampled_from([b'{"b2b": [', b'{"imsDetails": {"b2b": [{"stin": ', b"\xef\xbb\xbf{",
                               b'{"b2b": [{}], "b2b": ', b'{"code": 200, "data": {"data": {"b2b":',
                               b'[{"data": {"b2b": [{}]}}, ', b'{"status_cd": "0", "error": ']),
              st.binary(max_size=60)),
)


# ------------------------------------------------------------------------------ properties


@FUZZ
@given(data=mutated_files())
def test_a_mutated_portal_file_is_refused_whole_or_imported_cleanly(
    store: tuple[Database, int], data: bytes
) -> None:
    db, w = store
    check_import(db, w, data)


@FUZZ
@given(data=raw_files)
def test_any_bytes_are_refused_with_a_clear_error_or_imported(
    store: tuple[Database, int], data: bytes
) -> None:
    db, w = store
    check_import(db, w, data)


DEEP_IMPORT = """
import io, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
from ims_bot.portal import PortalFileError, iter_raw_records
from tests.factories import invoice
depth = int(sys.argv[1])
record = json.dumps(invoice("DEEP-1")).replace('"R1"', "[" * depth + "]" * depth)
data = ('{"b2b": [' + record + "]}").encode()
try:
    for _ in iter_raw_records(io.BytesIO(data)):
        pass
except PortalFileError as exc:
    print("refused:", exc)
else:
    print("parsed")
"""


def test_a_deeply_nested_field_is_refused_without_exhausting_memory() -> None:
    """In a child process capped at 1.5 GB: 100,000 brackets (a 200 KB file) are refused."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", DEEP_IMPORT, "100000"], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
                          check=False)
    assert done.stdout.startswith(("refused:", "parsed")), done.stderr[-500:]


@pytest.mark.slow
def test_a_50_mb_file_refused_at_its_last_record_leaves_nothing_behind(
    store: tuple[Database, int], tmp_path: Path
) -> None:
    """Many batches are written before the duplicate at the very end: all rolled back."""
    db, w = store
    template = json.dumps(invoice("BIG-N", tax=18.0)).replace("%", "%%").replace(
        "BIG-N", "BIG-%(n)d")
    unit = len(template) + 1
    count = 50 * 1024 * 1024 // unit
    started = time.perf_counter()
    path = tmp_path / "big.json"
    with path.open("w") as out:
        out.write('{"imsDetails": {"b2b": [')
        out.write(",".join(template % {"n": i} for i in range(count)))
        out.write("," + template % {"n": 0} + "]}}")  # a duplicate of the first record
    assert path.stat().st_size >= 50 * 1024 * 1024
    before = snapshot(db)
    with path.open("rb") as stream, pytest.raises(ImportRefused) as refused:
        import_file(db, w, stream, actor="fuzz", channel="test")
    assert "duplicate" in str(refused.value)
    assert snapshot(db) == before
    assert time.perf_counter() - started < 120


#: A bad value for each field a record's validation checks.
BREAKERS: dict[str, Any] = {
    "stin": "27AAPFU0939F1XV", "rtnprd": "132025", "srcform": "R9", "srcfilstatus": "Maybe",
    "inv_typ": "Q", "pos": "00", "action": "Z", "ispendactblocked": "maybe",
    "isRemarksBlocked": 1, "inum": "A" * 17, "idt": "31-02-2025", "val": "abc", "txval": -1,
    "iamt": "x", "camt": -5, "samt": True, "cess": [1], "remarks": "r" * 251, "hash": 5,
    "itcRedReq": "maybe", "declCgst": -1, "trdnm": 7,
}


@settings(max_examples=150, deadline=None)
@given(broken=st.sets(st.sampled_from(sorted(BREAKERS)), min_size=1))
def test_every_bad_field_of_a_record_is_reported_once(broken: set[str]) -> None:
    record = invoice("INV-1", period="112025") | {k: BREAKERS[k] for k in broken}
    with pytest.raises(RecordError) as caught:
        parse_record("b2b", 7, record)
    errors = caught.value.errors
    assert sorted(e.field for e in errors) == sorted(broken)
    assert {(e.section, e.position) for e in errors} == {("b2b", 7)}
