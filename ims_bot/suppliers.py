"""Supplier names, per workspace and supplier GSTIN.

GSTN's IMS data carries no trade name, so names come from wherever the user has one: a
provider's `trdnm` in an imported file (`portal`), the purchase register (`register`), or
the user's own naming (`user`). A stronger source is never overwritten by a weaker one
(user > register > portal). Until a name is known, a supplier is shown by its GSTIN, spaced
to be readable (`display_name`).

Names are data from suppliers and files: stored as plain text, never interpreted, and
escaped by whoever renders them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, String, bindparam, case, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ims_bot.db import Database
from ims_bot.errors import InvalidInput, NotFound
from ims_bot.gstin import GSTIN_LENGTH
from ims_bot.models import Record, Supplier, Taxpayer
from ims_bot.settings import INDIA
from ims_bot.workspaces import parse_gstin


class Source(StrEnum):
    PORTAL = "portal"
    REGISTER = "register"
    USER = "user"


#: Which source may overwrite which: a name is replaced only by one of at least its rank.
RANK = {Source.PORTAL: 1, Source.REGISTER: 2, Source.USER: 3}
MAX_NAME = 100
#: What a record without a supplier GSTIN (a bill of entry for imported goods) is shown as.
CUSTOMS = "Customs (import)"
#: Longest IN list: far below SQLite's bound-parameter cap (999 in old builds).
_CHUNK = 500
# Invisible characters that are fine inside a name: Indic scripts need the zero-width
# (non-)joiner. Every other format character (bidi overrides, BOM...) can disguise a name.
_ALLOWED_FORMAT = frozenset("\u200c\u200d")


def _is_control(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cf":
        return char not in _ALLOWED_FORMAT
    return category in ("Cc", "Zl", "Zp")


def _gstin_key(text: str) -> str:
    """A GSTIN as stored: upper case, without the spaces of the readable form."""
    return "".join(text.split()).upper()


def readable_gstin(gstin: str) -> str:
    """`27AAPFU0939F1ZV` → `27 AAPFU0939F 1ZV`: state, PAN, then entity, Z and check."""
    key = _gstin_key(gstin)
    if len(key) != GSTIN_LENGTH:
        return key
    return f"{key[:2]} {key[2:12]} {key[12:]}"


def display_name(name: str | None, gstin: str | None) -> str:
    """How a supplier is shown: its name if known, else its readable GSTIN; a record
    without a supplier GSTIN is a bill of entry (customs)."""
    if name and name.strip():
        return name.strip()
    if gstin and gstin.strip():
        return readable_gstin(gstin)
    return CUSTOMS


def clean_name(text: str) -> str:
    """A name from a file, made safe to keep: control and format characters dropped,
    whitespace collapsed, at most MAX_NAME characters. Empty when nothing is left."""
    if text.isprintable():  # the common case, at C speed: no control or format character
        return " ".join(text.split())[:MAX_NAME].rstrip()
    kept = "".join(c for c in text if not _is_control(c) or c.isspace())
    return " ".join(kept.split())[:MAX_NAME].rstrip()


def validate_name(text: str) -> str:
    """The user's own naming, checked: refused (InvalidInput) rather than silently changed."""
    name = (text or "").strip()
    if not name:
        raise InvalidInput("Give the supplier's name after its GSTIN.")
    if any(_is_control(c) for c in name):
        raise InvalidInput(
            "A supplier's name cannot contain control characters (line breaks, tabs or "
            "invisible formatting)."
        )
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"A supplier's name can be at most {MAX_NAME} characters; that one has {len(name)}."
        )
    return name


# ------------------------------------------------------------------------------- reading


def _stored(session: Session, taxpayer_id: int, gstins: Iterable[str]) -> dict[str, Any]:
    """The stored rows (gstin, name, source) of these suppliers of one workspace, by GSTIN.

    Many GSTINs are read as the workspace's whole list in one query (a few thousand short
    rows), which is faster than long IN lists; a few are read by key."""
    wanted = {g for g in gstins if g}
    if not wanted:
        return {}
    stmt = select(Supplier.gstin, Supplier.name, Supplier.source).where(
        Supplier.taxpayer_id == taxpayer_id
    )
    if len(wanted) <= _CHUNK:
        stmt = stmt.where(Supplier.gstin.in_(sorted(wanted)))
    return {row.gstin: row for row in session.execute(stmt) if row.gstin in wanted}


def names_for(session: Session, taxpayer_id: int, gstins: Iterable[str]) -> dict[str, str]:
    """The known names of these suppliers of one workspace (GSTINs without one are absent)."""
    return {g: row.name for g, row in _stored(session, taxpayer_id, gstins).items()}


