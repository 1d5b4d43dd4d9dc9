"""GSTR-2B recompute figures and the portal save request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ims_bot.domain import Action, Frequency, Period, Reduction, ReductionKind, Tax
from ims_bot.errors import Refused
from ims_bot.export import export_requests
from ims_bot.importer import import_file
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
    assert rejected["remarks"] == "not ours" and rejected["hash"] == "hash-R"
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
