"""The portal's IMS formats: streaming a get-records / offline-tool file into validated records,
and building the save request the offline tool or a provider's API uploads.

Pure functions over data (no database): the importer service owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter
from typing import IO, Any, NamedTuple

import ijson

from ims_bot.domain import (
    IMS_FIRST_PERIOD,
    MAX_AMOUNT,
    PORTAL_SECTIONS,
    Period,
    Section,
    Status,
)
from ims_bot.gstin import (
    InvalidGstin,
    check_character_ok,
    make_gstin,
    validate_gstin_structure,
)

#: Keys that wrap the sections (ims-facts.md §5): the offline tool's `imsDetails`, and the
#: `data` of a provider's response — Vayana `{"status", "data": {sections}, "error"}`,
#: Sandbox `{"code", "data": {"data": {sections}, "status_cd"}, "transaction_id"}`.
WRAPPERS = frozenset({"imsDetails", "data"})
#: How many wrappers may sit around the sections (Sandbox's response has two).
MAX_WRAPPING = 3
SECTION_KEYS = frozenset(s.value for s in Section)
#: ISD sections, named by a provider's count schema: IMS Bot does not handle ISD documents,
#: but a file holding only them is still an IMS file (the summary names what was left out).
ISD_SECTIONS = frozenset({"isd", "isda", "isdcn", "isdcna"})
#: Where a body or an envelope names the recipient's GSTIN.
_RECIPIENT_KEYS = frozenset({"rtin", "gstin"})
#: Envelope fields that tell a provider's error response from data.
_ENVELOPE_KEYS = frozenset({"status_cd", "status", "code", "message", "error"})
MAX_NUMBER_LENGTH = 16
_DATE_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
#: A place of supply: a state or UT code, 96 (foreign country) or 97 (other territory), as
#: the providers' save schema allows (`pos` in invoices/save.json).
_POS_RE = re.compile(r"^(3[0-8]|[12][0-9]|0[1-9]|96|97)$")
_YN = {"Y": True, "N": False}
_FILING = {"filed": True, "not filed": False}
_SOURCE_FORMS = frozenset({"R1", "R1A", "IFF"})
_INV_TYPES = frozenset({"R", "DE", "SEWP", "SEWOP", "CBW"})
#: Sections whose records carry `inv_typ` (the save request needs it back): not `ecom`,
#: `ecoma` (ims-facts.md §5) nor the bills of entry.
_INV_TYPE_SECTIONS = frozenset(
    {Section.B2B, Section.B2BA, Section.B2BDN, Section.B2BDNA, Section.B2BCN, Section.B2BCNA}
)


class PortalFileError(ValueError):
    """The file is not an IMS file at all (bad JSON, wrong shape). One line, no traceback."""


class ProviderError(PortalFileError):
    """The file is a provider's error response (GSTN `status_cd` 0 and its error), not data."""


class RecipientMismatch(PortalFileError):
    """The file names a recipient GSTIN other than the workspace's."""

    def __init__(self, file_gstin: str, workspace_gstin: str) -> None:
        super().__init__(
            f"this file is for GSTIN {file_gstin}, not for {workspace_gstin} (the GSTIN it "
            "is being imported into)"
        )
        self.file_gstin = file_gstin
        self.workspace_gstin = workspace_gstin


@dataclass(frozen=True)
class FieldError:
    section: str
    position: int  # 1-based position within the section's list
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.section} #{self.position}, field {self.field!r}: {self.message}"


