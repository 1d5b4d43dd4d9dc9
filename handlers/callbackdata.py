"""Callback data: typed pack/unpack of `prefix:action:field:…`, in one place.

Every inline button's data is one of the dataclasses below, registered with
`@callback_data(prefix, action)`. `pack()` refuses anything Telegram would refuse (more than
64 bytes) or that could not be read back; `parse()` turns a raw string into the typed value
or raises `InvalidCallbackData` — for forged, stale or foreign data alike — so a handler
needs a single `except` to answer "this button is no longer valid". A payload may add its own
`check()` (a bulk amount no larger than any amount can be): `pack()` and `parse()` apply it.

Fields may be `int` (0…10**15, enough for Telegram user ids) or `str` (letters, digits,
`_ . -`, no `:`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from ims_bot.domain import bounded_amount

MAX_BYTES = 64
SEPARATOR = ":"
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{1,48}")
_INT = re.compile(r"0|[1-9][0-9]{0,14}")


class InvalidCallbackData(ValueError):
    """The button's data is not one this bot packs (forged, outdated or for another prefix)."""


class CallbackData:
    """Base of all button payloads; subclasses are frozen dataclasses."""

    prefix: ClassVar[str]
    action: ClassVar[str]

    def check(self) -> None:
        """Raise ValueError if the fields, though well formed, are not ones this bot packs."""

    def pack(self) -> str:
        self.check()
        parts = [self.prefix, self.action]
        for spec in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, spec.name)
            parts.append(_encode(type(self), spec.name, value))
        raw = SEPARATOR.join(parts)
        if len(raw.encode()) > MAX_BYTES:
            raise ValueError(f"callback data {raw!r} is longer than {MAX_BYTES} bytes")
        return raw


_REGISTRY: dict[tuple[str, str], type[CallbackData]] = {}
T = TypeVar("T", bound=CallbackData)


def callback_data(prefix: str, action: str) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass as the payload for `prefix:action:…`."""
    if not (_TOKEN.fullmatch(prefix) and _TOKEN.fullmatch(action)):
        raise ValueError(f"bad prefix/action {prefix!r}/{action!r}")

    def register(cls: type[T]) -> type[T]:
        key = (prefix, action)
        if key in _REGISTRY:
            raise ValueError(f"callback data {prefix}:{action} is registered twice")
        cls.prefix, cls.action = prefix, action
        _REGISTRY[key] = cls
        return cls

    return register


def parse(raw: str | None) -> CallbackData:
    """The typed payload of `raw`, or `InvalidCallbackData`."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        raise InvalidCallbackData(repr(raw))
    prefix, _, rest = raw.partition(SEPARATOR)
    action, _, tail = rest.partition(SEPARATOR)
    cls = _REGISTRY.get((prefix, action))
    if cls is None:
        raise InvalidCallbackData(repr(raw))
    specs = dataclasses.fields(cls)  # type: ignore[arg-type]
    values = tail.split(SEPARATOR) if tail else []
    if len(values) != len(specs):
        raise InvalidCallbackData(repr(raw))
    pairs = zip(specs, values, strict=True)
    data = cls(**{spec.name: _decode(spec, value, raw) for spec, value in pairs})
    try:
        data.check()
    except ValueError:
        raise InvalidCallbackData(repr(raw)) from None
    return data


def _is_int_field(spec: dataclasses.Field[Any]) -> bool:
    return spec.type in (int, "int")


def _encode(cls: type[CallbackData], name: str, value: object) -> str:
    text = str(value)
    ok = _INT.fullmatch(text) if isinstance(value, int) else _TOKEN.fullmatch(text)
    if isinstance(value, bool) or not ok:
        raise ValueError(f"{cls.__name__}.{name}={value!r} cannot be packed")
    return text


def _decode(spec: dataclasses.Field[Any], value: str, raw: str) -> object:
    if _is_int_field(spec):
        if not _INT.fullmatch(value):
            raise InvalidCallbackData(repr(raw))
        return int(value)
    if not _TOKEN.fullmatch(value):
        raise InvalidCallbackData(repr(raw))
    return value


# --- FAQ --------------------------------------------------------------------------------
FAQ_PREFIX = "faq"


@callback_data(FAQ_PREFIX, "topics")
@dataclasses.dataclass(frozen=True)
class FaqTopics(CallbackData):
    """Show the list of FAQ categories."""


