"""Reading a purchase register (CSV, or Excel .xlsx) into `reconcile.Doc` rows.

Headers are recognised in the forms people export (Tally's purchase register / GSTR-2
style, Busy, Zoho, plain snake_case); a column that is not recognised is named in
`MappingNeeded`, and the caller asks the user which column it is (`mapping`: field →
header as written). Every cell is text or a number, never evaluated: a CSV cell such as
`=cmd|' /C calc'!A0` is a string, and an .xlsx is opened read-only with cached values.

A file that cannot be read raises RegisterError with a message naming the row (1-based
data row, after the header) and the column.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ims_bot.domain import MAX_AMOUNT, Tax
from ims_bot.reconcile import Doc, normalise_gstin

#: Fields of a register row, and the header spellings (compared as lower-case letters and
#: digits only) that name each of them.
FIELDS: dict[str, tuple[str, ...]] = {
    "gstin": ("gstin", "gstinuin", "suppliergstin", "partygstin", "gstinofsupplier",
              "gstinuinofsupplier", "ctin", "gstno", "gstnumber", "partygstinuin",
              "vendorgstin", "suppliergstinuin"),
    "invoice_no": ("invoiceno", "invoicenumber", "supplierinvoiceno", "supplierinvoicenumber",
                   "billno", "billnumber", "docno", "documentno", "documentnumber",
                   "vchbillno", "partyinvoiceno", "refno", "referenceno", "inum",
                   "vendorinvoiceno", "originalinvoiceno", "notenumber", "noteno"),
    "invoice_date": ("invoicedate", "supplierinvoicedate", "billdate", "docdate",
                     "documentdate", "partyinvoicedate", "refdate", "referencedate", "idt",
                     "vendorinvoicedate", "notedate", "date"),
    "taxable_value": ("taxablevalue", "taxableamount", "taxablevalueinr", "assessablevalue",
                      "txval", "taxablevaluers"),
    "igst": ("igst", "igstamount", "integratedtax", "integratedtaxamount", "iamt",
             "integratedtaxrs", "igstamt"),
    "cgst": ("cgst", "cgstamount", "centraltax", "centraltaxamount", "camt", "centraltaxrs",
             "cgstamt"),
    "sgst": ("sgst", "sgstamount", "statetax", "statetaxamount", "statetaxut", "statetaxutamount",
             "sgstutgst", "sgstutgstamount", "utgst", "samt", "stateuttaxamount", "statetaxrs",
             "sgstamt"),
    "cess": ("cess", "cessamount", "csamt", "cessrs", "cessamt"),
    "supplier_name": ("suppliername", "partyname", "particulars", "name", "vendorname",
                      "tradename", "nameofsupplier", "supplier", "party", "ledgername",
                      "tradelegalname"),
    "doc_type": ("type", "doctype", "documenttype", "vouchertype", "vchtype", "notetype",
                 "invoicetype", "typeofnote"),
}
REQUIRED = ("gstin", "invoice_no", "invoice_date", "igst", "cgst", "sgst")
#: A header is looked for in the first rows (Tally puts the firm's name and the period
#: above it).
HEADER_SCAN = 30
MAX_CELL = 200  # characters kept of a text cell
MAX_ROWS = 1_000_000
_KEY = re.compile(r"[^0-9a-z]+")
_MONTHS = ("%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%d/%b/%Y", "%d-%m-%Y", "%d/%m/%Y",
           "%d.%m.%Y", "%Y-%m-%d", "%d-%m-%y", "%d/%m/%y", "%Y/%m/%d")
_EXCEL_EPOCH = date(1899, 12, 30)
_CENT = Decimal("0.01")


class RegisterError(ValueError):
    """The file cannot be read as a purchase register; the message names where."""


@dataclass(frozen=True)
class MappingNeeded(Exception):
    """Some required columns were not recognised: which fields, and the file's headers."""

    missing: tuple[str, ...]
    headers: tuple[str, ...]

    def __str__(self) -> str:
        return (f"columns not recognised: {', '.join(self.missing)} "
                f"(say which with --map FIELD=HEADER)")


