"""The records service on SQLite and PostgreSQL: acting, bulk, undo, conflicts, history."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ims_bot.db import Database
from ims_bot.domain import Action, Period, Reduction, ReductionKind, Section, Status, Tax
from ims_bot.errors import Conflict, NotFound, Refused
from ims_bot.importer import import_file
from ims_bot.models import ActionLog
from ims_bot.recompute import PeriodService
from ims_bot.records import RecordFilter, RecordService, Sort
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note, portal_file, stream


@pytest.fixture
def loaded(database, clock):
    """A workspace with 4 invoices (one from supplier B), 2 Nov 2025 credit notes, 1 Sep CN."""
    workspace = ensure_workspace(database, RECIPIENT)
    data = portal_file(
        b2b=[invoice("INV-1"), invoice("INV-2", tax=5000.0), invoice("INV-3"),
             invoice("INV-4", supplier=SUPPLIER_B)],
        b2bcn=[note("CN-1"), note("CN-2", tax=40.0), note("CN-SEP", period="092025")],
    )
    import_file(database, workspace.id, stream(data), actor="t", channel="cli")
    service = RecordService(database, clock)
    ids = {v.number: v.id for v in service.iter_all(workspace.id)}
    return workspace, service, ids


def _log_count(db: Database) -> int:
    with db.begin() as session:
        return session.scalar(select(func.count(ActionLog.id)))


def test_act_changes_status_and_writes_one_log_entry(database, loaded):
    workspace, service, ids = loaded
    outcome = service.act(workspace.id, ids["INV-1"], Action.REJECT, actor="tg:1",
                          channel="telegram", remarks="not our purchase")
    assert outcome.changed and outcome.previous is Status.NO_ACTION
    fresh = RecordService(database, service.today).get(workspace.id, ids["INV-1"])
    assert (fresh.status, fresh.remarks) == (Status.REJECTED, "not our purchase")
    [entry] = service.history(workspace.id, record_id=ids["INV-1"])
    assert (entry.actor, entry.channel, entry.from_status, entry.to_status) == (
        "tg:1", "telegram", Status.NO_ACTION, Status.REJECTED)


def test_double_tap_accept_is_idempotent(database, loaded):
    workspace, service, ids = loaded
    first = service.act(workspace.id, ids["INV-2"], Action.ACCEPT, actor="u", channel="cli")
    second = service.act(workspace.id, ids["INV-2"], Action.ACCEPT, actor="u", channel="cli")
    assert first.changed and not second.changed
    assert _log_count(database) == 1


def test_refused_action_changes_nothing(database, loaded):
    workspace, service, ids = loaded
    with pytest.raises(Refused) as caught:
        service.act(workspace.id, ids["CN-SEP"], Action.PENDING, actor="u", channel="cli")
    assert caught.value.verdict.faq_id
    assert service.get(workspace.id, ids["CN-SEP"]).status is Status.NO_ACTION
    assert _log_count(database) == 0


def test_stale_version_is_a_conflict_not_an_overwrite(database, loaded):
    workspace, service, ids = loaded
    shown = service.get(workspace.id, ids["INV-3"])
    service.act(workspace.id, ids["INV-3"], Action.REJECT, actor="a", channel="cli")
    with pytest.raises(Conflict):
        service.act(workspace.id, ids["INV-3"], Action.ACCEPT, actor="b", channel="cli",
                    expected_version=shown.version)
    assert service.get(workspace.id, ids["INV-3"]).status is Status.REJECTED


def test_record_of_another_workspace_is_not_found(database, loaded):
    _, service, ids = loaded
    other = ensure_workspace(database, RECIPIENT, owner_id=424242)
    with pytest.raises(NotFound):
        service.act(other.id, ids["INV-1"], Action.REJECT, actor="x", channel="telegram")


def test_credit_note_accept_declares_full_reduction_by_default(database, loaded):
    workspace, service, ids = loaded
    outcome = service.act(workspace.id, ids["CN-1"], Action.ACCEPT, actor="u", channel="cli")
    assert outcome.record.reduction == "full"


def test_partial_reduction_above_the_tax_is_refused(database, loaded):
    workspace, service, ids = loaded
    too_much = Reduction(ReductionKind.PARTIAL, Tax(Decimal(0), Decimal(500), Decimal(0),
                                                    Decimal(0)))
    with pytest.raises(Refused):
        service.act(workspace.id, ids["CN-1"], Action.ACCEPT, actor="u", channel="cli",
                    reduction=too_much)


def test_list_filters_sorts_and_paginates(database, loaded):
    workspace, service, _ids = loaded
    page = service.list(workspace.id, RecordFilter(sections=(Section.B2B,)), sort=Sort.AMOUNT,
                        page=1, page_size=2)
    assert (page.total, page.pages, len(page.items)) == (4, 2, 2)
    assert page.items[0].number == "INV-2"
    by_supplier = service.list(workspace.id, RecordFilter(supplier="gujarat"))
    assert [v.number for v in by_supplier.items] == ["INV-4"]
    cn_first = service.list(workspace.id, RecordFilter(needs_decision=True),
                            sort=Sort.CREDIT_NOTES_FIRST)
    assert cn_first.items[0].section is Section.B2BCN
    cheap = service.list(workspace.id, RecordFilter(max_value=Decimal("10500")))
    assert {v.number for v in cheap.items} == {"CN-1", "CN-2", "CN-SEP"}


def test_bulk_preview_then_apply_in_one_transaction(database, loaded):
    workspace, service, ids = loaded
    flt = RecordFilter(needs_decision=True)
    preview = service.preview_bulk(workspace.id, flt, Action.PENDING)
    # The Sep 2025 credit note may not be kept pending: it is counted as refused.
    assert preview.eligible == 6 and sum(preview.refused.values()) == 1
    outcome = service.act_bulk(workspace.id, flt, Action.PENDING, actor="u", channel="cli")
    assert outcome.changed == 6 and outcome.batch
    assert _log_count(database) == 6
    assert service.get(workspace.id, ids["CN-SEP"]).status is Status.NO_ACTION
    again = service.act_bulk(workspace.id, flt, Action.PENDING, actor="u", channel="cli")
    assert again.changed == 0 and again.unchanged == 6


def test_bulk_accept_under_an_amount(database, loaded):
    workspace, service, ids = loaded
    flt = RecordFilter(needs_decision=True, max_value=Decimal("12000"), sections=(Section.B2B,))
    outcome = service.act_bulk(workspace.id, flt, Action.ACCEPT, actor="u", channel="cli")
    assert outcome.changed == 3  # INV-2 (value 20,000) stays
    assert service.get(workspace.id, ids["INV-2"]).status is Status.NO_ACTION


def test_bulk_failure_rolls_everything_back(database, loaded, monkeypatch):
    workspace, service, _ids = loaded

    def broken_insert(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("ims_bot.records.insert_rows", broken_insert)
    with pytest.raises(RuntimeError):
        service.act_bulk(workspace.id, RecordFilter(), Action.REJECT, actor="u", channel="cli")
    statuses = {v.status for v in RecordService(database, service.today).iter_all(workspace.id)}
    assert statuses == {Status.NO_ACTION}


def test_undo_restores_previous_status_and_remarks(database, loaded):
    workspace, service, ids = loaded
    service.act(workspace.id, ids["INV-1"], Action.REJECT, actor="u", channel="cli",
                remarks="wrong rate")
    service.act(workspace.id, ids["INV-1"], Action.ACCEPT, actor="u", channel="cli")
    assert service.undo(workspace.id, actor="u", channel="cli", record_id=ids["INV-1"]) == 1
    view = service.get(workspace.id, ids["INV-1"])
    assert (view.status, view.remarks) == (Status.REJECTED, "wrong rate")


def test_undo_of_an_older_action_is_refused(database, loaded):
    workspace, service, ids = loaded
    first = service.act(workspace.id, ids["INV-1"], Action.REJECT, actor="u", channel="cli")
    service.act(workspace.id, ids["INV-1"], Action.ACCEPT, actor="u", channel="cli")
    with pytest.raises(Refused):
        service.undo(workspace.id, actor="u", channel="cli", log_id=first.log_id)


def test_undo_of_a_bulk_batch(database, loaded):
    workspace, service, _ids = loaded
    outcome = service.act_bulk(workspace.id, RecordFilter(sections=(Section.B2B,)),
                               Action.REJECT, actor="u", channel="cli")
    assert service.undo(workspace.id, actor="u", channel="cli", batch=outcome.batch) == 4
    assert {v.status for v in service.iter_all(workspace.id)} == {Status.NO_ACTION}


def test_undo_is_refused_once_gstr3b_is_filed(database, loaded, clock):
    workspace, service, ids = loaded
    service.act(workspace.id, ids["INV-1"], Action.REJECT, actor="u", channel="cli")
    clock.value = date(2025, 12, 5)  # November has ended: its GSTR-3B can be filed
    PeriodService(database, clock).mark_filed(workspace.id, service.get(
        workspace.id, ids["INV-1"]).period, actor="u", channel="cli")
    with pytest.raises(Refused) as caught:
        service.undo(workspace.id, actor="u", channel="cli", record_id=ids["INV-1"])
    assert caught.value.verdict.code == "LOCKED_3B_FILED"


def test_filing_locks_decided_records_and_carries_pending_forward(database, loaded, clock):
    workspace, service, ids = loaded
    service.act(workspace.id, ids["INV-1"], Action.PENDING, actor="u", channel="cli")
    period = service.get(workspace.id, ids["INV-1"]).period
    clock.value = date(2025, 12, 5)
    carried = PeriodService(database, clock).mark_filed(workspace.id, period, actor="u",
                                                        channel="cli")
    assert carried == 1
    pending = service.get(workspace.id, ids["INV-1"])
    assert not pending.locked and str(pending.itc_period) == "122025"
    locked = service.get(workspace.id, ids["INV-2"])
    assert locked.locked and not any(v.allowed for v in locked.verdicts.values())
    open_ids = {v.id for v in service.iter_all(workspace.id, RecordFilter(needs_decision=True))}
    assert ids["INV-1"] in open_ids and ids["INV-2"] not in open_ids


def _race(db_url: str, workspace_id: int, record_id: int, version: int, results: list) -> None:
    db = Database(db_url)
    service = RecordService(db, lambda: date(2025, 11, 20))
    try:
        service.act(workspace_id, record_id, Action.REJECT, actor="t", channel="cli",
                    expected_version=version)
        results.append("ok")
    except Conflict:
        results.append("conflict")
    finally:
        db.dispose()


def test_concurrent_actions_one_wins_the_other_gets_a_conflict(database, loaded):
    workspace, service, ids = loaded
    version = service.get(workspace.id, ids["INV-1"]).version
    url = database.url.render_as_string(hide_password=False)
    results: list[str] = []
    threads = [
        threading.Thread(target=_race, args=(url, workspace.id, ids["INV-1"], version, results))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    assert _log_count(database) == 1


def _downward_amendment(database, clock, amend_period: str):
    """An invoice accepted and filed, then amended downward by the supplier."""
    workspace = ensure_workspace(database, RECIPIENT)
    original = invoice("INV-9", period="082025", tax=900.0, action="A")
    import_file(database, workspace.id, stream(portal_file(b2b=[original])), actor="t",
                channel="cli")
    PeriodService(database, clock).mark_filed(workspace.id, Period(2025, 8), actor="t",
                                              channel="cli")
    amended = invoice("INV-9A", period=amend_period, tax=500.0, oinum="INV-9",
                      oidt=original["idt"])
    import_file(database, workspace.id, stream(portal_file(b2ba=[amended])), actor="t",
                channel="cli")
    service = RecordService(database, clock)
    [view] = service.iter_all(workspace.id, RecordFilter(sections=(Section.B2BA,)))
    return workspace, service, view


def test_downward_amendment_from_oct_2025_may_stay_pending_one_period(database, clock):
    workspace, service, view = _downward_amendment(database, clock, "102025")
    assert view.verdicts[Action.PENDING].allowed
    assert view.pending_window_end == date(2025, 12, 20)
    assert view.reduction_applicable
    service.act(workspace.id, view.id, Action.PENDING, actor="u", channel="cli")


def test_downward_amendment_before_oct_2025_cannot_be_pending(database, clock):
    workspace, service, view = _downward_amendment(database, clock, "092025")
    assert not view.verdicts[Action.PENDING].allowed
    with pytest.raises(Refused):
        service.act(workspace.id, view.id, Action.PENDING, actor="u", channel="cli")