@callback_data(FAQ_PREFIX, "cat")
@dataclasses.dataclass(frozen=True)
class FaqCategory(CallbackData):
    """Show one page of the questions of category number `index` (in `kb.categories()`)."""

    index: int
    page: int = 0


@callback_data(FAQ_PREFIX, "ans")
@dataclasses.dataclass(frozen=True)
class FaqAnswer(CallbackData):
    """Show the answer of FAQ entry `entry_id`."""

    entry_id: str


# --- Workspaces (GSTINs): `w` is always the workspace (taxpayer) id ---------------------
WS_PREFIX = "ws"


@callback_data(WS_PREFIX, "freq")
@dataclasses.dataclass(frozen=True)
class SetFrequency(CallbackData):
    """Set the filing frequency: `m` monthly, `q` quarterly (QRMP)."""

    w: int
    freq: str


@callback_data(WS_PREFIX, "use")
@dataclasses.dataclass(frozen=True)
class UseWorkspace(CallbackData):
    """Make workspace `w` the active one."""

    w: int


@callback_data(WS_PREFIX, "unlink")
@dataclasses.dataclass(frozen=True)
class AskUnlink(CallbackData):
    """Ask to confirm unlinking `w`."""

    w: int


@callback_data(WS_PREFIX, "unlinkok")
@dataclasses.dataclass(frozen=True)
class ConfirmUnlink(CallbackData):
    w: int


@callback_data(WS_PREFIX, "cancel")
@dataclasses.dataclass(frozen=True)
class Cancel(CallbackData):
    """Drop a question; nothing changes."""


@callback_data(WS_PREFIX, "revoke")
@dataclasses.dataclass(frozen=True)
class AskRevoke(CallbackData):
    """Ask the owner to confirm revoking member `u`'s access to `w`; nothing changes yet."""

    w: int
    u: int


@callback_data(WS_PREFIX, "revokeok")
@dataclasses.dataclass(frozen=True)
class ConfirmRevoke(CallbackData):
    """Revoke member `u`'s access to `w` (the server checks the presser owns `w`)."""

    w: int
    u: int


@callback_data(WS_PREFIX, "uncode")
@dataclasses.dataclass(frozen=True)
class CancelCode(CallbackData):
    """Cancel invite code `code` of `w` (the server checks the presser owns `w`)."""

    w: int
    code: str


# --- Records ----------------------------------------------------------------------------
REC_PREFIX = "rec"
#: Action codes in buttons: the portal's letters.
ACTION_CODES = ("A", "R", "P")
#: Declared ITC reduction in buttons: full, nil, or `-` (none asked).
REDUCTION_CODES = ("full", "nil", "-")


@callback_data(REC_PREFIX, "open")
@dataclasses.dataclass(frozen=True)
class OpenRecord(CallbackData):
    """Show record `r` of workspace `w` as a card."""

    w: int
    r: int


@callback_data(REC_PREFIX, "act")
@dataclasses.dataclass(frozen=True)
class ChooseAction(CallbackData):
    """Accept / Reject / Pending pressed on a card showing version `v` of the record.

    Reject (and accepting what needs a reduction declaration) asks first."""

    w: int
    r: int
    v: int
    a: str


@callback_data(REC_PREFIX, "ok")
@dataclasses.dataclass(frozen=True)
class ConfirmAction(CallbackData):
    """Apply action `a` to version `v` of the record, with reduction `red`."""

    w: int
    r: int
    v: int
    a: str
    red: str


@callback_data(REC_PREFIX, "remark")
@dataclasses.dataclass(frozen=True)
class AskRemarks(CallbackData):
    """Ask for remarks; the reply rejects the record with them."""

    w: int
    r: int
    v: int


@callback_data(REC_PREFIX, "partial")
@dataclasses.dataclass(frozen=True)
class AskPartial(CallbackData):
    """Ask for the amounts of a partial ITC reduction; the reply accepts the record."""

    w: int
    r: int
    v: int


@callback_data(REC_PREFIX, "name")
@dataclasses.dataclass(frozen=True)
class NameSupplier(CallbackData):
    """Say how to name the supplier of record `r` (the GSTIN is read from the record, on
    the server, after the access check; nothing is awaited)."""

    w: int
    r: int


@callback_data(REC_PREFIX, "undo")
@dataclasses.dataclass(frozen=True)
class UndoAction(CallbackData):
    """Undo action-log entry `log`."""

    w: int
    log: int


