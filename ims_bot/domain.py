"""Shared vocabulary of the core: sections, statuses, actions, periods and money.

Pure values only (no I/O). The rules module, the store, the recompute, the deadlines
calendar and every adapter speak in these types, so that a rule is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Section(StrEnum):
    """IMS sections, named by the portal's JSON keys."""

    B2B = "b2b"
    B2BA = "b2ba"
    B2BDN = "b2bdn"
    B2BDNA = "b2bdna"
    B2BCN = "b2bcn"
    B2BCNA = "b2bcna"
    ECOM = "ecom"
    ECOMA = "ecoma"
    IMPG = "impg"
    IMPGA = "impga"
    IMPGSEZ = "impgsez"
    IMPGSEZA = "impgseza"

    @property
    def is_amendment(self) -> bool:
        return self in _AMENDMENTS

    @property
    def is_credit_note(self) -> bool:
        return self in (Section.B2BCN, Section.B2BCNA)

    @property
    def is_note(self) -> bool:
        """Debit and credit notes carry `nt_num`/`nt_dt` instead of `inum`/`idt`."""
        return self in (Section.B2BDN, Section.B2BDNA, Section.B2BCN, Section.B2BCNA)

    @property
    def is_import(self) -> bool:
        return self in (Section.IMPG, Section.IMPGA, Section.IMPGSEZ, Section.IMPGSEZA)

    @property
    def original(self) -> Section:
        """The section of the original document an amendment amends (itself if none)."""
        return _ORIGINAL_OF.get(self, self)

    @property
    def label(self) -> str:
        return _LABELS[self]


_AMENDMENTS = frozenset(
    {Section.B2BA, Section.B2BDNA, Section.B2BCNA, Section.ECOMA, Section.IMPGA, Section.IMPGSEZA}
)
_ORIGINAL_OF = {
    Section.B2BA: Section.B2B,
    Section.B2BDNA: Section.B2BDN,
    Section.B2BCNA: Section.B2BCN,
    Section.ECOMA: Section.ECOM,
    Section.IMPGA: Section.IMPG,
    Section.IMPGSEZA: Section.IMPGSEZ,
}
_LABELS = {
    Section.B2B: "Invoice",
    Section.B2BA: "Amended invoice",
    Section.B2BDN: "Debit note",
    Section.B2BDNA: "Amended debit note",
    Section.B2BCN: "Credit note",
    Section.B2BCNA: "Amended credit note",
    Section.ECOM: "E-commerce document",
    Section.ECOMA: "Amended e-commerce document",
    Section.IMPG: "Bill of Entry (import)",
    Section.IMPGA: "Amended Bill of Entry",
    Section.IMPGSEZ: "Bill of Entry (SEZ)",
    Section.IMPGSEZA: "Amended Bill of Entry (SEZ)",
}

#: The sections a portal get-records response / offline download carries.
PORTAL_SECTIONS: tuple[Section, ...] = (
    Section.B2B,
    Section.B2BA,
    Section.B2BDN,
    Section.B2BDNA,
    Section.B2BCN,
    Section.B2BCNA,
    Section.ECOM,
    Section.ECOMA,
)


