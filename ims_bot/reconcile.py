"""Reconciliation of IMS records with the purchase register: normalisation and grouping.

Pure (no I/O, no database), beside the rules module: it suggests an action per record, and
the rules module still decides whether that action is allowed when it is applied.

Groups, in the order they are tried:
- matched: same supplier GSTIN, same document number after normalisation (case, spaces,
  punctuation, leading zeros, a financial-year part such as `/25-26`), every tax head
  within the tolerance → accept;
- amount_mismatch: the same document, some head beyond the tolerance → pending;
- near_match: same supplier (or the same PAN under another GSTIN), a similar number,
  amounts within the tolerance and dates a few days apart at most → accept after a look;
- not_in_books: on the portal, not in the books → pending (ask the supplier), never reject;
- not_in_ims: in the books, not on the portal → follow up with the supplier.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from rapidfuzz import fuzz

from ims_bot.domain import Tax

DEFAULT_TOLERANCE = Decimal(1)
DEFAULT_DAYS = 3
#: Smallest rapidfuzz ratio (0-100) of two normalised numbers called "similar".
SIMILAR = 80.0
#: Near matches are looked for among at most this many candidates of one supplier.
MAX_CANDIDATES = 200


class Group(StrEnum):
    MATCHED = "matched"
    NEAR_MATCH = "near_match"
    AMOUNT_MISMATCH = "amount_mismatch"
    NOT_IN_BOOKS = "not_in_books"
    NOT_IN_IMS = "not_in_ims"


GROUPS = tuple(Group)
SUGGESTED = {
    Group.MATCHED: "accept",
    Group.NEAR_MATCH: "accept",
    Group.AMOUNT_MISMATCH: "pending",
    Group.NOT_IN_BOOKS: "pending",
    Group.NOT_IN_IMS: "follow_up",
}


@dataclass(frozen=True)
class Doc:
    """One document on either side: an IMS record (`key` its id) or a register row (`key`
    its 1-based data row)."""

    key: int
    gstin: str
    number: str
    date: date | None
    tax: Tax
    #: A credit note (True), an invoice or debit note (False), or, for a register row with
    #: no type column and a positive amount, not known (None: matches either).
    credit_note: bool | None = False
    name: str = ""  # the supplier's name (register side)
    #: IMS side: the record still needs a decision. A decided record is matched (so that its
    #: register row is not reported missing) but never listed as not in the books.
    open: bool = True


@dataclass(frozen=True)
class Item:
    group: Group
    record: Doc | None
    row: Doc | None
    reason: str
    difference: Tax | None = None  # register minus IMS, per head (amount mismatches)

    @property
    def suggested_action(self) -> str:
        return SUGGESTED[self.group]

    @property
    def tax(self) -> Tax:
        side = self.record or self.row
        return side.tax if side is not None else Tax()

    def to_json(self) -> dict[str, object]:
        return {
            "group": self.group.value,
            "record_id": self.record.key if self.record else None,
            "register_row": self.row.key if self.row else None,
            "suggested_action": self.suggested_action,
            "reason": self.reason,
        }


@dataclass
class Result:
    items: list[Item] = field(default_factory=list)

    def by_group(self, group: Group) -> list[Item]:
        return [i for i in self.items if i.group is group]

    def record_ids(self, group: Group) -> list[int]:
        return [i.record.key for i in self.items if i.group is group and i.record is not None]

    def summary(self) -> dict[str, dict[str, object]]:
        totals: dict[str, dict[str, object]] = {}
        for group in GROUPS:
            tax, count = Tax(), 0
            for item in self.by_group(group):
                tax, count = tax + item.tax, count + 1
            totals[group.value] = {"count": count, **tax.as_dict()}
        return totals

    def to_json(self) -> dict[str, object]:
        return {"summary": self.summary(), "items": [i.to_json() for i in self.items]}


# ----------------------------------------------------------------------------- normalisation

# A year pair (`25-26`, `2025-26`, `2025/2026`); `_drop_fy` keeps only a real financial
# year (the second year follows the first), and looks again one character on when a pair
# is not one, so that `42/25-26` finds `25-26`.
_FY = re.compile(r"(?<![0-9])(?:20)?([0-9]{2})\s*[-/]\s*(?:20)?([0-9]{2})(?![0-9])")
#: Punctuation and spaces, and the leading zeros of each run of digits, in one pass.
_NOISE = re.compile(r"[^0-9A-Z]+|(?<![0-9])0+(?=[0-9])")


def _drop_fy(text: str) -> str:
    """Remove a financial-year part (`25-26`, `2025-26`, `2025/2026`) when it is one."""
    if "-" not in text and "/" not in text:
        return text
    pos = 0
    while match := _FY.search(text, pos):
        if (int(match[1]) + 1) % 100 == int(match[2]):
            return f"{text[:match.start()]} {text[match.end():]}"
        pos = match.start() + 1
    return text


def normalise_number(text: str) -> str:
    """A document number as compared: upper case, no financial-year part, letters and digits
    only, no leading zeros in a run of digits. `inv/0042/25-26` → `INV42`."""
    upper = text.upper()
    return _NOISE.sub("", _drop_fy(upper)) or _NOISE.sub("", upper)


def normalise_gstin(text: str) -> str:
    return "".join(text.split()).upper()


def pan(gstin: str) -> str:
    return gstin[2:12] if len(gstin) == 15 else gstin


def within(a: Tax, b: Tax, tolerance: Decimal) -> bool:
    return (abs(a.igst - b.igst) <= tolerance and abs(a.cgst - b.cgst) <= tolerance
            and abs(a.sgst - b.sgst) <= tolerance and abs(a.cess - b.cess) <= tolerance)


def _rupees(value: Decimal) -> str:
    return f"₹{value:,.2f}"


def difference_text(difference: Tax) -> str:
    parts = [f"{h.upper()} {'+' if v > 0 else '−'}{_rupees(abs(v))}"
             for h, v in difference.as_dict().items() if v]
    return ", ".join(parts)


# ----------------------------------------------------------------------------- grouping


def reconcile(
    records: Iterable[Doc],
    rows: Iterable[Doc],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    days: int = DEFAULT_DAYS,
) -> Result:
    """Every record and every row in exactly one item, records first (by id), then rows."""
    records = sorted(records, key=lambda d: d.key)
    books: dict[tuple[str, str], list[Doc]] = defaultdict(list)
    for row in sorted(rows, key=lambda d: d.key):
        books[(row.gstin, normalise_number(row.number))].append(row)
    used: set[int] = set()
    agrees = _rupees(tolerance)
    items: dict[int, Item] = {}
    unmatched: list[Doc] = []
    for record in records:
        same = books.get((record.gstin, normalise_number(record.number)))
        row = None
        for candidate in same or ():
            if candidate.key not in used and _kind_fits(record, candidate):
                row = candidate
                break
        if row is None:
            unmatched.append(record)
            continue
        used.add(row.key)
        if within(record.tax, row.tax, tolerance):
            items[record.key] = Item(Group.MATCHED, record, row, _matched(row, agrees))
        else:
            difference = row.tax - record.tax
            items[record.key] = Item(
                Group.AMOUNT_MISMATCH, record, row,
                f"Same document as register row {row.key} ({row.number}), but the amounts "
                f"differ (books − portal): {difference_text(difference)}. Keep it pending "
                "and ask the supplier; reject only if the document is wrong.",
                difference,
            )
    _near_matches(unmatched, books, used, items, tolerance, days)
    result = Result()
    for record in records:
        if record.key not in items and not record.open:
            continue
        if not record.open:
            item = items[record.key]
            items[record.key] = Item(item.group, record, item.row,
                                     f"{item.reason} Already decided: nothing to apply.",
                                     item.difference)
        result.items.append(items.get(record.key) or Item(
            Group.NOT_IN_BOOKS, record, None,
            f"{record.number} is not in your purchase register. Keep it pending and ask the "
            "supplier (or check your books) before rejecting it.",
        ))
    leftover = sorted((r for rs in books.values() for r in rs if r.key not in used),
                      key=lambda d: d.key)
    for row in leftover:
        result.items.append(Item(
            Group.NOT_IN_IMS, None, row,
            f"{row.number} is in your books but not on the portal: ask the supplier "
            "to report it in GSTR-1/IFF.",
        ))
    return result


def _matched(row: Doc, within_text: str) -> str:
    return (f"Same document as register row {row.key} ({row.number}); every tax head agrees "
            f"within {within_text}.")


def _near_matches(
    unmatched: Sequence[Doc],
    books: Mapping[tuple[str, str], list[Doc]],
    used: set[int],
    items: dict[int, Item],
    tolerance: Decimal,
    days: int,
) -> None:
    if not unmatched:
        return
    by_pan: dict[str, list[Doc]] = defaultdict(list)
    for rows in books.values():
        for row in rows:
            if row.key not in used:
                by_pan[pan(row.gstin)].append(row)
    for record in unmatched:
        number = normalise_number(record.number)
        best: tuple[float, Doc] | None = None
        for row in by_pan.get(pan(record.gstin), ())[:MAX_CANDIDATES]:
            if row.key in used or not _kind_fits(record, row):
                continue
            if not within(record.tax, row.tax, tolerance) or not _close(record, row, days):
                continue
            score = fuzz.ratio(number, normalise_number(row.number))
            if score < SIMILAR:
                continue  # same supplier, or its other GSTIN: the number must look alike
            if best is None or score > best[0]:
                best = (score, row)
        if best is None:
            continue
        row = best[1]
        used.add(row.key)
        other = "" if row.gstin == record.gstin else f" (the supplier's GSTIN {row.gstin})"
        items[record.key] = Item(
            Group.NEAR_MATCH, record, row,
            f"Looks like register row {row.key}{other}: portal {record.number} "
            f"({_day(record.date)}) vs books {row.number} ({_day(row.date)}); amounts agree "
            f"within {_rupees(tolerance)}. Check both, then accept.",
        )


def _kind_fits(record: Doc, row: Doc) -> bool:
    """A credit note is never the same document as an invoice of the same number."""
    return row.credit_note is None or row.credit_note is record.credit_note


def _close(record: Doc, row: Doc, days: int) -> bool:
    if record.date is None or row.date is None:
        return True
    return abs((record.date - row.date).days) <= days


def _day(value: date | None) -> str:
    return f"{value:%d %b %Y}" if value else "no date"


# ----------------------------------------------------------------------------- follow-ups


def follow_ups(result: Result, names: Mapping[str, str]) -> dict[str, str]:
    """Per supplier GSTIN, a message the user can forward naming the documents the supplier
    has not reported (plain text: the caller escapes it for its medium)."""
    missing: dict[str, list[Doc]] = defaultdict(list)
    for item in result.by_group(Group.NOT_IN_IMS):
        if item.row is not None:
            missing[item.row.gstin].append(item.row)
    messages = {}
    for gstin, rows in sorted(missing.items()):
        name = names.get(gstin) or next((r.name for r in rows if r.name), "") or gstin
        lines = [f"- {r.number} dated {_day(r.date)}, tax {_rupees(r.tax.total)}" for r in rows]
        messages[gstin] = (
            f"Dear {name} (GSTIN {gstin}),\n"
            f"These {len(rows)} document(s) in our books are not in our IMS / GSTR-2B:\n"
            + "\n".join(lines)
            + "\nPlease report them in your GSTR-1/IFF so that we can take the credit. Thank you."
        )
    return messages
