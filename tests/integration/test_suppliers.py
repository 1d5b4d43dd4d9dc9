"""Supplier names on SQLite and PostgreSQL: kept from imports and the user's own naming, shown
everywhere a supplier is, and searched by the supplier filter."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from ims_bot.chart import chart_data
from ims_bot.deadline_report import new_records
from ims_bot.domain import Action
from ims_bot.errors import InvalidInput, NotFound
from ims_bot.gstin import make_gstin
from ims_bot.importer import import_file
from ims_bot.models import Record, Supplier
from ims_bot.records import RecordFilter, RecordService, Sort, supplier_names
from ims_bot.settings import INDIA
from ims_bot.suppliers import CUSTOMS, rename
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, SUPPLIER_A, SUPPLIER_B, invoice, portal_file, stream

SUPPLIER_C = make_gstin("29", "AAACR5055K")  # Karnataka; its file rows carry no trade name


def bill_of_entry(number: str) -> dict[str, object]:
    """Imported goods: no supplier GSTIN at all."""
    return {"rtnprd": "112025", "portcd": "INNSA1", "boenum": number, "boedt": "03-11-2025",
            "txval": 10000.0, "iamt": 1800.0, "cess": 0, "action": "N", "hash": f"h-{number}"}


def the_file(tata_name: str = "Tata Steel Distributors") -> bytes:
    return portal_file(
        b2b=[
            invoice("INV-1", trdnm=tata_name),
            invoice("INV-2", supplier=SUPPLIER_B, tax=5000.0),
            invoice("INV-3", supplier=SUPPLIER_C, tax=3000.0, trdnm=""),
        ],
        impg=[bill_of_entry("BE-1")],
    )


@pytest.fixture
def loaded(database, clock):
    workspace = ensure_workspace(database, RECIPIENT)
    import_file(database, workspace.id, stream(the_file()), actor="t", channel="cli")
    return workspace.id, RecordService(database, clock)


def labels(service: RecordService, w: int, flt: RecordFilter | None = None) -> dict[str, str]:
    return {v.number: v.supplier_label for v in service.iter_all(w, flt)}


def test_import_keeps_the_files_trade_names_and_shows_the_gstin_until_one_is_known(loaded):
    w, service = loaded
    assert labels(service, w) == {
        "INV-1": "Tata Steel Distributors",
        "INV-2": "Gujarat Chemicals",
        "INV-3": f"{SUPPLIER_C[:2]} {SUPPLIER_C[2:12]} {SUPPLIER_C[12:]}",
        "BE-1": CUSTOMS,
    }
    [inv3] = [v for v in service.iter_all(w) if v.number == "INV-3"]
    assert inv3.supplier_name == "" and inv3.to_json()["supplier_label"] == inv3.supplier_label


def test_the_users_name_wins_over_a_later_imports_trade_name(database, loaded):
    w, service = loaded
    named = rename(database, w, SUPPLIER_A.lower(), "  Tata,  Bhiwandi ")
    assert (named.name, named.previous) == ("Tata, Bhiwandi", "Tata Steel Distributors")
    renamed_file = portal_file(
        b2b=[invoice("INV-1", trdnm="TATA STEEL DISTRIBUTORS PVT LTD"),
             invoice("INV-2", supplier=SUPPLIER_B, tax=5000.0, trdnm="Gujarat Chemicals Ltd")],
    )
    import_file(database, w, stream(renamed_file), actor="t", channel="cli")
    shown = labels(service, w)
    assert shown["INV-1"] == "Tata, Bhiwandi"
    assert shown["INV-2"] == "Gujarat Chemicals Ltd"  # a file's newer name replaces its older


def test_a_name_is_shown_in_the_menu_history_chart_and_digest(database, loaded, clock):
    w, service = loaded
    rename(database, w, SUPPLIER_C, "Rao & Sons <Mysuru>")
    [inv3] = [v for v in service.iter_all(w) if v.number == "INV-3"]
    service.act(w, inv3.id, Action.ACCEPT, actor="u", channel="cli")
    assert service.history(w)[0].supplier_name == "Rao & Sons <Mysuru>"
    menu = {gstin: name for gstin, name, _ in supplier_names(database, w)}
    assert menu == {SUPPLIER_A: "Tata Steel Distributors", SUPPLIER_B: "Gujarat Chemicals"}
    # (SUPPLIER_C's only record is accepted now; the bill of entry has no supplier to pick.)
    _, top = chart_data(database, w)
    assert [name for name, _ in top] == ["Gujarat Chemicals", CUSTOMS, "Tata Steel Distributors"]
    since = datetime.now(INDIA) - timedelta(hours=1)
    with database.begin() as session:
        news = new_records(session, [(w, since)], datetime.now(INDIA))[(w, since)]
    assert [(s.gstin, s.name) for s in news.top_suppliers] == [
        (SUPPLIER_B, "Gujarat Chemicals"),
        (SUPPLIER_C, "Rao & Sons <Mysuru>"),
        ("", ""),  # the bill of entry: no supplier, shown as customs
    ]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("gujarat", {"INV-2"}),  # the file's trade name, any case
        ("BHIWANDI", {"INV-1"}),  # the user's own name
        ("aaccg9012", {"INV-2"}),  # a fragment of the GSTIN
        ("29 AAACR", {"INV-3"}),  # the GSTIN as shown, spaces and all
        (SUPPLIER_C, {"INV-3"}),  # a whole GSTIN
        ("%", set()),  # LIKE wildcards are plain characters
        ("_", set()),
    ],
)
def test_the_supplier_filter_finds_by_name_or_gstin_fragment(database, loaded, text, numbers):
    w, service = loaded
    rename(database, w, SUPPLIER_A, "Tata, Bhiwandi")
    found = service.list(w, RecordFilter(supplier=text), page_size=50).items
    assert {v.number for v in found} == numbers


def test_sorting_by_supplier_follows_the_names_shown(database, loaded):
    w, service = loaded
    rename(database, w, SUPPLIER_B, "acme chemicals")  # lower case: sorted ignoring case
    page = service.list(w, sort=Sort.SUPPLIER, page_size=50)
    # Named first (acme, Tata), then the rest by GSTIN: the bill of entry has none.
    assert [v.number for v in page.items] == ["INV-2", "INV-1", "BE-1", "INV-3"]


def _names(database) -> dict[str, str]:
    with database.begin() as session:
        return {g: n for g, n in session.execute(select(Supplier.gstin, Supplier.name))}


@pytest.mark.parametrize(
    ("gstin", "name", "error", "words"),
    [
        (make_gstin("07", "AAACD1234E"), "Delhi Traders", NotFound, "not a supplier here"),
        ("27AABCT1332L1ZX", "Tata", InvalidInput, "check character"),
        (SUPPLIER_A, "", InvalidInput, "Give the supplier's name"),
        (SUPPLIER_A, "Tata\nSteel", InvalidInput, "control characters"),
        (SUPPLIER_A, "T" * 101, InvalidInput, "at most 100"),
    ],
)
def test_naming_is_refused_clearly_and_changes_nothing(database, loaded, gstin, name, error,
                                                       words):
    w, _ = loaded
    before = _names(database)
    with pytest.raises(error, match=words):
        rename(database, w, gstin, name)
    assert _names(database) == before


def test_a_supplier_of_another_workspace_cannot_be_named_here(database, loaded):
    other = ensure_workspace(database, RECIPIENT, owner_id=424242)
    with pytest.raises(NotFound):
        rename(database, other.id, SUPPLIER_A, "Mine now")
    with pytest.raises(NotFound):
        rename(database, 987654, SUPPLIER_A, "No such workspace")


def test_a_supplier_whose_gstin_fails_the_check_character_can_still_be_named(database, loaded):
    # The portal lets such GSTINs through; the records have it, so it is a supplier here.
    w, service = loaded
    odd = SUPPLIER_C[:-1] + ("A" if SUPPLIER_C[-1] != "A" else "B")
    with database.begin() as session:
        session.execute(
            update(Record.__table__)
            .where(Record.__table__.c.supplier_gstin == SUPPLIER_C)
            .values(supplier_gstin=odd)
        )
    assert rename(database, w, odd, "Rao Traders").gstin == odd
    assert labels(service, w)["INV-3"] == "Rao Traders"
