"""Importing portal files: validated, all or nothing, idempotent, supplier edits detected."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ims_bot.cli import Env, main
from ims_bot.domain import Action, Status
from ims_bot.errors import ImportRefused, WrongTaxpayerFile
from ims_bot.export import export_requests
from ims_bot.gstin import make_gstin
from ims_bot.importer import import_file
from ims_bot.models import ActionLog, Record
from ims_bot.portal import PortalFileError, ProviderError
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
    rows = [invoice(f"INV-{i}") for i in range(7)] + [invoice("BAD", stin="27AAAAA0000A0Z0")]
    with pytest.raises(ImportRefused) as caught:
        _import(database, portal_file(b2b=rows))
    assert "stin" in str(caught.value)
    assert _count(database) == 0


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (invoice("X", stin="27AAPFU0939F1XV"), "stin"),
        (invoice("X", stin="00AAPFU0939F1ZV"), "stin"),
        (invoice("X", rtnprd="132025"), "rtnprd"),
        (invoice("X", camt="abc"), "camt"),
        (invoice("X", camt=-5), "camt"),
        (invoice("X", txval=None), "txval"),
        (invoice("X", inum="A" * 17), "inum"),
        (invoice("X", action="Z"), "action"),
        (invoice("X", ispendactblocked="maybe"), "ispendactblocked"),
        (invoice("X", rtnprd="092024"), "rtnprd"),
        (invoice("X", itcprd="092024"), "itcprd"),
        (invoice("X", pos=None), "pos"),
        (invoice("X", pos="00"), "pos"),
        (invoice("X", inv_typ=None), "inv_typ"),
        (invoice("X", srcform=""), "srcform"),
    ],
    ids=["gstin-not-z", "gstin-state", "period", "amount-text", "negative", "missing-taxable",
         "number-too-long", "unknown-action", "flag", "before-ims", "itc-period-before-ims",
         "pos-missing", "pos-not-a-state", "inv-type-missing", "srcform-missing"],
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


# ------------------------------------------------------------------ formats as they arrive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "portal"


def _cli_import(database, name: str, gstin: str = RECIPIENT) -> tuple[int, dict | None, str]:
    """`ims-bot import FIXTURE --gstin G --json`, in-process, on this test's database."""
    out, err = io.StringIO(), io.StringIO()
    environ = {
        "IMS_BOT_DATABASE_URL": database.url.render_as_string(hide_password=False),
        "IMS_BOT_TODAY": "2025-12-16",
    }
    code = main(["import", str(FIXTURES / name), "--gstin", gstin, "--json"],
                env=Env(environ=environ, stdin=io.StringIO(), stdout=out, stderr=err))
    return code, json.loads(out.getvalue()) if out.getvalue() else None, err.getvalue()


@pytest.mark.parametrize(
    ("name", "by_section", "by_status"),
    [
        ("raw_b2b.json", {"b2b": 4},
         {"no_action": 1, "accepted": 1, "rejected": 1, "pending": 1}),
        ("sandbox_b2b.json", {"b2b": 2}, {"no_action": 1, "accepted": 1}),
        ("sandbox_b2bcn.json", {"b2bcn": 3}, {"no_action": 1, "accepted": 2}),
        ("vayana_amendments.json", {"b2ba": 1, "b2bdna": 1, "b2bcna": 1, "ecom": 1, "ecoma": 1},
         {"no_action": 4, "accepted": 1}),
        ("imsdetails_offline.json",
         {"b2b": 4, "b2ba": 1, "b2bdn": 1, "b2bdna": 1, "b2bcn": 3, "b2bcna": 1, "ecom": 1,
          "ecoma": 1},
         {"no_action": 7, "accepted": 4, "rejected": 1, "pending": 1}),
        ("merged_all_sections.json",
         {"b2b": 4, "b2ba": 1, "b2bdn": 1, "b2bdna": 1, "b2bcn": 3, "b2bcna": 1, "ecom": 1,
          "ecoma": 1, "impg": 1},
         {"no_action": 8, "accepted": 4, "rejected": 1, "pending": 1}),
        ("sandbox_merged_list.json", {"b2b": 4, "b2bcn": 3},
         {"no_action": 2, "accepted": 3, "rejected": 1, "pending": 1}),
    ],
)
def test_each_envelope_imports_through_the_cli(database, name, by_section, by_status):
    code, report, err = _cli_import(database, name)
    assert code == 0, err
    assert report["by_section"] == by_section and report["by_status"] == by_status
    assert report["created"] == report["total"] == sum(by_section.values())
    assert _count(database) == report["total"]
    again = _cli_import(database, name)[1]
    assert again["unchanged"] == again["total"]  # idempotent, whatever the envelope