@dataclass(frozen=True)
class Register:
    rows: list[Doc]
    mapping: dict[str, str]  # field -> header, as used
    skipped: int  # rows without a supplier GSTIN (unregistered purchases, totals)


def header_key(text: str) -> str:
    return _KEY.sub("", text.lower())


def is_register_file(name: str, data_head: bytes = b"") -> bool:
    """A CSV or .xlsx by its name (or, for .xlsx, its zip signature)."""
    lower = name.lower()
    return lower.endswith((".csv", ".xlsx")) or (
        data_head.startswith(b"PK\x03\x04") and not lower.endswith(".json")
    )


def read_register(
    data: bytes, name: str = "register.csv", mapping: Mapping[str, str] | None = None
) -> Register:
    """The register's rows. Raises RegisterError, or MappingNeeded."""
    table = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(data)
    return _parse(table, dict(mapping or {}))


# ----------------------------------------------------------------------------- reading cells


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte is a character: never fails


def _csv_rows(data: bytes) -> Iterator[list[object]]:
    text = _decode(data).replace("\x00", "")
    sample = text[:4096]
    delimiter = max((",", ";", "\t", "|"), key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    try:
        for line, row in enumerate(reader, start=1):  # noqa: B007 - read in the except
            yield list(row)
    except csv.Error as exc:
        raise RegisterError(f"line {line + 1} of the file cannot be read as CSV: {exc}") from None


def _xlsx_rows(data: bytes) -> Iterator[list[object]]:
    try:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
    except Exception as exc:  # a corrupt zip or workbook: openpyxl raises many kinds
        raise RegisterError(f"this is not an Excel (.xlsx) file that can be read: "
                            f"{type(exc).__name__}") from None
    try:
        for row in rows:
            yield list(row)
    except Exception as exc:
        raise RegisterError(f"the Excel file is damaged: {type(exc).__name__}") from None
    finally:
        book.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value)[:MAX_CELL].split())


# ----------------------------------------------------------------------------- parsing


def _find_header(
    rows: Iterator[list[object]], mapping: dict[str, str]
) -> tuple[list[str], Iterator[list[object]]]:
    """The first row naming at least three fields; else the best (or first) row with text,
    whose unrecognised columns the caller asks about. The rows above it are titles."""
    best: list[str] | None = None
    best_score, after = -1, 0
    wanted = {header_key(h) for h in mapping.values()}
    seen: list[list[object]] = []
    for _ in range(HEADER_SCAN):
        row = next(rows, None)
        if row is None:
            break
        seen.append(row)
        cells = [_text(c) for c in row]
        if not any(cells):
            continue
        keys = {header_key(c) for c in cells}
        score = sum(1 for spellings in FIELDS.values() if keys & set(spellings))
        score += len(keys & wanted)
        if score >= 3:
            return cells, rows
        if score > best_score:
            best, best_score, after = cells, score, len(seen)
    if best is None:
        raise RegisterError("the file is empty: no header row with column names was found")
    return best, itertools.chain(seen[after:], rows)


