"""Supplier names: how a supplier is shown, what a name may be, and which source wins.

The pure parts need no database; the priority tests use SQLite (both backends run the
same upsert in tests/integration/test_suppliers.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ims_bot.db import Database
from ims_bot.errors import InvalidInput
from ims_bot.models import Supplier
from ims_bot.suppliers import (
    CUSTOMS,
    MAX_NAME,
    Source,
    clean_name,
    display_name,
    readable_gstin,
    remember,
    validate_name,
)
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, SUPPLIER_A, SUPPLIER_B

# ------------------------------------------------------------------------ display


def test_an_unnamed_supplier_is_shown_by_its_gstin_spaced_as_state_pan_and_rest():
    assert readable_gstin("27AAPFU0939F1ZV") == "27 AAPFU0939F 1ZV"
    assert display_name("", "27AAPFU0939F1ZV") == "27 AAPFU0939F 1ZV"
    assert display_name(None, "27aapfu0939f1zv ") == "27 AAPFU0939F 1ZV"


def test_a_known_name_is_shown_as_it_is():
    assert display_name("  Tata Steel Distributors ", SUPPLIER_A) == "Tata Steel Distributors"
    # Data, not markup: rendering escapes it, this function never changes it.
    assert display_name("<b>Acme</b> & Co", SUPPLIER_A) == "<b>Acme</b> & Co"


def test_a_record_without_a_supplier_gstin_is_customs_not_a_crash():
    assert display_name("", "") == CUSTOMS
    assert display_name(None, None) == CUSTOMS
    assert display_name("  ", "   ") == CUSTOMS


def test_text_that_is_not_a_whole_gstin_is_shown_unspaced():
    assert readable_gstin("27AAPF") == "27AAPF"


# ------------------------------------------------------------------------ validation


def test_the_users_name_is_trimmed_and_its_spaces_collapsed():
    assert validate_name("  Shree  Ganesh   Traders ") == "Shree Ganesh Traders"
    assert validate_name("श्री गणेश ट्रेडर्स") == "श्री गणेश ट्रेडर्स"
    assert validate_name("क्\u200dष Traders") == "क्\u200dष Traders"  # joiners are script


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "Give the supplier's name"),
        ("   ", "Give the supplier's name"),
        ("x" * (MAX_NAME + 1), f"at most {MAX_NAME} characters"),
        ("Acme\nTraders", "control characters"),
        ("Acme\tTraders", "control characters"),
        ("Acme\x00", "control characters"),
        ("Acme \u202eevil", "control characters"),  # a right-to-left override disguises
    ],
)
def test_a_bad_name_is_refused_with_the_reason(name: str, words: str):
    with pytest.raises(InvalidInput, match=words):
        validate_name(name)


def test_a_name_of_exactly_the_limit_is_accepted():
    assert validate_name("x" * MAX_NAME) == "x" * MAX_NAME


def test_a_name_from_a_file_is_cleaned_instead_of_refused():
    assert clean_name("Acme\n\tTraders\x07 \u202e") == "Acme Traders"
    assert clean_name("y" * 300) == "y" * MAX_NAME
    assert clean_name("\x00\x01") == ""


# ------------------------------------------------------------------------ priority


def _stored(db: Database, taxpayer_id: int) -> dict[str, tuple[str, str]]:
    with db.begin() as session:
        rows = session.execute(
            select(Supplier.gstin, Supplier.name, Supplier.source).where(
                Supplier.taxpayer_id == taxpayer_id
            )
        )
        return {g: (n, s) for g, n, s in rows}


def _remember(db: Database, taxpayer_id: int, names: dict[str, str], source: Source) -> int:
    with db.begin() as session:
        return remember(session, taxpayer_id, names, source)


def test_the_users_name_outranks_the_register_which_outranks_the_portal(sqlite_db: Database):
    w = ensure_workspace(sqlite_db, RECIPIENT).id
    _remember(sqlite_db, w, {SUPPLIER_A: "TATA STEEL DIST", SUPPLIER_B: "GUJ CHEM"}, Source.PORTAL)
    _remember(sqlite_db, w, {SUPPLIER_A: "Tata Steel (register)"}, Source.REGISTER)
    _remember(sqlite_db, w, {SUPPLIER_A: "Tata, Bhiwandi"}, Source.USER)
    assert _stored(sqlite_db, w)[SUPPLIER_A] == ("Tata, Bhiwandi", "user")

    assert _remember(sqlite_db, w, {SUPPLIER_A: "TATA NEW"}, Source.PORTAL) == 0
    assert _remember(sqlite_db, w, {SUPPLIER_A: "Tata reg 2"}, Source.REGISTER) == 0
    _remember(sqlite_db, w, {SUPPLIER_B: "GUJARAT CHEMICALS LTD"}, Source.PORTAL)
    assert _stored(sqlite_db, w) == {
        SUPPLIER_A: ("Tata, Bhiwandi", "user"),
        SUPPLIER_B: ("GUJARAT CHEMICALS LTD", "portal"),  # same source: the newer name
    }


def test_remember_skips_empty_gstins_and_names_and_rewrites_nothing_unchanged(
    sqlite_db: Database,
):
    w = ensure_workspace(sqlite_db, RECIPIENT).id
    names = {SUPPLIER_A: "Tata", "": "Customs house", SUPPLIER_B: "  \x00 "}
    assert _remember(sqlite_db, w, names, Source.PORTAL) == 1
    assert _remember(sqlite_db, w, names, Source.PORTAL) == 0
    assert _stored(sqlite_db, w) == {SUPPLIER_A: ("Tata", "portal")}