def test_per_section_files_add_up_to_the_merged_file(database):
    for name in ("sandbox_b2b.json", "sandbox_b2bcn.json", "vayana_amendments.json",
                 "raw_b2b.json"):
        assert _cli_import(database, name)[0] == 0
    report = _cli_import(database, "imsdetails_offline.json")[1]
    # The merged download holds the same records plus one debit note: nothing else is new.
    assert (report["created"], report["unchanged"]) == (1, 12)


def test_the_portal_declaration_is_read_from_the_file(database):
    _cli_import(database, "sandbox_b2bcn.json")
    with database.begin() as session:
        rows = {r.number: r for r in session.scalars(select(Record))}
    partial = rows["CN-2025-121"]
    assert (partial.status, partial.reduction) == ("accepted", "partial")
    assert (partial.decl_cgst, partial.decl_sgst) == (150, 150)
    assert partial.remarks == "Part of the ITC was never availed"
    assert partial.portal_decision == (
        "itcRedReq=Y|declIgst=0.00|declCgst=150.00|declSgst=150.00|declCess=0.00"
        "|remarks=Part of the ITC was never availed"
    )
    assert rows["KA-CN-55"].portal_decision == "itcRedReq=N"
    assert rows["CN-2025-118"].portal_decision is None


def test_sections_ims_bot_does_not_handle_are_named_with_their_counts(database):
    code, report, _ = _cli_import(database, "merged_all_sections.json")
    assert code == 0
    assert report["not_handled"] == {"isd": 3, "isdcn": 1}
    workspace = ensure_workspace(database, RECIPIENT)
    data = json.dumps({"b2b": [invoice("INV-1")], "isda": [{"docnum": "A"}, {"docnum": "B"}],
                       "tds": [1], "isd": []}).encode()
    summary = import_file(database, workspace.id, stream(data), actor="t", channel="cli")
    assert summary.not_handled == {"isda": 2, "tds": 1}


def test_a_file_of_isd_sections_only_imports_nothing_and_says_so(database):
    workspace = ensure_workspace(database, RECIPIENT)
    data = json.dumps({"data": {"isd": [{"docnum": "ISD/1"}, {"docnum": "ISD/2"}]}}).encode()
    report = import_file(database, workspace.id, stream(data), actor="t", channel="cli")
    assert (report.total, report.not_handled) == (0, {"isd": 2})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sandbox_error.json", "RET13510: No invoices found for the provided inputs"),
        ("vayana_error.json", "RET11402: Unauthorised access: the session has expired"),
    ],
)
def test_a_provider_error_response_is_refused_with_its_message(database, name, expected):
    code, report, err = _cli_import(database, name)
    assert code == 1 and report is None
    assert err.count("\n") == 1 and expected in err and "error" in err
    assert _count(database) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"status_cd": "0", "error": {"error_cd": "RET191106", "message": "Invalid period"}},
        {"code": 200, "data": {"status_cd": "0", "error": {"message": "Invalid period"},
                               "data": {"b2b": []}}},
        {"status": "1", "data": {"status_cd": 0, "error": "Invalid period"}},
        {"code": 500, "message": "Invalid period"},
    ],
    ids=["gstn", "sandbox-with-sections", "vayana-passing-gstn", "http-code"],
)
def test_error_envelopes_in_every_shape_are_refused(database, body):
    with pytest.raises(ProviderError, match="Invalid period"):
        _import(database, json.dumps(body).encode())