# --- Lists and bulk ---------------------------------------------------------------------
LIST_PREFIX = "pend"
#: Amount filters of the list, by index: (label, minimum, strictly-below) in rupees.
AMOUNT_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("Any amount", None, None),
    ("Under ₹10,000", None, 10_000),
    ("₹10,000 – ₹1,00,000", 10_000, 100_000),
    ("₹1,00,000 and more", 100_000, None),
)
ANY = "-"


@callback_data(LIST_PREFIX, "page")
@dataclasses.dataclass(frozen=True)
class PendingPage(CallbackData):
    """Page `page` (from 1) of the records needing a decision, filtered.

    `sec` a section key or `-`, `sup` a supplier GSTIN or `-`, `amt` an AMOUNT_BANDS index.
    """

    w: int
    page: int = 1
    sec: str = ANY
    sup: str = ANY
    amt: int = 0


@callback_data(LIST_PREFIX, "filter")
@dataclasses.dataclass(frozen=True)
class PendingFilter(CallbackData):
    """Show the choices of one filter (`by`: `sec`, `sup`, `amt`) or the bulk menu (`bulk`),
    keeping the list's current filters."""

    w: int
    by: str
    sec: str = ANY
    sup: str = ANY
    amt: int = 0


BULK_PREFIX = "bulk"
#: Bulk scopes: all from supplier (`arg` its GSTIN), under an amount (`arg` rupees), all left.
BULK_KINDS = ("sup", "under", "all")


def check_bulk_scope(kind: str, arg: str) -> None:
    """A bulk scope this bot could have packed: a known kind, and for `under` whole rupees
    no larger than any amount can be (MAX_AMOUNT), so a forged `9` * 30 acts on nothing."""
    if kind not in BULK_KINDS:
        raise ValueError(f"unknown bulk scope {kind!r}")
    if kind == "under":
        if not (arg.isascii() and arg.isdigit()):
            raise ValueError(f"not whole rupees: {arg!r}")
        bounded_amount(Decimal(arg))


@callback_data(BULK_PREFIX, "ask")
@dataclasses.dataclass(frozen=True)
class BulkPreviewData(CallbackData):
    """Preview accepting every open record of a scope (count and ITC), with a confirm."""

    w: int
    kind: str
    arg: str

    def check(self) -> None:
        check_bulk_scope(self.kind, self.arg)


@callback_data(BULK_PREFIX, "do")
@dataclasses.dataclass(frozen=True)
class BulkApply(CallbackData):
    w: int
    kind: str
    arg: str

    def check(self) -> None:
        check_bulk_scope(self.kind, self.arg)


@callback_data(BULK_PREFIX, "undo")
@dataclasses.dataclass(frozen=True)
class BulkUndo(CallbackData):
    """Undo a whole bulk batch (uuid)."""

    w: int
    batch: str


# --- reconciliation with the purchase register ------------------------------------------
RECONCILE_PREFIX = "rcn"
#: Groups of a reconciliation run a button may name (ims_bot.reconcile.Group values).
RECONCILE_GROUPS = ("matched", "near_match", "amount_mismatch", "not_in_books")


def _check_group(group: str) -> None:
    if group not in RECONCILE_GROUPS:
        raise ValueError(f"unknown reconciliation group {group!r}")


@callback_data(RECONCILE_PREFIX, "ask")
@dataclasses.dataclass(frozen=True)
class ReconcilePreview(CallbackData):
    """Preview applying one group of a run (kept in the database: any replica can)."""

    w: int
    run: int
    group: str

    def check(self) -> None:
        _check_group(self.group)


@callback_data(RECONCILE_PREFIX, "do")
@dataclasses.dataclass(frozen=True)
class ReconcileApply(CallbackData):
    w: int
    run: int
    group: str

    def check(self) -> None:
        _check_group(self.group)


@callback_data(RECONCILE_PREFIX, "fu")
@dataclasses.dataclass(frozen=True)
class ReconcileFollowUp(CallbackData):
    """The ready follow-up message to the `page`-th supplier with documents not in IMS."""

    w: int
    run: int
    page: int


@callback_data(RECONCILE_PREFIX, "map")
@dataclasses.dataclass(frozen=True)
class ReconcileMap(CallbackData):
    """The answer to "which column is <field>?": the `column`-th header of the file."""

    w: int
    run: int
    column: int