def _columns(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    keys = [header_key(c) for c in header]
    columns: dict[str, int] = {}
    for name, wanted in mapping.items():
        if name in FIELDS and header_key(wanted) in keys:
            columns[name] = keys.index(header_key(wanted))
    taken = set(columns.values())
    for name, spellings in FIELDS.items():
        if name in columns:
            continue
        for spelling in spellings:  # the field's own order: the most specific first
            if spelling in keys and keys.index(spelling) not in taken:
                columns[name] = keys.index(spelling)
                taken.add(columns[name])
                break
    missing = tuple(f for f in REQUIRED if f not in columns)
    if missing:
        raise MappingNeeded(missing, tuple(c for c in header if c))
    return columns


def _parse(table: Iterator[list[object]], mapping: dict[str, str]) -> Register:
    header, rows = _find_header(iter(table), mapping)
    columns = _columns(header, mapping)
    order = ("gstin", "invoice_no", "invoice_date", "igst", "cgst", "sgst", "cess",
             "supplier_name", "doc_type")
    # One index per field (-1: no such column), read once per row: 100,000 rows are common.
    indices = [columns.get(name, -1) for name in order]
    width = max(indices) + 2  # a row padded to this ends in a None, which -1 reads
    fields = operator.itemgetter(*indices)
    docs: list[Doc] = []
    skipped = 0
    for number, raw in enumerate(rows, start=1):
        if number > MAX_ROWS:
            raise RegisterError(f"the register has more than {MAX_ROWS:,} rows: split it")
        if len(raw) < width:
            raw.extend([None] * (width - len(raw)))
        elif raw[-1] is not None:
            raw.append(None)
        gstin_cell, no_cell, day, igst, cgst, sgst, cess, name, kind_cell = fields(raw)
        gstin = normalise_gstin(_text(gstin_cell))
        doc_no = _text(no_cell)
        if not gstin or not doc_no:
            skipped += 1  # a blank line, a total, or a purchase from an unregistered person
            continue
        if len(gstin) != 15 or not gstin.isalnum():
            raise RegisterError(f"row {number}: {_text(gstin_cell)[:40]!r} in column "
                                f"{header[columns['gstin']]!r} is not a GSTIN")
        heads = [_amount(value, number, header, columns, head) for value, head in
                 ((igst, "igst"), (cgst, "cgst"), (sgst, "sgst"), (cess, "cess"))]
        kind = _text(kind_cell).lower()
        negative = any(v < 0 for v in heads)
        credit: bool | None = "credit" in kind or kind in ("cn", "c") or negative
        if not credit and "doc_type" not in columns:
            credit = None  # no type column, positive amounts: an invoice or a credit note
        docs.append(Doc(
            key=number,
            gstin=gstin,
            number=doc_no[:40],
            date=_date(day, number, header, columns),
            tax=Tax(*(abs(v) for v in heads)) if credit else Tax(*heads),
            credit_note=credit,
            name=_text(name)[:100],
        ))
    return Register(docs, {f: header[i] for f, i in columns.items()}, skipped)


def _plain_amount(text: str) -> Decimal | None:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _amount(
    value: object, row: int, header: Sequence[str], columns: Mapping[str, int], name: str
) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount = Decimal(str(value))
    elif type(value) is str and (amount := _plain_amount(value)) is not None:
        pass  # the common case, without the clean-up below
    else:
        text = _text(value).replace(",", "").replace("₹", "").replace(" ", "")
        text = text.removeprefix("Rs.").removeprefix("INR")
        negative = text.startswith("(") and text.endswith(")")
        text = text.strip("()") or "0"
        if text.lower().endswith(("dr", "cr")):
            negative = negative or text.lower().endswith("cr")
            text = text[:-2]
        try:
            amount = Decimal(text) if len(text) <= 30 and text != "-" else Decimal(0)
        except InvalidOperation:
            raise RegisterError(
                f"row {row}: {_text(value)[:30]!r} in column {header[columns[name]]!r} is not "
                "an amount"
            ) from None
        amount = -amount if negative else amount
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise RegisterError(f"row {row}: the amount in column {header[columns[name]]!r} is out "
                            "of range")
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


_NUMERIC_DAY = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})")
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


@functools.lru_cache(maxsize=4096)
def _day_from_text(text: str) -> date | None:
    """A date as registers write it (a register repeats a few hundred dates: cached)."""
    try:
        if match := _NUMERIC_DAY.fullmatch(text):
            return date(int(match[3]), int(match[2]), int(match[1]))
        if match := _ISO_DAY.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    for fmt in _MONTHS:
        try:
            return datetime.strptime(text[:20], fmt).date()
        except ValueError:
            continue
    return None


def _date(
    value: object, row: int, header: Sequence[str], columns: Mapping[str, int]
) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 120_000:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = _text(value)
    day = _day_from_text(text[:40])
    if day is None:
        raise RegisterError(f"row {row}: {text[:30]!r} in column "
                            f"{header[columns['invoice_date']]!r} is not a date (use DD-MM-YYYY)")
    return day