def test_a_file_for_another_taxpayer_is_refused_naming_both_gstins(database):
    code, report, err = _cli_import(database, "sandbox_other_taxpayer.json")
    assert code == 1 and report is None
    assert "29AAACB5343E1ZX" in err and RECIPIENT in err and err.count("\n") == 1
    assert _count(database) == 0


def test_another_taxpayers_gstin_at_the_end_of_a_file_rolls_back_written_batches(
    database, monkeypatch
):
    monkeypatch.setattr("ims_bot.importer.BATCH", 2)
    other = "29AAACB5343E1ZX"
    data = json.dumps({"imsDetails": {"b2b": [invoice(f"INV-{i}") for i in range(7)]},
                       "gstin": other}).encode()
    with pytest.raises(WrongTaxpayerFile) as caught:
        _import(database, data)
    assert other in str(caught.value) and RECIPIENT in str(caught.value)
    assert _count(database) == 0


def test_a_gstin_in_a_file_that_is_not_an_ims_file_is_not_taken_for_a_recipient(database):
    with pytest.raises(PortalFileError, match="no IMS sections found"):
        _import(database, json.dumps({"gstin": "29AAACB5343E1ZX", "name": "x"}).encode())


def test_the_files_own_recipient_gstin_is_fine(database):
    data = json.dumps({"data": {"rtin": RECIPIENT.lower(), "b2b": [invoice("INV-1")]}}).encode()
    assert _import(database, data)[1].created == 1


def test_a_wrong_check_character_in_a_supplier_gstin_imports_with_a_warning(database):
    code, report, err = _cli_import(database, "sandbox_b2bdn_bad_check.json")
    assert code == 0, err
    assert report["created"] == 2
    [warning] = report["warnings"]
    assert warning["code"] == "SUPPLIER_GSTIN_CHECK_CHARACTER"
    assert (warning["records"], warning["gstins"]) == (1, 1)
    assert warning["examples"] == ["24AAHCP7788Q1ZA"]


def test_the_check_character_warning_counts_records_and_gives_a_few_examples(database):
    good = make_gstin("24", "AAHCP7788Q")
    bad = [good[:14] + c for c in "0123456789AB" if c != good[14]][:7]
    rows = [invoice(f"INV-{i}-{j}", supplier=g) for i, g in enumerate(bad) for j in range(2)]
    _, report = _import(database, portal_file(b2b=[invoice("OK-1"), *rows]))
    assert report.created == 15
    assert (report.bad_check_records, report.bad_check_gstins) == (14, 7)
    assert len(report.bad_check_examples) == 5 and set(report.bad_check_examples) <= set(bad)
    assert "14 record(s) from 7 supplier GSTIN(s)" in report.warnings[0]


def test_every_bad_field_of_a_record_is_reported(database):
    bad = invoice("INV-2", idt="31-02-2025", camt="abc", action="Z", pos="ZZ")
    with pytest.raises(ImportRefused) as caught:
        _import(database, portal_file(b2b=[invoice("INV-1"), bad, invoice("INV-3", samt=-1)]))
    errors = caught.value.errors
    assert [(e.section, e.position, e.field) for e in errors] == [
        ("b2b", 2, "pos"), ("b2b", 2, "action"), ("b2b", 2, "idt"), ("b2b", 2, "camt"),
        ("b2b", 3, "samt"),
    ]
    message = str(caught.value)
    assert "b2b #2, field 'idt'" in message and "b2b #2, field 'camt'" in message


def test_a_refused_file_lists_200_problems_and_counts_the_rest(database):
    rows = [invoice(f"INV-{i}", camt=-1, samt="x") for i in range(150)]  # 2 problems each
    with pytest.raises(ImportRefused) as caught:
        _import(database, portal_file(b2b=rows))
    refusal = caught.value
    assert refusal.total == 300 and len(refusal.errors) == 200
    lines = str(refusal).splitlines()
    assert lines[0] == "file refused, nothing imported: 300 problem(s)"
    assert len(lines) == 202 and lines[-1] == "... and 100 more problem(s)"
    assert _count(database) == 0