@dataclass
class FileInfo:
    """What reading a file learns besides its records; filled in as the file is read.

    `recipient`, when given, is the workspace's GSTIN: an IMS file whose body or envelope
    names another (`rtin` or `gstin`) is refused as soon as both are known
    (RecipientMismatch).
    """

    recipient: str | None = None
    #: The recipient GSTINs the file names.
    recipients: set[str] = field(default_factory=set)
    #: Lists IMS Bot does not read (the ISD sections, anything unknown) → their item counts.
    not_handled: Counter[str] = field(default_factory=Counter)
    #: Envelope fields (status_cd, status, code, message, error) as read.
    envelope: list[tuple[str, Any]] = field(default_factory=list)
    #: Another recipient named, raised once the file shows it is an IMS file.
    mismatch: RecipientMismatch | None = None


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
# What an open container outside a record is: a body or envelope (a map that may hold
# sections), a section's list of records, or a list at the root (a merge of several files).
_BODY, _SECTION, _ROOT_LIST = 0, 1, 2

#: No IMS file nests deeper than a handful of levels; a deeper one is refused before it can
#: cost memory (a few KB of brackets would otherwise become a huge parse state).
MAX_DEPTH = 32


def _too_deep() -> PortalFileError:
    return PortalFileError(f"the file nests deeper than {MAX_DEPTH} levels: not an IMS file")


def iter_raw_records(
    stream: IO[bytes], info: FileInfo | None = None
) -> Iterator[tuple[str, int, Any]]:
    """Yield (section, position, raw record) from a portal file without loading it whole.

    Accepts the raw GSTN body `{"b2b": [...], ...}`, the offline tool's `{"imsDetails":
    {...}}`, a provider's envelope (`{"data": {...}}`, up to three wrappers deep: Vayana,
    Sandbox), and a list of any of these (files merged). Lists IMS Bot does not read (the
    ISD sections, anything unknown) are counted in `info.not_handled`, never read as
    records. Raises PortalFileError for anything that is not such a file, ProviderError for
    a provider's error response, RecipientMismatch for another taxpayer's file.
    """
    info = info if info is not None else FileInfo()
    # ijson's basic events, with the path kept here: only its first levels matter, and
    # records are flat objects, so their fields are collected straight from the events
    # (an ObjectBuilder per record costs twice as much). Nested values, records that are
    # not objects, and an envelope's error object go through ijson's ObjectBuilder.
    path: list[str | None] = []  # per open container: the current key of a map, None: array
    kinds: list[int] = []  # per open container: _BODY, _SECTION or _ROOT_LIST
    record: dict[str, Any] | None = None
    builder: ijson.ObjectBuilder | None = None
    capture: str | None = None  # the envelope key `builder` collects the value of
    depth = 0  # inside `builder`
    skipping = 0  # depth inside a list or map that is not read (0: not skipping)
    skip_key: str | None = None  # the list being skipped, counted in `not_handled`
    skip_count = 0
    key = section = ""
    positions: Counter[str] = Counter()
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
                        elif capture is not None:
                            info.envelope.append((capture, builder.value))
                            capture = None
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
            if skipping:
                if event in _STARTS:
                    if skipping == 1:
                        skip_count += 1
                    skipping += 1
                    if len(path) + skipping > MAX_DEPTH:
                        raise _too_deep()
                elif event in _ENDS:
                    skipping -= 1
                    if skipping == 0 and skip_key is not None and skip_count:
                        info.not_handled[skip_key] += skip_count
                elif skipping == 1 and event != "map_key":
                    skip_count += 1
                continue
            if event == "map_key":
                path[-1] = value
                continue
            if event in _ENDS:
                path.pop()
                kinds.pop()
                continue
            # A value (container or scalar) at the position `path` names.
            kind = kinds[-1] if kinds else None
            if kind == _SECTION:  # an item of a section's list: a record
                positions[section] += 1
                if event == "start_map":
                    record = {}
                elif event == "start_array":
                    builder = ijson.ObjectBuilder()
                    builder.event(event, value)
                    depth = 1
                else:  # a bare value where a record should be
                    yield section, positions[section], value
                continue
            name = path[-1] if kind == _BODY else None
            if name in SECTION_KEYS:
                if event == "start_array":
                    if info.mismatch is not None:
                        raise info.mismatch
                    section, found = name, True
                    path.append(None)
                    kinds.append(_SECTION)
                elif event == "null":  # an empty section
                    found = True
                else:
                    raise PortalFileError(f'section "{name}" must be a list of records')
                continue
            if event == "start_map" and (
                kind is None  # the root
                or kind == _ROOT_LIST
                or (name in WRAPPERS and kinds.count(_BODY) <= MAX_WRAPPING)
            ):
                path.append("")
                kinds.append(_BODY)
            elif event == "start_array" and kind is None:
                path.append(None)
                kinds.append(_ROOT_LIST)
            elif name == "error" and event in _STARTS:
                builder, capture, depth = ijson.ObjectBuilder(), name, 1
                builder.event(event, value)
            elif event in _STARTS:  # not read; a body's list is counted and named
                skipping, skip_count = 1, 0
                skip_key = name if event == "start_array" and kind == _BODY else None
                found = found or name in ISD_SECTIONS
            elif name in _RECIPIENT_KEYS:
                _recipient(info, value)
                if found and info.mismatch is not None:
                    raise info.mismatch
            elif name in _ENVELOPE_KEYS:
                info.envelope.append((name, value))
            if len(path) > MAX_DEPTH:
                raise _too_deep()
    except ijson.JSONError as exc:
        raise PortalFileError(f"the file is not valid JSON ({_short(exc)})") from None
    except UnicodeDecodeError:
        raise PortalFileError("the file is not UTF-8 JSON text") from None
    problem = provider_error(info.envelope)
    if problem:
        raise ProviderError(problem)
    if found and info.mismatch is not None:
        raise info.mismatch
    if not found:
        others = ", ".join(f'"{k}"' for k in sorted(info.not_handled))
        raise PortalFileError(
            "no IMS sections found: expected the portal's IMS JSON with lists such as "
            '"b2b" or "b2bcn" (optionally inside "imsDetails" or a provider\'s "data")'
            + (f"; this file has only {others}" if others else "")
        )


