"""The pure reconciliation module: each normalisation and each group, as tables; and the
register reader on the forms people export and on hostile files."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from ims_bot.domain import Tax
from ims_bot.gstin import make_gstin
from ims_bot.reconcile import (
    Doc,
    Group,
    follow_ups,
    normalise_gstin,
    normalise_number,
    reconcile,
)
from ims_bot.register import MappingNeeded, RegisterError, read_register

STEEL = make_gstin("27", "AABCT1332L")
STEEL_GJ = make_gstin("24", "AABCT1332L")  # the same PAN, another state
CHEM = make_gstin("24", "AACCG9012M")
DAY = date(2025, 11, 5)


def tax(cgst: str = "900", sgst: str | None = None, igst: str = "0") -> Tax:
    return Tax(Decimal(igst), Decimal(cgst), Decimal(sgst or cgst), Decimal(0))


def rec(key: int, number: str, gstin: str = STEEL, t: Tax | None = None,
        day: date | None = DAY, **kw: object) -> Doc:
    return Doc(key, gstin, number, day, t or tax(), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("portal", "books"),
    [
        ("INV-42", "inv 42"),  # case and spaces
        ("INV/42", "INV.42"),  # punctuation
        ("INV0042", "INV42"),  # leading zeros
        ("00042", "42"),  # leading zeros of a bare number
        ("INV/42/25-26", "INV-42"),  # financial-year suffix
        ("2025-26/INV/42", "INV42"),  # financial-year prefix
        ("INV/42/2025-2026", "inv42"),  # four-digit years
    ],
)
def test_document_numbers_normalise_to_the_same_key(portal: str, books: str) -> None:
    assert normalise_number(portal) == normalise_number(books)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("INV/42/25-27", "INV42"),  # not consecutive years: not a financial year
        ("INV-42", "INV-43"),
        ("INV100", "INV1000"),  # zeros inside a number are kept
    ],
)
def test_different_numbers_stay_different(one: str, other: str) -> None:
    assert normalise_number(one) != normalise_number(other)


def test_gstin_normalises_case_and_spaces() -> None:
    assert normalise_gstin(" 27 aabct1332l 1zv ") == "27AABCT1332L1ZV"


@pytest.mark.parametrize(
    ("record", "row", "group", "action"),
    [
        (rec(1, "INV/042/25-26"), rec(1, "inv-42"), Group.MATCHED, "accept"),
        # within ₹1 per head still matches
        (rec(1, "A1"), rec(1, "A1", t=tax("900.80", "899.40")), Group.MATCHED, "accept"),
        (rec(1, "A1"), rec(1, "A1", t=tax("950")), Group.AMOUNT_MISMATCH, "pending"),
        # a similar number, same supplier, same amounts, two days apart
        (rec(1, "INV-1042"), rec(1, "INV-1042A", day=date(2025, 11, 7)), Group.NEAR_MATCH,
         "accept"),
        # the same document under another GSTIN of the supplier (same PAN)
        (rec(1, "INV-77"), rec(1, "INV-77", gstin=STEEL_GJ), Group.NEAR_MATCH, "accept"),
        # similar number but dates too far apart: not a near match
        (rec(1, "INV-1042"), rec(1, "INV-1042A", day=date(2025, 12, 20)),
         Group.NOT_IN_BOOKS, "pending"),
        # another supplier altogether
        (rec(1, "INV-9"), rec(1, "INV-9", gstin=CHEM), Group.NOT_IN_BOOKS, "pending"),
        # a credit note never matches an invoice of the same number
        (rec(1, "N-5", credit_note=True), rec(1, "N-5"), Group.NOT_IN_BOOKS, "pending"),
        # ... but does match a row of a register that does not say (no type column)
        (rec(1, "N-5", credit_note=True), rec(1, "N-5", credit_note=None), Group.MATCHED,
         "accept"),
    ],
)
def test_groups(record: Doc, row: Doc, group: Group, action: str) -> None:
    result = reconcile([record], [row])
    first = result.items[0]
    assert (first.group, first.suggested_action, first.record) == (group, action, record)
    # Every record and every row appear exactly once.
    assert sorted(i.record.key for i in result.items if i.record) == [1]
    assert sorted(i.row.key for i in result.items if i.row) == [1]
    if group in (Group.NOT_IN_BOOKS,):
        assert result.items[1].group is Group.NOT_IN_IMS
        assert result.items[1].suggested_action == "follow_up"


def test_amount_mismatch_names_the_difference_per_head() -> None:
    result = reconcile([rec(1, "A1")], [rec(7, "A1", t=tax("950", "900"))])
    item = result.items[0]
    assert item.difference == Tax(Decimal(0), Decimal(50), Decimal(0), Decimal(0))
    assert "CGST +₹50.00" in item.reason and "row 7" in item.reason


def test_tolerance_is_settable() -> None:
    record, row = rec(1, "A1"), rec(1, "A1", t=tax("905"))
    assert reconcile([record], [row]).items[0].group is Group.AMOUNT_MISMATCH
    assert reconcile([record], [row], tolerance=Decimal(5)).items[0].group is Group.MATCHED


def test_not_in_books_is_never_a_reject() -> None:
    item = reconcile([rec(1, "ZZ")], []).items[0]
    assert item.group is Group.NOT_IN_BOOKS and item.suggested_action == "pending"


def test_a_decided_record_matches_its_row_but_is_not_listed_as_missing() -> None:
    decided = rec(1, "A1", open=False)
    gone = rec(2, "B2", open=False)
    result = reconcile([decided, gone], [rec(1, "A1")])
    assert [(i.group, i.record.key if i.record else None) for i in result.items] == [
        (Group.MATCHED, 1)
    ]
    assert "Already decided" in result.items[0].reason


def test_summary_counts_and_itc_per_group() -> None:
    result = reconcile([rec(1, "A1"), rec(2, "B2")], [rec(1, "A1"), rec(2, "C3", t=tax("10"))])
    summary = result.summary()
    assert summary["matched"]["count"] == 1 and summary["matched"]["cgst"] == Decimal(900)
    assert summary["not_in_books"]["count"] == 1
    assert summary["not_in_ims"] == {"count": 1, "igst": 0, "cgst": 10, "sgst": 10, "cess": 0}


def test_follow_up_names_the_missing_documents_per_supplier() -> None:
    rows = [rec(1, "INV-1", name="Tata Steel"), rec(2, "INV-2", name="Tata Steel"),
            rec(3, "G-9", gstin=CHEM)]
    messages = follow_ups(reconcile([], rows), {CHEM: "Gujarat Chemicals"})
    assert set(messages) == {STEEL, CHEM}
    assert "INV-1" in messages[STEEL] and "INV-2" in messages[STEEL]
    assert messages[STEEL].startswith("Dear Tata Steel")
    assert "Gujarat Chemicals" in messages[CHEM] and "G-9" in messages[CHEM]


# ----------------------------------------------------------------------------- the reader

TALLY = (
    "Acme Traders\nPurchase Register 1-Nov-2025 to 30-Nov-2025\n\n"
    "Date,Particulars,GSTIN/UIN,Supplier Invoice No.,Supplier Invoice Date,Taxable Value,"
    "Integrated Tax Amount,Central Tax Amount,State Tax Amount,Cess Amount\n"
    f'5-Nov-2025,Tata Steel,{STEEL},INV/042/25-26,5-Nov-2025,"10,000.00",0,900.00,900.00,0\n'
    ",Grand Total,,,,10000,0,900,900,0\n"
)
PLAIN = (
    "gstin,invoice_no,invoice_date,taxable_value,igst,cgst,sgst,cess,type\n"
    f"{CHEM},G-1,2025-11-05,1000,180,0,0,0,Invoice\n"
    f"{CHEM},CN-1,05/11/2025,-100,-18,0,0,0,\n"
    f"{CHEM},CN-2,05-11-2025,100,18,0,0,0,Credit Note\n"
)


def test_tally_register_with_title_rows_and_a_total() -> None:
    register = read_register(TALLY.encode())
    assert register.skipped == 1  # the grand total
    [row] = register.rows
    assert (row.key, row.gstin, row.number, row.date, row.name) == (
        1, STEEL, "INV/042/25-26", DAY, "Tata Steel")
    assert row.tax == tax("900")
    assert row.credit_note is None  # no type column, a positive amount: either kind
    assert register.mapping["invoice_no"] == "Supplier Invoice No."


def test_plain_headers_and_credit_notes_by_type_or_sign() -> None:
    rows = read_register(PLAIN.encode()).rows
    assert [(r.number, r.credit_note, r.tax.igst) for r in rows] == [
        ("G-1", False, Decimal(180)), ("CN-1", True, Decimal(18)), ("CN-2", True, Decimal(18))]


def test_an_unrecognised_column_is_asked_for_then_mapped() -> None:
    text = PLAIN.replace("invoice_no", "Bill Ref")
    with pytest.raises(MappingNeeded) as caught:
        read_register(text.encode())
    assert caught.value.missing == ("invoice_no",) and "Bill Ref" in caught.value.headers
    rows = read_register(text.encode(), mapping={"invoice_no": "Bill Ref"}).rows
    assert rows[0].number == "G-1"


def test_xlsx_is_read_with_dates_and_numbers() -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["GSTIN of Supplier", "Invoice Number", "Invoice Date", "IGST Amount",
                  "CGST Amount", "SGST Amount"])
    sheet.append([CHEM, "G-7", date(2025, 11, 5), 180.0, 0, 0])
    sheet.append([CHEM, "=HYPERLINK(\"x\")", date(2025, 11, 5), 1, 0, 0])
    buffer = io.BytesIO()
    book.save(buffer)
    register = read_register(buffer.getvalue(), "r.xlsx")
    [row] = register.rows
    assert (row.number, row.date, row.tax.igst) == ("G-7", DAY, Decimal(180))
    # A formula is never evaluated: without a value saved by Excel its cell is empty.
    assert register.skipped == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (PLAIN.replace(",180,", ",abc,", 1), "row 1: 'abc' in column 'igst' is not an amount"),
        (PLAIN.replace("2025-11-05", "yesterday"), "row 1: 'yesterday' in column"),
        (PLAIN.replace(CHEM, "NOTAGSTIN", 1), "row 1: 'NOTAGSTIN'"),
        ("", "the file is empty"),
    ],
)
def test_a_bad_file_names_the_row(content: str, message: str) -> None:
    with pytest.raises(RegisterError, match=message):
        read_register(content.encode())


def test_hostile_input_never_crashes() -> None:
    formula = f"{CHEM},=cmd|' /C calc'!A0,2025-11-05,0,1,1,0,0,\n"
    big = PLAIN + formula + f"{CHEM},{'X' * 5000},2025-11-05,0,1,1,0,0,\n"
    rows = read_register(big.encode()).rows
    assert rows[3].number == "=cmd|' /C calc'!A0"
    assert len(rows[4].number) <= 40
    # Non-UTF-8 bytes (cp1252) are read, not refused.
    latin = (PLAIN.replace("type", "Party Name") + f"{CHEM},Z-1,2025-11-05,0,1,0,0,0,Caf\xe9\n")
    assert read_register(latin.encode("cp1252")).rows[-1].name == "Café"
    # A cell larger than the CSV reader takes is a clear error, not a crash.
    with pytest.raises(RegisterError, match="cannot be read as CSV"):
        read_register((PLAIN + '"' + "y" * 200_000 + '"\n').encode())
    with pytest.raises(RegisterError, match="Excel"):
        read_register(b"PK\x03\x04garbage", "r.xlsx")


def test_a_hundred_thousand_rows_are_read() -> None:
    lines = [PLAIN.splitlines()[0]] + [
        f"{CHEM},G-{n},2025-11-05,1000,180,0,0,0,Invoice" for n in range(100_000)]
    assert len(read_register("\n".join(lines).encode()).rows) == 100_000