def names_for_many(
    session: Session, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], str]:
    """Known names for (workspace, supplier GSTIN) pairs across workspaces (digests)."""
    wanted = sorted({(t, g) for t, g in keys if g})
    names: dict[tuple[int, str], str] = {}
    for start in range(0, len(wanted), _CHUNK // 2):  # two parameters a pair
        stmt = select(Supplier.taxpayer_id, Supplier.gstin, Supplier.name).where(
            tuple_(Supplier.taxpayer_id, Supplier.gstin).in_(wanted[start : start + _CHUNK // 2])
        )
        names.update(((t, g), n) for t, g, n in session.execute(stmt))
    return names


def label(db: Database, taxpayer_id: int, gstin: str) -> str:
    """How one supplier of a workspace is shown (its name, or its readable GSTIN)."""
    with db.begin() as session:
        return display_name(names_for(session, taxpayer_id, [gstin]).get(gstin), gstin)


# ------------------------------------------------------------------------------- writing


def _rank(column: Any) -> Any:
    """The rank of a stored source, in SQL (an unknown source ranks lowest)."""
    return case(*((column == s.value, r) for s, r in RANK.items()), else_=0)


def remember(
    session: Session, taxpayer_id: int, names: Mapping[str, str], source: Source | str
) -> int:
    """Store names of a workspace's suppliers from one source, in the caller's transaction.

    A stored name is replaced only by a source of at least its rank; names from files are
    cleaned (`clean_name`), and empty names or GSTINs are skipped. Returns how many names
    were written. One read and one upsert, however many records and suppliers a file has;
    names already stored as given are not written again (a re-import writes nothing).
    """
    source = Source(source)
    wanted: dict[str, str] = {}
    for gstin, name in names.items():
        key, clean = _gstin_key(gstin or ""), clean_name(name or "")
        if key and clean:
            wanted[key] = clean
    if not wanted:
        return 0
    stored = _stored(session, taxpayer_id, wanted)
    rank = RANK[source]
    changes = {
        g: n
        for g, n in wanted.items()
        if g not in stored
        or ((stored[g].name, stored[g].source) != (n, source.value)
            and RANK.get(stored[g].source, 0) <= rank)
    }
    if changes:
        _upsert(session, taxpayer_id, changes, source)
    return len(changes)


def _upsert(session: Session, taxpayer_id: int, names: dict[str, str], source: Source) -> None:
    """INSERT … ON CONFLICT DO UPDATE, re-checking the rank in the statement itself: another
    transaction (a user naming the supplier) may have written since the caller read."""
    now = datetime.now(INDIA)
    table = Supplier.__table__
    columns = ["taxpayer_id", "gstin", "name", "source", "updated_at"]
    if session.get_bind().dialect.name == "postgresql":
        # One statement over two arrays: a driver's executemany sends one row at a time.
        pairs = func.unnest(
            bindparam("gstins", list(names), type_=ARRAY(String)),
            bindparam("names", list(names.values()), type_=ARRAY(String)),
        ).table_valued("gstin", "name").render_derived(name="given")
        rows = select(
            literal(taxpayer_id), pairs.c.gstin, pairs.c.name, literal(source.value),
            literal(now, DateTime(timezone=True)),
        )
        pg = postgresql_insert(table).from_select(columns, rows)
        stmt = pg.on_conflict_do_update(
            index_elements=[table.c.taxpayer_id, table.c.gstin],
            set_={c: getattr(pg.excluded, c) for c in columns[2:]},
            where=_rank(table.c.source) <= _rank(pg.excluded.source),
        )
        session.execute(stmt)
        return
    lite = sqlite_insert(table)
    stmt = lite.on_conflict_do_update(
        index_elements=[table.c.taxpayer_id, table.c.gstin],
        set_={c: getattr(lite.excluded, c) for c in columns[2:]},
        where=_rank(table.c.source) <= _rank(lite.excluded.source),
    )
    values = [dict(zip(columns, (taxpayer_id, g, n, source.value, now), strict=True))
              for g, n in names.items()]
    session.execute(stmt, values)  # one executemany: SQLite's is fast in-process


@dataclass(frozen=True)
class Named:
    """The outcome of a user naming a supplier."""

    gstin: str
    name: str
    previous: str | None  # the name known before, if any

    def to_json(self) -> dict[str, Any]:
        return {"gstin": self.gstin, "name": self.name, "previous": self.previous}


def rename(db: Database, taxpayer_id: int, gstin: str, name: str) -> Named:
    """The user's own name for a supplier of this workspace; it outranks every other source.

    Raises InvalidInput (a malformed name, or a malformed GSTIN that is no supplier here) or
    NotFound (no such workspace, or no record of this supplier in it).
    """
    key = _gstin_key(gstin or "")
    clean = validate_name(name)
    with db.begin() as session:
        if session.get(Taxpayer, taxpayer_id) is None:
            raise NotFound("This GSTIN is not linked (any more).")
        known = session.scalar(
            select(Supplier.name).where(Supplier.taxpayer_id == taxpayer_id, Supplier.gstin == key)
        )
        if known is None and not _has_records(session, taxpayer_id, key):
            # A typing mistake is named as such; a supplier's GSTIN is taken as its records
            # have it, even one whose check character the portal let through.
            parse_gstin(key)
            raise NotFound(
                f"{readable_gstin(key)} is not a supplier here: no record of this GSTIN "
                "has it. Check the GSTIN on the record's card."
            )
        remember(session, taxpayer_id, {key: clean}, Source.USER)
        return Named(key, clean, known)


def _has_records(session: Session, taxpayer_id: int, gstin: str) -> bool:
    if not gstin:
        return False
    stmt = select(Record.id).where(
        Record.taxpayer_id == taxpayer_id, Record.supplier_gstin == gstin
    ).limit(1)
    return session.scalar(stmt) is not None