def _recipient(info: FileInfo, value: Any) -> None:
    """Note a recipient GSTIN the file names (one that is not a GSTIN at all is ignored)."""
    if not isinstance(value, str):
        return
    try:
        gstin = validate_gstin_structure(value)
    except InvalidGstin:
        return
    info.recipients.add(gstin)
    if info.recipient is not None and gstin != info.recipient and info.mismatch is None:
        info.mismatch = RecipientMismatch(gstin, info.recipient)


_ERROR_CODE_KEYS = ("error_cd", "errorCode", "error_code", "code", "errCode")
_ERROR_TEXT_KEYS = (
    "message", "msg", "error_msg", "errorMessage", "error_message", "desc", "detail", "details",
)


def provider_error(envelope: list[tuple[str, Any]]) -> str | None:
    """The one-line error of a provider's error response, or None for a data response.

    An error response: GSTN's `status_cd` "0" (also inside Sandbox's `data`), Vayana's
    `status` "0", a non-empty `error`, or an HTTP-like `code` of 400 or more.
    """
    failed = False
    error: Any = None
    message = ""
    for name, value in envelope:
        if name in ("status_cd", "status"):
            failed = failed or (not isinstance(value, bool) and str(value).strip() == "0")
        elif name == "code":
            number = value if isinstance(value, int | Decimal) else None
            failed = failed or (number is not None and not isinstance(value, bool)
                                and number >= 400)
        elif name == "error" and _has_content(value):
            failed, error = True, value
        elif name == "message" and isinstance(value, str) and not message:
            message = value
    if not failed:
        return None
    code, text = _error_parts(error)
    text = text or message or "no message given"
    detail = f"{code}: {text}" if code else text
    detail = " ".join(detail.split())[:300]
    return f"the provider answered with an error, not IMS records: {detail}"