class Status(StrEnum):
    """A record's IMS status. The portal's codes are N, A, R, P."""

    NO_ACTION = "no_action"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PENDING = "pending"

    @property
    def code(self) -> str:
        return _STATUS_CODE[self]

    @classmethod
    def from_code(cls, code: str) -> Status:
        try:
            return _CODE_STATUS[code.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown IMS status code {code!r} (expected A, R, P or N)") from None


_STATUS_CODE = {
    Status.NO_ACTION: "N",
    Status.ACCEPTED: "A",
    Status.REJECTED: "R",
    Status.PENDING: "P",
}
_CODE_STATUS = {v: k for k, v in _STATUS_CODE.items()}


class Action(StrEnum):
    """What a recipient may do to a record. Reset (back to no action) is the portal's RESET."""

    ACCEPT = "accept"
    REJECT = "reject"
    PENDING = "pending"

    @property
    def status(self) -> Status:
        return {
            Action.ACCEPT: Status.ACCEPTED,
            Action.REJECT: Status.REJECTED,
            Action.PENDING: Status.PENDING,
        }[self]


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"  # QRMP


class Direction(StrEnum):
    """Whether an amendment raised or lowered the document's tax."""

    UPWARD = "upward"
    DOWNWARD = "downward"


class ReductionKind(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NIL = "nil"


TAX_HEADS: tuple[str, ...] = ("igst", "cgst", "sgst", "cess")

_PERIOD_RE = re.compile(r"^(0[1-9]|1[0-2])(\d{4})$")


@dataclass(frozen=True, order=True)
class Period:
    """A tax (GSTR-2B) period, one calendar month. Written `MMYYYY` like the portal."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1-12, got {self.month}")
        if not 2000 <= self.year <= 2999:
            raise ValueError(f"year out of range: {self.year}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse `MMYYYY` (the portal's form). Raises ValueError with a readable message."""
        m = _PERIOD_RE.match(text.strip())
        if not m:
            raise ValueError(f"period must be MMYYYY, e.g. 102025 for Oct 2025; got {text!r}")
        return cls(int(m.group(2)), int(m.group(1)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def from_key(cls, key: int) -> Period:
        return cls(key // 100, key % 100)

    @property
    def key(self) -> int:
        """Sortable integer YYYYMM, as stored in the database."""
        return self.year * 100 + self.month

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def shift(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    @property
    def next(self) -> Period:
        return self.shift(1)

    @property
    def quarter_end(self) -> Period:
        """The last month of this period's calendar quarter (Jun, Sep, Dec, Mar)."""
        return Period(self.year, ((self.month - 1) // 3) * 3 + 3)

    def __str__(self) -> str:
        return f"{self.month:02d}{self.year}"

    @property
    def label(self) -> str:
        return self.first_day.strftime("%b %Y")


#: Oct 2025: GSTR-2B period from which the Oct 2025 IMS changes apply
#: (pending credit notes, declared ITC reduction, remarks, import of goods).
OCT_2025 = Period(2025, 10)
#: Oct 2024: the first GSTR-2B period covered by IMS.
IMS_FIRST_PERIOD = Period(2024, 10)


#: The largest amount anything holds: what the store's Numeric(15, 2) columns can. Every
#: amount from outside (a file, a typed reduction, a button, a flag) is bounded by it.
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
AMOUNT_RULE = "rupees from 0 to 999,999,999,999.99, with at most 2 decimals"


def parse_amount(text: str) -> Decimal:
    """Rupees as a person types them: `450`, `450.5`, `0.75`; empty is 0. ValueError for
    anything else, or for what no amount column could hold (`1e27`, `0.001`, `-1`)."""
    try:
        amount = Decimal(text.strip() or "0")
    except ArithmeticError:
        raise ValueError(f"amounts must be {AMOUNT_RULE}; got {text[:24]!r}") from None
    return bounded_amount(amount, text)


def bounded_amount(amount: Decimal, shown: object = None) -> Decimal:
    """`amount` if it is rupees within MAX_AMOUNT with at most 2 decimals, else ValueError
    (naming `shown`, or the amount)."""
    try:
        fits = amount.is_finite() and 0 <= amount <= MAX_AMOUNT and amount == amount.quantize(CENT)
    except ArithmeticError:  # an exponent beyond what a quantize can take
        fits = False
    if not fits:
        what = str(amount if shown is None else shown)
        raise ValueError(f"amounts must be {AMOUNT_RULE}; got {what[:24]!r}")
    exponent = int(amount.as_tuple().exponent)
    if exponent > 0 or exponent < -2:  # 1E+3 is written 1000, 0E-9 is 0.00
        amount = amount.quantize(Decimal(1) if exponent > 0 else CENT)
    return amount.copy_abs()  # -0 is 0


@dataclass(frozen=True)
class Tax:
    """Tax per head, in rupees (two decimals)."""

    igst: Decimal = Decimal(0)
    cgst: Decimal = Decimal(0)
    sgst: Decimal = Decimal(0)
    cess: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.igst + self.cgst + self.sgst + self.cess

    def __add__(self, other: Tax) -> Tax:
        return Tax(
            self.igst + other.igst,
            self.cgst + other.cgst,
            self.sgst + other.sgst,
            self.cess + other.cess,
        )

    def __sub__(self, other: Tax) -> Tax:
        return Tax(
            self.igst - other.igst,
            self.cgst - other.cgst,
            self.sgst - other.sgst,
            self.cess - other.cess,
        )

    def as_dict(self) -> dict[str, Decimal]:
        return {"igst": self.igst, "cgst": self.cgst, "sgst": self.sgst, "cess": self.cess}


@dataclass(frozen=True)
class Reduction:
    """The ITC reduction a recipient declares when accepting a credit note (from Oct 2025)."""

    kind: ReductionKind
    amounts: Tax | None = None  # only for PARTIAL

    @classmethod
    def parse(cls, text: str) -> Reduction:
        """`full`, `nil`, or four amounts `IGST,CGST,SGST,CESS` for a partial reduction."""
        value = text.strip().lower()
        if value in ("full", "nil"):
            return cls(ReductionKind(value))
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 4:
            raise ValueError(
                "reduction must be full, nil, or four amounts IGST,CGST,SGST,CESS "
                f"(e.g. 0,450,450,0); got {text[:40]!r}"
            )
        try:
            amounts = [parse_amount(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"reduction amounts must be {AMOUNT_RULE} each, e.g. 0,450,450,0; "
                f"got {text[:40]!r}"
            ) from None
        return cls(ReductionKind.PARTIAL, Tax(*amounts))


_FY_RE = re.compile(r"^(?:fy\s*)?(\d{4})(?:\s*[-/]\s*(\d{2}|\d{4}))?$", re.IGNORECASE)


def parse_financial_year(text: str) -> int:
    """`2024-25`, `2024-2025`, `FY 2024-25` or `2024` → 2024, the year April falls in."""
    m = _FY_RE.match(text.strip())
    if m:
        start = int(m.group(1))
        end = m.group(2)
        if (end is None or int(end) % 100 == (start + 1) % 100) and 2000 <= start <= 2998:
            return start
    raise ValueError(f"financial year must look like 2024-25; got {text[:20]!r}")


def parse_day(text: str) -> date:
    """A calendar day written `YYYY-MM-DD` or the portal's `DD-MM-YYYY`."""
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date must be YYYY-MM-DD or DD-MM-YYYY; got {value[:20]!r}")
