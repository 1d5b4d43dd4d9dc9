"""GSTR-2B recompute figures and the portal save request."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from ims_bot.domain import Action, Frequency, Period, Reduction, ReductionKind, Tax
from ims_bot.errors import Refused
from ims_bot.export import build_export, export_requests
from ims_bot.importer import import_file
from ims_bot.models import Record
from ims_bot.recompute import PeriodService
from ims_bot.records import RecordService
from ims_bot.workspaces import ensure_workspace
from tests.conftest import FakeClock
from tests.factories import QRMP_RECIPIENT, RECIPIENT, invoice, note, portal_file, stream

NOV = Period(2025, 11)


@pytest.fixture
def setup(database):
    clock = FakeClock(date(2025, 12, 15))
    workspace = ensure_workspace(database, RECIPIENT)
    data = portal_file(
        b2b=[invoice("A", tax=1000.0), invoice("R", tax=300.0), invoice("P", tax=200.0),
             invoice("N", tax=50.0)],
        b2bcn=[note("CN-FULL", tax=100.0), note("CN-PART", tax=80.0), note("CN-NIL", tax=70.0)],
    )
    import_file(database, workspace.id, stream(data), actor="t", channel="cli")
    records = RecordService(database, clock)
    ids = {v.number: v.id for v in records.iter_all(workspace.id)}
    return workspace, records, PeriodService(database, clock), ids, clock


def _act(records, workspace, ids, number, action, **kw):
    records.act(workspace.id, ids[number], action, actor="t", channel="cli", **kw)


def test_recompute_sorts_records_into_gstr2b_parts(setup):
    workspace, records, periods, ids, _ = setup
    _act(records, workspace, ids, "A", Action.ACCEPT)
    _act(records, workspace, ids, "R", Action.REJECT)
    _act(records, workspace, ids, "P", Action.PENDING)
    _act(records, workspace, ids, "CN-FULL", Action.ACCEPT)
    _act(records, workspace, ids, "CN-PART", Action.ACCEPT, reduction=Reduction(
        ReductionKind.PARTIAL, Tax(Decimal(0), Decimal(30), Decimal(30), Decimal(0))))
    _act(records, workspace, ids, "CN-NIL", Action.ACCEPT,
         reduction=Reduction(ReductionKind.NIL))
    result = periods.recompute(workspace.id, NOV).to_json()
    # Available: A (1000) + N (50, no action = accepted) less credit-note reductions
    # (100 full + 30 partial + 0 nil) per head.
    assert result["available"] == {"igst": 0, "cgst": 920.0, "sgst": 920.0, "cess": 0,
                                   "count": 2}
    assert result["credit_note_reduction"]["cgst"] == 130.0
    assert result["credit_note_reduction"]["count"] == 3
    assert result["rejected"] == {"igst": 0, "cgst": 300.0, "sgst": 300.0, "cess": 0,
                                  "count": 1}
    assert result["pending"]["cgst"] == 200.0 and result["pending"]["count"] == 1
    assert result["change"] is None


def test_recompute_reports_the_change_since_last_time(setup):
    workspace, records, periods, ids, _ = setup
    periods.recompute(workspace.id, NOV)
    _act(records, workspace, ids, "R", Action.REJECT)
    second = periods.recompute(workspace.id, NOV).to_json()
    assert second["change"]["rejected"] == {"igst": 0, "cgst": 300.0, "sgst": 300.0,
                                            "cess": 0, "count": 1}
    assert second["change"]["available"]["count"] == -1
    third = periods.recompute(workspace.id, NOV)
    assert third.unchanged


def test_recompute_before_the_draft_is_refused_like_the_portal(setup):
    workspace, _, periods, _, clock = setup
    clock.value = date(2025, 12, 13)
    with pytest.raises(Refused) as caught:
        periods.recompute(workspace.id, NOV)
    assert caught.value.verdict.code == "IMS2B009"


def test_recompute_after_gstr3b_is_refused_like_the_portal(setup):
    workspace, _, periods, _, _ = setup
    periods.mark_filed(workspace.id, NOV, actor="t", channel="cli")
    with pytest.raises(Refused) as caught:
        periods.recompute(workspace.id, NOV)
    assert caught.value.verdict.code == "IMS2B007"


def test_qrmp_recompute_covers_the_quarter_after_its_draft(database):
    clock = FakeClock(date(2026, 1, 10))
    workspace = ensure_workspace(database, QRMP_RECIPIENT, frequency=Frequency.QUARTERLY)
    data = portal_file(b2b=[invoice("OCT", period="102025"), invoice("DEC", period="122025")])
    import_file(database, workspace.id, stream(data), actor="t", channel="cli")
    periods = PeriodService(database, clock)
    with pytest.raises(Refused):
        periods.recompute(workspace.id, Period(2025, 11))
    clock.value = date(2026, 1, 14)
    result = periods.recompute(workspace.id, Period(2025, 11))
    assert str(result.period) == "122025" and result.figures.available.count == 2


def test_export_is_the_portal_save_request_for_changed_records(setup):
    workspace, records, _, ids, _ = setup
    _act(records, workspace, ids, "R", Action.REJECT, remarks="not ours")
    _act(records, workspace, ids, "CN-PART", Action.ACCEPT, reduction=Reduction(
        ReductionKind.PARTIAL, Tax(Decimal(0), Decimal(30), Decimal(30), Decimal(0))))
    save, reset = export_requests(records.db, workspace.id)
    assert save["rtin"] == RECIPIENT and save["reqtyp"] == "SAVE" and reset is None
    [rejected] = save["invdata"]["b2b"]
    assert (rejected["inum"], rejected["action"], rejected["prev_status"]) == ("R", "R", "N")
    assert rejected["remarks"] == "not ours" and "hash" not in rejected  # IMSSAV005
    [credit] = save["invdata"]["b2bcn"]
    assert credit["nt_num"] == "CN-PART" and credit["itcRedReq"] == "Y"
    assert (credit["declCgst"], credit["declSgst"]) == (30.0, 30.0)


def test_undo_back_to_the_portal_status_leaves_nothing_to_export(database):
    clock = FakeClock(date(2025, 12, 15))
    workspace = ensure_workspace(database, RECIPIENT)
    import_file(database, workspace.id, stream(portal_file(b2b=[invoice("X", action="A")])),
                actor="t", channel="cli")
    records = RecordService(database, clock)
    [view] = records.iter_all(workspace.id)
    records.act(workspace.id, view.id, Action.REJECT, actor="t", channel="cli")
    records.undo(workspace.id, actor="t", channel="cli", record_id=view.id)
    save, reset = export_requests(database, workspace.id)
    assert save["invdata"] == {} and reset is None  # back to the portal's own status


# ------------------------------------------------------------- the save request's exact shape

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "portal" / "ims_save_reset_schema.json")
    .read_text(encoding="utf-8")
)


def _value_problem(key: str, value: Any) -> str | None:
    rule = SCHEMA["values"][SCHEMA["key_values"][key]]
    if rule["type"] == "string":
        if not isinstance(value, str):
            return f"{key} must be a string, got {value!r}"
        if "enum" in rule and value not in rule["enum"]:
            return f"{key} {value!r} not in {rule['enum']}"
        if "pattern" in rule and not re.search(rule["pattern"], value):
            return f"{key} {value!r} does not match the schema's pattern"
        if len(value) > rule.get("maxLength", len(value)):
            return f"{key} is longer than {rule['maxLength']}"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{key} must be a number, got {value!r}"
    if not rule["minimum"] <= value <= rule.get("maximum", value):
        return f"{key} {value} is out of range"
    if abs(value * 100 - round(value * 100)) > 1e-6:
        return f"{key} {value} is not a multiple of 0.01"
    return None


def schema_problems(request: dict[str, Any], kind: str) -> list[str]:
    """Where a SAVE or RESET request breaks the transcribed schema (an empty list: none)."""
    spec = SCHEMA["request"][kind]
    problems = []
    if sorted(request) != sorted(spec["required"]) or request["reqtyp"] not in spec["reqtyp"]:
        problems.append(f"request keys {sorted(request)} / reqtyp {request.get('reqtyp')}")
    if not re.search(SCHEMA["values"]["stin"]["pattern"], request["rtin"]):
        problems.append(f"rtin {request['rtin']!r}")
    for section, items in request["invdata"].items():
        if section not in SCHEMA[kind]:
            problems.append(f"section {section!r} is not in the {kind} schema")
            continue
        required = set(SCHEMA[kind][section]["required"])
        allowed = required | set(SCHEMA[kind][section].get("optional_from_oct_2025", []))
        for n, item in enumerate(items, 1):
            where = f"{section} #{n}"
            if required - set(item):
                problems.append(f"{where}: missing {sorted(required - set(item))}")
            if set(item) - allowed:
                problems.append(f"{where}: not allowed {sorted(set(item) - allowed)}")
            problems += [f"{where}: {p}" for k, v in item.items() if k in allowed
                         if (p := _value_problem(k, v))]
    return problems


def _doc(section: str, number: str, **extra: Any) -> dict[str, Any]:
    """A record of any section, as the portal sends it (Nov 2025)."""
    if section.startswith("impg"):
        record = {"rtnprd": "112025", "portcd": "INNSA1", "boenum": number,
                  "boedt": "03-11-2025", "txval": 10000.0, "iamt": 1800.0, "cess": 0,
                  "action": "N"}
        if section.endswith("a"):
            record.update({"oboenum": f"{number}-O", "oboedt": "01-11-2025"})
        return record | extra
    is_note = section.startswith("b2bd") or section.startswith("b2bc")
    record = (note if is_note else invoice)(number, period="112025",
                                            isRemarksBlocked="N", isItcRedReqBlocked="N")
    if section in ("b2ba", "ecoma"):
        record.update({"oinum": f"{number}-O", "oidt": "01-10-2025"})
    if section in ("b2bdna", "b2bcna"):
        record.update({"ont_num": f"{number}-O", "ont_dt": "01-10-2025"})
    if section.startswith("ecom"):
        record.pop("inv_typ")
    return record | extra


#: (status, reduction, declared amounts, remarks, flags) set on one record of each section.
VARIANTS = [
    ("accepted", None, None, None, {}),
    ("accepted", "full", None, None, {}),
    ("accepted", "partial", (0, 30, 30, 0), "Half was never availed", {}),
    ("accepted", "nil", None, None, {}),
    ("accepted", "partial", (0, 10, 10, 0), "blocked", {"remarks_blocked": True,
                                                        "itc_reduction_blocked": True}),
    ("rejected", None, None, "Not our purchase", {}),
    ("pending", None, None, "Goods in transit", {}),
    ("pending", None, None, None, {}),
]
ALL_SECTIONS = ("b2b", "b2ba", "b2bdn", "b2bdna", "b2bcn", "b2bcna", "ecom", "ecoma", "impg",
                "impgsez")


def test_every_save_and_reset_item_has_exactly_the_keys_the_schemas_allow(database):
    workspace = ensure_workspace(database, RECIPIENT)
    body = {s: [_doc(s, f"{s.upper()}-{n}") for n in range(len(VARIANTS) + 1)]
            for s in ALL_SECTIONS}
    import_file(database, workspace.id, stream(json.dumps(body).encode()), actor="t",
                channel="cli")
    with database.begin() as session:
        for section in ALL_SECTIONS:
            ids = session.scalars(select(Record.id).where(Record.section == section)
                                  .order_by(Record.id)).all()
            for record_id, (status, reduction, amounts, remarks, flags) in zip(
                ids, VARIANTS, strict=False
            ):
                declared = dict(zip(("decl_igst", "decl_cgst", "decl_sgst", "decl_cess"),
                                    amounts or (None,) * 4, strict=True))
                session.execute(update(Record).where(Record.id == record_id).values(
                    status=status, reduction=reduction, remarks=remarks, **declared, **flags))
            # The last one: accepted on the portal, taken back to no action here → RESET.
            session.execute(update(Record).where(Record.id == ids[-1]).values(
                portal_status="accepted"))
    result = build_export(database, workspace.id)
    save, reset = result.save, result.reset
    assert schema_problems(save, "save") == []
    assert reset is not None and schema_problems(reset, "reset") == []
    portal_sections = set(SCHEMA["save"])
    assert set(save["invdata"]) == set(reset["invdata"]) == portal_sections
    assert all(len(items) == len(VARIANTS) for items in save["invdata"].values())
    assert result.left_out == {"impg": len(VARIANTS) + 1, "impgsez": len(VARIANTS) + 1}
    # With and without declarations, where each applies:
    for section, items in save["invdata"].items():
        keys = [set(item) for item in items]
        takes_reduction = "itcRedReq" in SCHEMA["save"][section]["optional_from_oct_2025"]
        assert any("itcRedReq" in k for k in keys) == takes_reduction, section
        assert any("remarks" in k for k in keys) and any("remarks" not in k for k in keys)
        blocked = items[4]  # the portal blocks remarks and the reduction declaration there
        assert "remarks" not in blocked and "itcRedReq" not in blocked
        if takes_reduction:
            assert (items[2]["itcRedReq"], items[2]["declCgst"]) == ("Y", 30.0)
            assert (items[3]["itcRedReq"], "declCgst" in items[3]) == ("N", False)
            assert (items[1]["itcRedReq"], "declCgst" in items[1]) == ("Y", False)


def test_the_schema_check_catches_what_the_old_request_carried():
    item = {"stin": RECIPIENT, "inum": "X-1", "idt": "05-11-2025", "rtnprd": "112025",
            "srcform": "R1", "val": 1.0, "txval": 1.0, "iamt": 0.0, "camt": 0.0, "samt": 0.0,
            "cess": 0.0, "action": "N", "prev_status": "A", "hash": "h"}
    request = {"rtin": RECIPIENT, "reqtyp": "SAVE", "invdata": {"b2b": [item],
                                                                 "impg": [dict(item)]}}
    problems = schema_problems(request, "save")
    assert any("'hash'" in p for p in problems) and any("inv_typ" in p for p in problems)
    assert any("'N' not in" in p for p in problems) and any("impg" in p for p in problems)


# ------------------------------------------------------- a changed declaration is uploaded


@pytest.fixture
def accepted_cn(database):
    """A credit note accepted on the portal with the default (full) reduction."""
    clock = FakeClock(date(2025, 12, 15))
    workspace = ensure_workspace(database, RECIPIENT)
    cn = note("CN-A", tax=90.0, action="A", itcRedReq="Y", isItcRedReqBlocked="N",
              isRemarksBlocked="N")
    import_file(database, workspace.id, stream(portal_file(b2bcn=[cn])), actor="t",
                channel="cli")
    records = RecordService(database, clock)
    [view] = records.iter_all(workspace.id)
    return workspace, records, view.id, cn


PARTIAL = Reduction(ReductionKind.PARTIAL, Tax(Decimal(0), Decimal(40), Decimal(40), Decimal(0)))


def test_a_changed_declaration_on_an_accepted_credit_note_is_saved_again(accepted_cn):
    workspace, records, record_id, _ = accepted_cn
    save, _ = export_requests(records.db, workspace.id)
    assert save["invdata"] == {}  # as on the portal
    records.act(workspace.id, record_id, Action.ACCEPT, actor="t", channel="cli",
                reduction=PARTIAL)
    save, reset = export_requests(records.db, workspace.id)
    [item] = save["invdata"]["b2bcn"]
    assert (item["action"], item["prev_status"], item["itcRedReq"]) == ("A", "A", "Y")
    assert (item["declCgst"], item["declSgst"]) == (40.0, 40.0) and reset is None
    assert schema_problems(save, "save") == []


def test_changed_remarks_on_a_rejected_record_are_saved_again(database):
    clock = FakeClock(date(2025, 12, 15))
    workspace = ensure_workspace(database, RECIPIENT)
    data = portal_file(b2b=[invoice("INV-R", action="R", remarks="Wrong rate",
                                    isRemarksBlocked="N")])
    import_file(database, workspace.id, stream(data), actor="t", channel="cli")
    records = RecordService(database, clock)
    [view] = records.iter_all(workspace.id)
    assert export_requests(database, workspace.id)[0]["invdata"] == {}
    records.act(workspace.id, view.id, Action.REJECT, actor="t", channel="cli",
                remarks="Goods returned in full")
    [item] = export_requests(database, workspace.id)[0]["invdata"]["b2b"]
    assert (item["action"], item["prev_status"]) == ("R", "R")
    assert item["remarks"] == "Goods returned in full"


def test_once_the_upload_shows_on_the_portal_nothing_is_left_to_save(accepted_cn):
    workspace, records, record_id, cn = accepted_cn
    records.act(workspace.id, record_id, Action.ACCEPT, actor="t", channel="cli",
                reduction=PARTIAL)
    uploaded = dict(cn, declIgst=0, declCgst=40, declSgst=40, declCess=0)
    report = import_file(records.db, workspace.id, stream(portal_file(b2bcn=[uploaded])),
                         actor="t", channel="cli")
    assert report.updated == 1
    assert export_requests(records.db, workspace.id)[0]["invdata"] == {}
    assert records.get(workspace.id, record_id).reduction == "partial"


def test_a_local_declaration_not_yet_uploaded_survives_a_change_on_the_portal(accepted_cn):
    workspace, records, record_id, cn = accepted_cn
    records.act(workspace.id, record_id, Action.ACCEPT, actor="t", channel="cli",
                reduction=PARTIAL)
    import_file(records.db, workspace.id, stream(portal_file(b2bcn=[dict(cn, itcRedReq="N")])),
                actor="t", channel="cli")
    view = records.get(workspace.id, record_id)
    assert view.reduction == "partial"  # the user's, still to be uploaded
    [item] = export_requests(records.db, workspace.id)[0]["invdata"]["b2bcn"]
    assert (item["prev_status"], item["itcRedReq"], item["declCgst"]) == ("A", "Y", 40.0)
    with records.db.begin() as session:
        assert session.get(Record, record_id).portal_decision == "itcRedReq=N"


def test_bills_of_entry_are_left_out_of_the_request_and_said_so(database):
    clock = FakeClock(date(2025, 12, 15))
    workspace = ensure_workspace(database, RECIPIENT)
    import_file(database, workspace.id,
                stream(json.dumps({"impg": [_doc("impg", "4418872")],
                                   "b2b": [invoice("INV-1")]}).encode()),
                actor="t", channel="cli")
    records = RecordService(database, clock)
    for view in records.iter_all(workspace.id):
        records.act(workspace.id, view.id, Action.ACCEPT, actor="t", channel="cli")
    result = build_export(database, workspace.id)
    assert set(result.save["invdata"]) == {"b2b"} and result.left_out == {"impg": 1}
    assert "impg 1" in (result.left_out_note or "")