def _has_content(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return value not in (None, "", False)


def _error_parts(error: Any) -> tuple[str, str]:
    """(code, message) of an error object as providers write it."""
    if isinstance(error, list):
        error = next((e for e in error if _has_content(e)), None)
    if isinstance(error, dict):
        code = next((str(error[k]) for k in _ERROR_CODE_KEYS if error.get(k)), "")
        text = next((str(error[k]) for k in _ERROR_TEXT_KEYS if error.get(k)), "")
        return code, text
    if error is None:
        return "", ""
    return "", str(error)


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
    # Structure only: a wrong check character in the portal's own data is a warning, which
    # the importer gives per supplier (`supplier_check_ok`), not a refusal of the file.
    return validate_gstin_structure(value)


@lru_cache(maxsize=65536)
def supplier_check_ok(gstin: str) -> bool:
    """Whether a supplier GSTIN from a file has the right check character ("" passes)."""
    return not gstin or check_character_ok(gstin)


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
    """Validate one raw record into a store row; RecordError names every failing field."""
    section = Section(section_key)
    if not isinstance(raw, dict):
        raise RecordError([FieldError(section_key, position, "-", "must be a JSON object")])
    try:
        return _parse(section, raw)
    except _Invalid:
        problems = _every_problem(section, raw)
    raise RecordError([FieldError(section_key, position, p.field, p.message) for p in problems])


class RecordError(ValueError):
    """A record is invalid: `errors` has one entry per bad field (at least one)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors
        self.error = errors[0]


_PLACEHOLDER_GSTIN = make_gstin("27", "AAAAA0000A")
_PLACEHOLDER_DATE = "01-10-2025"
#: Valid stand-ins for a field found bad, so that validating again reaches the next bad
#: field; a field not listed here is removed instead.
_PLACEHOLDERS: dict[str, Any] = {
    "stin": _PLACEHOLDER_GSTIN, "sgstin": _PLACEHOLDER_GSTIN, "rtnprd": "102025",
    "srcform": "R1", "srcfilstatus": "Filed", "inv_typ": "R", "pos": "27", "action": "N",
    "inum": "X", "nt_num": "X", "boenum": "X", "oinum": "X", "ont_num": "X", "oboenum": "X",
    "idt": _PLACEHOLDER_DATE, "nt_dt": _PLACEHOLDER_DATE, "boedt": _PLACEHOLDER_DATE,
    "oidt": _PLACEHOLDER_DATE, "ont_dt": _PLACEHOLDER_DATE, "oboedt": _PLACEHOLDER_DATE,
    "txval": 0,
}


def _every_problem(section: Section, raw: dict[str, Any]) -> list[_Invalid]:
    """Every bad field of an invalid record, in the order validation meets them.

    Only for records already found invalid (valid ones never come here, so the fast path
    stays one pass): each bad field is replaced by a valid stand-in and the record
    validated again, until it passes.
    """
    record = dict(raw)
    problems: list[_Invalid] = []
    seen: set[str] = set()
    while True:
        try:
            _parse(section, record)
        except _Invalid as exc:
            if exc.field in seen:  # a stand-in did not help: stop rather than loop
                return problems
            seen.add(exc.field)
            problems.append(exc)
            if exc.field in _PLACEHOLDERS:
                record[exc.field] = _PLACEHOLDERS[exc.field]
            else:
                record.pop(exc.field, None)
            continue
        return problems


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
            "itcprd" if itc_period_text else "rtnprd",
            f"{period.label} is before Oct 2024: such records never appear in IMS",
        )
    # srcform, pos and inv_typ go back in the save request, whose schema requires them
    # (the get-records schema does too): a record without them could not be saved.
    source_form = _str(raw, "srcform", required=not section.is_import, max_len=4).upper()
    source_form = source_form or None
    if source_form is not None and source_form not in _SOURCE_FORMS:
        raise _Invalid("srcform", "must be R1, R1A or IFF")
    filing_text = _str(raw, "srcfilstatus", required=False, max_len=12).lower()
    if filing_text and filing_text not in _FILING:
        raise _Invalid("srcfilstatus", "must be Filed or Not Filed")
    needs_type = section in _INV_TYPE_SECTIONS
    inv_type = _str(raw, "inv_typ", required=needs_type, max_len=6).upper() or None
    if inv_type is not None and inv_type not in _INV_TYPES and not section.is_import:
        raise _Invalid("inv_typ", "must be R, DE, SEWP, SEWOP or CBW")
    pos = raw.get("pos")
    if isinstance(pos, int) and not isinstance(pos, bool):
        pos = f"{pos:02d}"
    if pos is None or pos == "":
        if not section.is_import:
            raise _Invalid("pos", "is missing")
    elif not isinstance(pos, str) or not _POS_RE.match(pos):
        raise _Invalid("pos", "must be a 2-digit state code (01-38, 96 or 97)")
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
        "portal_decision": None
        if remarks is None and reduction is None
        else decision_fingerprint(
            section.value, status.value, reduction, decl, remarks,
            remarks_blocked=head.remarks_blocked,
            itc_reduction_blocked=head.itc_reduction_blocked,
        ),
    }
    row["content_hash"] = content_hash(row)
    row["natural_key"] = (
        natural_key(section, head.supplier, original_number, original_date)
        if section.is_amendment
        else natural_key(section, head.supplier, number, doc_date)
    )
    return row


# --- the save request ----------------------------------------------------------------------

#: The sections a save or reset request may carry: the providers' published schemas
#: (in-co-sandbox-docs data/gst/schema/request/taxpayer/invoices/save.json, reset.json) have
#: these eight and no others. Bills of entry (impg…) have no published schema.
SAVE_SECTIONS = frozenset(PORTAL_SECTIONS)
#: Sections whose accept may declare the ITC reduction (`itcRedReq`, `declIgst`…), from the
#: Oct 2025 GSTR-2B period: credit notes, CN amendments, invoice and debit-note amendments
#: (ims-facts.md §2 and §5; india-compliance's IMS upload sends it for the same four).
REDUCTION_SECTIONS = frozenset({Section.B2BA, Section.B2BDNA, Section.B2BCN, Section.B2BCNA})
DECLARED_KEYS = ("declIgst", "declCgst", "declSgst", "declCess")
#: Save sections without `inv_typ` (ims-facts.md §5; the schema's ecom, ecoma items).
_NO_INV_TYPE = frozenset({Section.ECOM, Section.ECOMA})


def declaration(
    section: str,
    status: str,
    reduction: str | None,
    declared: Iterable[Decimal | None],
    remarks: str | None,
    *,
    remarks_blocked: bool | None = None,
    itc_reduction_blocked: bool | None = None,
) -> dict[str, Any]:
    """The declaration part of a save item, as it is sent: `remarks`, and on an accept of a
    record that takes one, `itcRedReq` ("N": nil; "Y": full, or partial with the four
    declared amounts). Nothing the portal's flags block (`isRemarksBlocked`,
    `isItcRedReqBlocked` = Y), and nothing with no action (N)."""
    out: dict[str, Any] = {}
    if status == Status.NO_ACTION.value:
        return out
    if remarks and remarks_blocked is not True:
        out["remarks"] = remarks
    if (
        status == Status.ACCEPTED.value
        and reduction
        and section in REDUCTION_SECTIONS
        and itc_reduction_blocked is not True
    ):
        out["itcRedReq"] = "N" if reduction == "nil" else "Y"
        if reduction == "partial":
            for key, amount in zip(DECLARED_KEYS, declared, strict=True):
                out[key] = amount if amount is not None else _ZERO
    return out


def decision_fingerprint(
    section: str,
    status: str,
    reduction: str | None,
    declared: Iterable[Decimal | None],
    remarks: str | None,
    *,
    remarks_blocked: bool | None = None,
    itc_reduction_blocked: bool | None = None,
) -> str | None:
    """The declaration (ITC reduction, declared amounts, remarks) as a save item would send
    it, in one comparable string; None when there is none.

    The importer stores the file's in `records.portal_decision`; a record whose own differs
    is saved again even with an unchanged status (A → A, ims-facts.md §5).
    """
    sent = declaration(
        section, status, reduction, declared, remarks,
        remarks_blocked=remarks_blocked, itc_reduction_blocked=itc_reduction_blocked,
    )
    if not sent:
        return None
    parts = [
        f"{key}={sent[key]:.2f}" if isinstance(sent[key], Decimal) else f"{key}={sent[key]}"
        for key in ("itcRedReq", *DECLARED_KEYS, "remarks")
        if key in sent
    ]
    return "|".join(parts)[:400]  # remarks hold at most 250 characters: this fits


def record_fingerprint(r: Any) -> str | None:
    """`decision_fingerprint` of a stored record (ims_bot.models.Record or alike)."""
    if r.remarks is None and r.reduction is None:
        return None
    return decision_fingerprint(
        r.section, r.status, r.reduction, (r.decl_igst, r.decl_cgst, r.decl_sgst, r.decl_cess),
        r.remarks, remarks_blocked=r.remarks_blocked,
        itc_reduction_blocked=r.itc_reduction_blocked,
    )


def _fmt_date(day: date | None) -> str | None:
    return day.strftime("%d-%m-%Y") if day else None


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def save_item(r: Any, rtin: str, *, reset: bool = False) -> dict[str, Any]:
    """One record as a SAVE item (or a RESET item), with exactly the keys the providers'
    schemas allow (ims-facts.md §5): no `hash`; a reset item has no action and no
    declaration. `r` is a stored record (ims_bot.models.Record or anything alike)."""
    section = Section(r.section)
    num_key, date_key, onum_key, odate_key = _number_keys(section)
    item: dict[str, Any] = {
        "stin": r.supplier_gstin,
        "rtnprd": r.supplier_period,
        # Records imported before srcform, inv_typ and pos were required may lack them:
        # the form most records come from, a regular invoice, and the recipient's state.
        "srcform": r.source_form or "R1",
        num_key: r.number,
    }
    if section.is_amendment:
        item[onum_key] = r.original_number
    item[date_key] = _fmt_date(r.doc_date)
    if section.is_amendment:
        item[odate_key] = _fmt_date(r.original_date)
    if section not in _NO_INV_TYPE:
        item["inv_typ"] = r.inv_type or "R"
    item["pos"] = r.pos or rtin[:2]
    item["val"] = _money(r.doc_value)
    item["txval"] = _money(r.taxable_value)
    item["iamt"] = _money(r.igst)
    item["camt"] = _money(r.cgst)
    item["samt"] = _money(r.sgst)
    item["cess"] = _money(r.cess)
    if not reset:
        item["action"] = Status(r.status).code
    item["prev_status"] = Status(r.portal_status).code
    if not reset:
        sent = declaration(
            r.section, r.status, r.reduction,
            (r.decl_igst, r.decl_cgst, r.decl_sgst, r.decl_cess), r.remarks,
            remarks_blocked=r.remarks_blocked, itc_reduction_blocked=r.itc_reduction_blocked,
        )
        item.update({k: _money(v) if isinstance(v, Decimal) else v for k, v in sent.items()})
    return item


def save_request(rtin: str, records: Iterable[Any], *, reset: bool = False) -> dict[str, Any]:
    """The portal's SAVE (or RESET) request for the given records, grouped by section.

    Records of a section no save schema has (bills of entry) are left out: the caller
    (ims_bot.export) tells the user so.
    """
    invdata: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.section in SAVE_SECTIONS:
            invdata.setdefault(r.section, []).append(save_item(r, rtin, reset=reset))
    return {"rtin": rtin, "reqtyp": "RESET" if reset else "SAVE", "invdata": invdata}
