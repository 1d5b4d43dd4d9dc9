"""The portal's IMS formats: streaming a get-records / offline-tool file into validated records,
and building the save request the offline tool or a provider's API uploads.

Pure functions over data (no database): the importer service owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from typing import IO, Any, NamedTuple

import ijson

from ims_bot.domain import IMS_FIRST_PERIOD, Period, Section, Status
from ims_bot.gstin import InvalidGstin, validate_gstin

#: Wrappers a file may put around the sections: the offline tool's `imsDetails`, and the
#: `data` envelope a provider's API returns.
WRAPPERS = ("imsDetails", "data")
SECTION_KEYS = frozenset(s.value for s in Section)
MAX_AMOUNT = Decimal("999999999999.99")  # what Numeric(15, 2) holds
MAX_NUMBER_LENGTH = 16
_DATE_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
_POS_RE = re.compile(r"^\d{2}$")
_YN = {"Y": True, "N": False}
_FILING = {"filed": True, "not filed": False}
_SOURCE_FORMS = frozenset({"R1", "R1A", "IFF"})
_INV_TYPES = frozenset({"R", "DE", "SEWP", "SEWOP", "CBW"})


class PortalFileError(ValueError):
    """The file is not an IMS file at all (bad JSON, wrong shape). One line, no traceback."""


@dataclass(frozen=True)
class FieldError:
    section: str
    position: int  # 1-based position within the section's list
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.section} #{self.position}, field {self.field!r}: {self.message}"


#: A validated record as the store's `records` row: every column but the workspace id,
#: timestamps and version, which the importer adds. A plain dict on purpose: files hold
#: hundreds of thousands of records and this is written straight to the database.
RecordRow = dict[str, Any]


def _fy(day: date | None) -> str:
    if day is None:
        return "-"
    return str(day.year if day.month >= 4 else day.year - 1)


#: What the supplier controls: a change in any of these means the supplier edited the record.
CONTENT_COLUMNS = (
    "supplier_gstin", "number", "doc_date", "original_number", "inv_type", "pos", "doc_value",
    "taxable_value", "igst", "cgst", "sgst", "cess", "supplier_period", "source_filed",
    "portal_hash",
)
_content = itemgetter(*CONTENT_COLUMNS)


def content_hash(row: RecordRow) -> str:
    return hashlib.blake2b(repr(_content(row)).encode(), digest_size=20).hexdigest()


def natural_key(section: Section, supplier: str, number: str | None, day: date | None) -> str:
    """What identifies a document across re-imports: section, supplier, number, FY."""
    return f"{section.value}|{supplier}|{number}|{_fy(day)}"


# --- reading files -------------------------------------------------------------------------


_STARTS = frozenset({"start_map", "start_array"})
_ENDS = frozenset({"end_map", "end_array"})


def _section_at(path: list[str | None]) -> str | None:
    """The section whose list sits at `path`: `b2b`, or `imsDetails` › `b2b`."""
    if len(path) == 1 and path[0] in SECTION_KEYS:
        return path[0]
    if len(path) == 2 and path[0] in WRAPPERS and path[1] in SECTION_KEYS:
        return path[1]
    return None


def _record_at(path: list[str | None]) -> str | None:
    """The section whose record sits at `path` (an item of a section's list)."""
    if path and path[-1] is None:
        return _section_at(path[:-1])
    return None


#: No IMS file nests deeper than a handful of levels; a deeper one is refused before it can
#: cost memory (a few KB of brackets would otherwise become a huge parse state).
MAX_DEPTH = 32


def _too_deep() -> PortalFileError:
    return PortalFileError(f"the file nests deeper than {MAX_DEPTH} levels: not an IMS file")


def iter_raw_records(stream: IO[bytes]) -> Iterator[tuple[str, int, Any]]:
    """Yield (section, position, raw record) from a portal file without loading it whole.

    Accepts `{"b2b": [...], ...}`, `{"imsDetails": {...}}` and `{"data": {...}}`. Raises
    PortalFileError for anything that is not such a file.
    """
    # ijson's basic events, with the path kept here: only its first levels matter, and
    # records are flat objects, so their fields are collected straight from the events
    # (an ObjectBuilder per record costs twice as much). Nested values, and records that
    # are not objects, go through ijson's ObjectBuilder.
    path: list[str | None] = []  # per open container: the current key of a map, None: array
    record: dict[str, Any] | None = None
    builder: ijson.ObjectBuilder | None = None
    depth = 0  # inside `builder`
    key = section = ""
    positions: dict[str, int] = {}
    found = False
    try:
        for event, value in ijson.basic_parse(stream, use_float=False):
            if builder is not None:
                builder.event(event, value)
                if event in _STARTS:
                    depth += 1
                    if len(path) + depth > MAX_DEPTH:
                        raise _too_deep()
                elif event in _ENDS:
                    depth -= 1
                    if depth == 0:
                        if record is not None:
                            record[key] = builder.value
                        else:
                            yield section, positions[section], builder.value
                        builder = None
                continue
            if record is not None:
                if event == "map_key":
                    key = value
                elif event == "end_map":
                    yield section, positions[section], record
                    record = None
                elif event in _STARTS:
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                    depth = 1
                else:
                    record[key] = value
                continue
            if event == "map_key":
                path[-1] = value
                continue
            if event in _ENDS:
                path.pop()
                continue
            # A value (container or scalar) at the position `path` names.
            where = _section_at(path)
            if where is not None and event != "start_array":
                raise PortalFileError(f'section "{where}" must be a list of records')
            named = _record_at(path)
            if named is not None:
                section = named
                positions[section] = positions.get(section, 0) + 1
                if event == "start_map":
                    record = {}
                elif event == "start_array":
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                    depth = 1
                else:  # a bare value where a record should be
                    yield section, positions[section], value
                continue
            if event in _STARTS:
                found = found or where is not None
                path.append("" if event == "start_map" else None)
                if len(path) > MAX_DEPTH:
                    raise _too_deep()
    except ijson.JSONError as exc:
        raise PortalFileError(f"the file is not valid JSON ({_short(exc)})") from None
    except UnicodeDecodeError:
        raise PortalFileError("the file is not UTF-8 JSON text") from None
    if not found:
        raise PortalFileError(
            "no IMS sections found: expected the portal's IMS JSON with lists such as "
            '"b2b" or "b2bcn" (optionally inside "imsDetails")'
        )


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


# --- validating one record -----------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message


@lru_cache(maxsize=65536)
def _gstin(value: str) -> str:
    return validate_gstin(value)


@lru_cache(maxsize=8192)
def _parse_date(text: str) -> date:
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError("must be a date dd-mm-yyyy")
    day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None


@lru_cache(maxsize=1024)
def _parse_period(text: str) -> Period:
    return Period.parse(text)


def _str(raw: dict[str, Any], key: str, *, required: bool = True, max_len: int = 200) -> str:
    value = raw.get(key)
    if type(value) is str and len(value) <= max_len:
        stripped = value.strip()
        if stripped:
            return stripped  # the common case first: files hold hundreds of thousands
    if value is None or value == "":
        if required:
            raise _Invalid(key, "is missing")
        return ""
    if not isinstance(value, str):
        raise _Invalid(key, f"must be text, got {type(value).__name__}")
    value = value.strip()
    if not value and required:
        raise _Invalid(key, "is missing")
    if len(value) > max_len:
        raise _Invalid(key, f"is longer than {max_len} characters")
    return value


_CENT = Decimal("0.01")
_ZERO = Decimal(0)


def _amount(raw: dict[str, Any], key: str, *, required: bool = False) -> Decimal:
    value = raw.get(key)
    kind = type(value)
    if kind is int:
        if 0 <= value <= 999_999_999_999:
            return Decimal(value)
        amount = Decimal(value)
    elif kind is Decimal:
        amount = value
    elif value is None or value == "":
        if required:
            raise _Invalid(key, "is missing")
        return _ZERO
    elif kind is float:
        amount = Decimal(repr(value))
    elif kind is str:
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise _Invalid(key, f"must be an amount, got {value[:20]!r}") from None
    else:
        label = "true/false" if kind is bool else kind.__name__
        raise _Invalid(key, f"must be an amount, got {label}")
    if not amount.is_finite():
        raise _Invalid(key, "must be a finite amount")
    if amount < 0:
        raise _Invalid(key, "must not be negative")
    if amount > MAX_AMOUNT:
        raise _Invalid(key, "is too large")
    return amount.quantize(_CENT)


def _flag(raw: dict[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    flag = _YN.get(value) if type(value) is str else None
    if flag is None and isinstance(value, str):
        flag = _YN.get(value.strip().upper())
    if flag is None:
        raise _Invalid(key, "must be Y or N")
    return flag


def _date(raw: dict[str, Any], key: str, *, required: bool) -> date | None:
    text = _str(raw, key, required=required, max_len=10)
    if not text:
        return None
    try:
        return _parse_date(text)
    except ValueError as exc:
        raise _Invalid(key, str(exc)) from None


def _number_keys(section: Section) -> tuple[str, str, str, str]:
    if section.is_import:
        return "boenum", "boedt", "oboenum", "oboedt"
    if section.is_note:
        return "nt_num", "nt_dt", "ont_num", "ont_dt"
    return "inum", "idt", "oinum", "oidt"


def parse_record(section_key: str, position: int, raw: Any) -> RecordRow:
    """Validate one raw record into a store row; RecordError names the failing field."""
    section = Section(section_key)
    if not isinstance(raw, dict):
        raise RecordError(FieldError(section_key, position, "-", "must be a JSON object"))
    try:
        return _parse(section, raw)
    except _Invalid as exc:
        raise RecordError(FieldError(section_key, position, exc.field, exc.message)) from None


class RecordError(ValueError):
    def __init__(self, error: FieldError) -> None:
        super().__init__(str(error))
        self.error = error


class _Header(NamedTuple):
    supplier: str
    supplier_name: str
    supplier_period: str
    period: Period
    source_form: str | None
    source_filed: bool
    inv_type: str | None
    pos: str | None
    status: Status
    pending_blocked: bool | None
    itc_reduction_blocked: bool | None
    remarks_blocked: bool | None
    boe_gstin_amended: bool


#: Fields that repeat from record to record (supplier, period, flags): validated once per
#: distinct combination, which is most of the validation cost of a large file.
_HEADER_KEYS = (
    "stin", "sgstin", "trdnm", "tradenm", "rtnprd", "itcprd", "srcform", "srcfilstatus",
    "inv_typ", "pos", "action", "ispendactblocked", "isItcRedReqBlocked", "isRemarksBlocked",
    "isgstinamd",
)


def _header(section: Section, raw: dict[str, Any]) -> _Header:
    values = tuple(map(raw.get, _HEADER_KEYS))
    try:
        return _cached_header(section, values)
    except TypeError:  # an unhashable value (a list or an object): validate without cache
        return _validate_header(section, values)


@lru_cache(maxsize=4096)
def _cached_header(section: Section, values: tuple[Any, ...]) -> _Header:
    return _validate_header(section, values)


def _validate_header(section: Section, values: tuple[Any, ...]) -> _Header:
    raw = dict(zip(_HEADER_KEYS, values, strict=True))
    if section.is_import:
        supplier_text = _str(raw, "stin", required=False) or _str(raw, "sgstin", required=False)
    else:
        supplier_text = _str(raw, "stin")
    supplier = ""
    if supplier_text:
        try:
            supplier = _gstin(supplier_text.upper())
        except InvalidGstin as exc:
            raise _Invalid("stin", str(exc)) from None
    supplier_period = _str(raw, "rtnprd", max_len=6)
    try:
        period = _parse_period(supplier_period)
    except ValueError as exc:
        raise _Invalid("rtnprd", str(exc)) from None
    # The data may name the GSTR-2B period explicitly (e.g. a record reported late).
    itc_period_text = _str(raw, "itcprd", required=False, max_len=6)
    if itc_period_text:
        try:
            period = _parse_period(itc_period_text)
        except ValueError as exc:
            raise _Invalid("itcprd", str(exc)) from None
    if period < IMS_FIRST_PERIOD:
        raise _Invalid(
            "rtnprd", f"{period.label} is before Oct 2024: such records never appear in IMS"
        )
    source_form = _str(raw, "srcform", required=False, max_len=4).upper() or None
    if source_form is not None and source_form not in _SOURCE_FORMS:
        raise _Invalid("srcform", "must be R1, R1A or IFF")
    filing_text = _str(raw, "srcfilstatus", required=False, max_len=12).lower()
    if filing_text and filing_text not in _FILING:
        raise _Invalid("srcfilstatus", "must be Filed or Not Filed")
    inv_type = _str(raw, "inv_typ", required=False, max_len=6).upper() or None
    if inv_type is not None and inv_type not in _INV_TYPES and not section.is_import:
        raise _Invalid("inv_typ", "must be R, DE, SEWP, SEWOP or CBW")
    pos = raw.get("pos")
    if isinstance(pos, int) and not isinstance(pos, bool):
        pos = f"{pos:02d}"
    if pos is not None and pos != "" and (not isinstance(pos, str) or not _POS_RE.match(pos)):
        raise _Invalid("pos", "must be a 2-digit state code")
    action_text = _str(raw, "action", required=False, max_len=2)
    try:
        status = Status.from_code(action_text) if action_text else Status.NO_ACTION
    except ValueError as exc:
        raise _Invalid("action", str(exc)) from None
    return _Header(
        supplier=supplier,
        supplier_name=_str(raw, "trdnm", required=False) or _str(raw, "tradenm", required=False),
        supplier_period=supplier_period,
        period=period,
        source_form=source_form,
        source_filed=_FILING.get(filing_text, True),
        inv_type=inv_type,
        pos=pos or None,
        status=status,
        pending_blocked=_flag(raw, "ispendactblocked"),
        itc_reduction_blocked=_flag(raw, "isItcRedReqBlocked"),
        remarks_blocked=_flag(raw, "isRemarksBlocked"),
        boe_gstin_amended=bool(_flag(raw, "isgstinamd")),
    )


def _parse(section: Section, raw: dict[str, Any]) -> RecordRow:
    head = _header(section, raw)
    num_key, date_key, onum_key, odate_key = _number_keys(section)
    number = _str(raw, num_key, max_len=40 if section.is_import else MAX_NUMBER_LENGTH)
    doc_date = _date(raw, date_key, required=True)
    original_number = original_date = None
    if section.is_amendment:
        original_number = _str(raw, onum_key, max_len=40)
        original_date = _date(raw, odate_key, required=True)
    status = head.status
    remarks = _str(raw, "remarks", required=False, max_len=250) or None
    itc_red = _flag(raw, "itcRedReq")
    decl = tuple(
        _amount(raw, key) if raw.get(key) not in (None, "") else None
        for key in ("declIgst", "declCgst", "declSgst", "declCess")
    )
    reduction = None
    if status is Status.ACCEPTED and itc_red is not None:
        if not itc_red:
            reduction = "nil"
        elif any(d is not None for d in decl):
            reduction = "partial"
        else:
            reduction = "full"
    hash_value = raw.get("hash")
    if hash_value is not None and not isinstance(hash_value, str):
        raise _Invalid("hash", "must be text")
    row: RecordRow = {
        "section": section.value,
        "supplier_gstin": head.supplier,
        "supplier_name": head.supplier_name,
        "number": number,
        "doc_date": doc_date,
        "original_number": original_number,
        "original_date": original_date,
        "supplier_period": head.supplier_period,
        "period_key": head.period.key,
        "itc_period_key": head.period.key,
        "source_form": head.source_form,
        "source_filed": head.source_filed,
        "inv_type": head.inv_type,
        "pos": head.pos,
        "doc_value": _amount(raw, "val"),
        "taxable_value": _amount(raw, "txval", required=True),
        "igst": _amount(raw, "iamt"),
        "cgst": _amount(raw, "camt"),
        "sgst": _amount(raw, "samt"),
        "cess": _amount(raw, "cess"),
        "direction": None,  # derived by the importer from the original, where stored
        "status": status.value,
        "portal_status": status.value,
        "remarks": remarks,
        "reduction": reduction,
        "decl_igst": decl[0],
        "decl_cgst": decl[1],
        "decl_sgst": decl[2],
        "decl_cess": decl[3],
        "pending_blocked": head.pending_blocked,
        "itc_reduction_blocked": head.itc_reduction_blocked,
        "remarks_blocked": head.remarks_blocked,
        "boe_gstin_amended": head.boe_gstin_amended,
        "portal_hash": (hash_value or None) and hash_value[:128],
    }
    row["content_hash"] = content_hash(row)
    row["natural_key"] = (
        natural_key(section, head.supplier, original_number, original_date)
        if section.is_amendment
        else natural_key(section, head.supplier, number, doc_date)
    )
    return row


# --- the save request ----------------------------------------------------------------------


def _fmt_date(day: date | None) -> str | None:
    return day.strftime("%d-%m-%Y") if day else None


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def save_request(rtin: str, records: Iterable[Any], *, reset: bool = False) -> dict[str, Any]:
    """The portal's SAVE (or RESET) request for records whose status differs from the portal's.

    `records` are store rows (ims_bot.models.Record or anything with the same attributes).
    """
    invdata: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        section = Section(r.section)
        num_key, date_key, onum_key, odate_key = _number_keys(section)
        item: dict[str, Any] = {}
        if r.supplier_gstin:
            item["stin"] = r.supplier_gstin
        item[num_key] = r.number
        item[date_key] = _fmt_date(r.doc_date)
        if section.is_amendment:
            item[onum_key] = r.original_number
            item[odate_key] = _fmt_date(r.original_date)
        if r.inv_type:
            item["inv_typ"] = r.inv_type
        if r.pos:
            item["pos"] = r.pos
        item.update(
            {
                "rtnprd": r.supplier_period,
                "srcform": r.source_form or "R1",
                "val": _money(r.doc_value),
                "txval": _money(r.taxable_value),
                "iamt": _money(r.igst),
                "camt": _money(r.cgst),
                "samt": _money(r.sgst),
                "cess": _money(r.cess),
            }
        )
        if r.portal_hash:
            item["hash"] = r.portal_hash
        if reset:
            item["action"] = "N"
        else:
            item["action"] = Status(r.status).code
        item["prev_status"] = Status(r.portal_status).code
        if not reset and r.remarks:
            item["remarks"] = r.remarks
        if not reset and r.status == Status.ACCEPTED and r.reduction:
            item["itcRedReq"] = "N" if r.reduction == "nil" else "Y"
            if r.reduction == "partial":
                item["declIgst"] = _money(r.decl_igst)
                item["declCgst"] = _money(r.decl_cgst)
                item["declSgst"] = _money(r.decl_sgst)
                item["declCess"] = _money(r.decl_cess)
        invdata.setdefault(section.value, []).append(item)
    return {"rtin": rtin, "reqtyp": "RESET" if reset else "SAVE", "invdata": invdata}