def test_a_declaration_changed_on_the_portal_is_taken_when_nothing_is_pending_here(database):
    cn = note("CN-1", period="112025", action="A", itcRedReq="Y")
    _import(database, portal_file(b2bcn=[cn]))
    nil = dict(cn, itcRedReq="N")
    _, report = _import(database, portal_file(b2bcn=[nil]))
    assert report.updated == 1
    with database.begin() as session:
        row = session.scalar(select(Record))
        assert (row.reduction, row.portal_decision) == ("nil", "itcRedReq=N")
        log = session.scalar(select(ActionLog).where(ActionLog.kind == "portal"))
        assert "Declaration" in log.reason
    _, again = _import(database, portal_file(b2bcn=[nil]))
    assert again.unchanged == 1


def test_the_portals_flags_are_refreshed_by_each_download(database):
    _import(database, portal_file(b2b=[invoice("INV-1", ispendactblocked="N")]))
    _, report = _import(database, portal_file(b2b=[invoice("INV-1", ispendactblocked="Y")]))
    assert report.updated == 1
    with database.begin() as session:
        assert session.scalar(select(Record.pending_blocked)) is True


def test_remarks_the_portal_now_blocks_are_not_saved_again(database):
    rejected = invoice("INV-R", action="R", remarks="Wrong rate", isRemarksBlocked="N")
    workspace, _ = _import(database, portal_file(b2b=[rejected]))
    _import(database, portal_file(b2b=[dict(rejected, isRemarksBlocked="Y")]))
    save, reset = export_requests(database, workspace.id)
    assert save["invdata"] == {} and reset is None


def test_a_decision_taken_while_a_file_imports_is_not_overwritten_silently(database, clock):
    """Issue 12: a colleague accepted a record while a large file that amends it was being
    imported; the import then wrote the supplier's version over the decision, silently. Now
    the decision meets the supplier-edit rule, as when the two happen one after the other."""
    workspace, _ = _import(database, portal_file(b2b=[invoice("INV-1")]))
    service = RecordService(database, clock)
    record_id = service.iter_all(workspace.id)[0].id
    edited = invoice("INV-1", camt=1000.0, samt=1000.0, hash="hash-edited")
    filler = [invoice(f"F-{i}") for i in range(5200)]
    acted: list[int] = []

    def colleague_acts_midway(count: int) -> None:
        if count == 5000 and not acted:  # the file is being read: accept the record now
            outcome = service.act(workspace.id, record_id, Action.ACCEPT, actor="tg:2",
                                  channel="telegram")
            acted.append(outcome.record.version)

    report = import_file(database, workspace.id, stream(portal_file(b2b=[edited, *filler])),
                         actor="tg:1", channel="telegram", progress=colleague_acts_midway)
    assert acted, "the colleague's action went through while the file was read"
    assert report.reset_by_supplier == 1
    view = service.get(workspace.id, record_id)
    assert view.status is Status.NO_ACTION and view.tax.cgst == 1000
    kinds = [(e.kind, e.to_status) for e in service.history(workspace.id, record_id=record_id)]
    assert kinds == [("supplier_edit", Status.NO_ACTION), ("action", Status.ACCEPTED)]


def test_reading_a_file_holds_no_lock_that_blocks_others(sqlite_db, clock):
    """Issue 11: during an import, another user's write (and the CLI's read) waited for the
    whole import, or failed with "database is locked"."""
    import threading
    import time

    workspace, _ = _import(sqlite_db, portal_file(b2b=[invoice("INV-1")]))
    service = RecordService(sqlite_db, clock)
    record_id = service.iter_all(workspace.id)[0].id
    waits: list[float] = []

    def other_user(count: int) -> None:
        if count == 5000:
            started = time.perf_counter()
            worker = threading.Thread(target=service.act, args=(
                workspace.id, record_id, Action.REJECT), kwargs={"actor": "u", "channel": "cli"})
            worker.start()
            worker.join(timeout=20)
            waits.append(time.perf_counter() - started)

    filler = [invoice(f"F-{i}") for i in range(5200)]
    import_file(sqlite_db, workspace.id, stream(portal_file(b2b=[invoice("INV-1"), *filler])),
                actor="t", channel="cli", progress=other_user)
    assert waits and waits[0] < 2.0
    assert service.get(workspace.id, record_id).status is Status.REJECTED
