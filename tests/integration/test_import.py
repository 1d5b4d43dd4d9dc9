"""Importing portal files: validated, all or nothing, idempotent, supplier edits detected."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from ims_bot.domain import Action, Status
from ims_bot.errors import ImportRefused
from ims_bot.importer import import_file
from ims_bot.models import ActionLog, Record
from ims_bot.portal import PortalFileError
from ims_bot.records import RecordFilter, RecordService
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, invoice, note, portal_file, stream


def _count(db, model=Record) -> int:
    with db.begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def _import(db, data: bytes):
    workspace = ensure_workspace(db, RECIPIENT)
    return workspace, import_file(db, workspace.id, stream(data), actor="test", channel="cli")


def test_import_reads_the_offline_tool_download(database):
    data = portal_file(b2b=[invoice("INV-1"), invoice("INV-2")], b2bcn=[note("CN-1")])
    _, report = _import(database, data)
    assert (report.total, report.created) == (3, 3)
    assert report.by_section == {"b2b": 2, "b2bcn": 1}
    assert _count(database) == 3


def test_import_reads_the_get_records_response_without_wrapper(database):
    _, report = _import(database, portal_file(wrapper=False, b2b=[invoice("INV-9")]))
    assert report.created == 1


def test_record_period_is_its_rtnprd_not_its_document_date(database, clock):
    late_note = note("CN-OLD", period="102025", nt_dt="15-03-2025")
    workspace, _ = _import(database, portal_file(b2bcn=[late_note]))
    view = RecordService(database, clock).iter_all(workspace.id)[0]
    assert str(view.period) == "102025"


def test_import_rolls_back_on_bad_row(database):
    bad = invoice("INV-3", idt="31-02-2025")
    data = portal_file(b2b=[invoice("INV-1"), invoice("INV-2"), bad])
    with pytest.raises(ImportRefused) as caught:
        _import(database, data)
    message = str(caught.value)
    assert "b2b #3" in message and "'idt'" in message
    assert _count(database) == 0


def test_import_rolls_back_after_a_batch_was_already_written(database, monkeypatch):
    monkeypatch.setattr("ims_bot.importer.BATCH", 2)
    rows = [invoice(f"INV-{i}") for i in range(7)] + [invoice("BAD", stin="27AAAAA0000A1Z0")]
    with pytest.raises(ImportRefused) as caught:
        _import(database, portal_file(b2b=rows))
    assert "stin" in str(caught.value)
    assert _count(database) == 0


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (invoice("X", stin="27AAPFU0939F1ZA"), "stin"),
        (invoice("X", rtnprd="132025"), "rtnprd"),
        (invoice("X", camt="abc"), "camt"),
        (invoice("X", camt=-5), "camt"),
        (invoice("X", txval=None), "txval"),
        (invoice("X", inum="A" * 17), "inum"),
        (invoice("X", action="Z"), "action"),
        (invoice("X", ispendactblocked="maybe"), "ispendactblocked"),
        (invoice("X", rtnprd="092024"), "rtnprd"),
    ],
    ids=["gstin-check-character", "period", "amount-text", "negative", "missing-taxable",
         "number-too-long", "unknown-action", "flag", "before-ims"],
)
def test_invalid_record_is_reported_with_section_position_and_field(database, record, field):
    with pytest.raises(ImportRefused) as caught:
        _import(database, portal_file(b2b=[invoice("OK-1"), record]))
    error = caught.value.errors[0]
    assert (error.section, error.position, error.field) == ("b2b", 2, field)


def test_duplicate_records_in_one_file_are_refused(database):
    with pytest.raises(ImportRefused, match="duplicate"):
        _import(database, portal_file(b2b=[invoice("INV-1"), invoice("INV-1")]))


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"[]", b'{"hello": 1}', b"\xff\xfe", b'{"b2b": {"a": 1}}', b""],
    ids=["broken", "array", "no-sections", "binary", "section-not-list", "empty"],
)
def test_malformed_file_is_one_clear_error(database, data):
    with pytest.raises(PortalFileError) as caught:
        _import(database, data)
    assert "\n" not in str(caught.value)
    assert _count(database) == 0


def test_reimport_is_idempotent(database):
    data = portal_file(b2b=[invoice("INV-1"), invoice("INV-2")])
    _import(database, data)
    _, again = _import(database, data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert _count(database) == 2


def test_supplier_edit_after_action_resets_record_and_logs_why(database, clock):
    workspace, _ = _import(database, portal_file(b2b=[invoice("INV-1")]))
    service = RecordService(database, clock)
    record_id = service.iter_all(workspace.id)[0].id
    service.act(workspace.id, record_id, Action.REJECT, actor="u", channel="cli")
    edited = invoice("INV-1", camt=1000.0, samt=1000.0, hash="hash-edited")
    _, report = _import(database, portal_file(b2b=[edited]))
    assert report.reset_by_supplier == 1
    view = service.get(workspace.id, record_id)
    assert view.status is Status.NO_ACTION
    assert view.tax.cgst == 1000
    history = service.history(workspace.id, record_id=record_id)
    assert history[0].kind == "supplier_edit" and "supplier changed" in history[0].reason


def test_unchanged_record_keeps_the_users_local_decision(database, clock):
    workspace, _ = _import(database, portal_file(b2b=[invoice("INV-1")]))
    service = RecordService(database, clock)
    record_id = service.iter_all(workspace.id)[0].id
    service.act(workspace.id, record_id, Action.ACCEPT, actor="u", channel="cli")
    _import(database, portal_file(b2b=[invoice("INV-1")]))
    assert service.get(workspace.id, record_id).status is Status.ACCEPTED


def test_status_saved_on_the_portal_is_taken_when_no_local_change(database, clock):
    workspace, _ = _import(database, portal_file(b2b=[invoice("INV-1")]))
    _import(database, portal_file(b2b=[invoice("INV-1", action="R")]))
    service = RecordService(database, clock)
    assert service.iter_all(workspace.id)[0].status is Status.REJECTED


def test_amendment_direction_is_derived_from_the_original(database, clock):
    original = invoice("INV-1", tax=900.0)
    down = invoice("INV-1A", tax=450.0, oinum="INV-1", oidt=original["idt"])
    _workspace, _ = _import(database, portal_file(b2b=[original], b2ba=[down]))
    with database.begin() as session:
        amended = session.scalar(select(Record).where(Record.section == "b2ba"))
        assert amended.direction == "downward"


def test_import_progress_is_reported(database, monkeypatch):
    seen: list[int] = []
    workspace = ensure_workspace(database, RECIPIENT)
    rows = [invoice(f"INV-{i}") for i in range(12)]
    import_file(database, workspace.id, stream(portal_file(b2b=rows)), actor="t", channel="cli",
                progress=seen.append)
    assert seen[-1] == 12


def test_large_file_streams_and_imports(sqlite_db):
    rows = [invoice(f"INV-{i}") for i in range(6000)]
    data = json.dumps({"b2b": rows}).encode()
    workspace = ensure_workspace(sqlite_db, RECIPIENT)
    report = import_file(sqlite_db, workspace.id, io.BytesIO(data), actor="t", channel="cli")
    assert report.created == 6000
    page = RecordService(sqlite_db, lambda: date(2025, 12, 1)).list(
        workspace.id, RecordFilter(statuses=(Status.NO_ACTION,)), page_size=5
    )
    assert page.total == 6000 and _count(sqlite_db, ActionLog) == 0
