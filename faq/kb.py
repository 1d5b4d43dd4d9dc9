"""The FAQ knowledge base: YAML data files turned into typed, validated objects once.

Nothing is read at import time; call :func:`load_knowledge_base` (for example from the
application's ``post_init``). Every structural problem raises :class:`KnowledgeBaseError`
naming the file and the entry, so a broken edit fails at start-up, not in a chat.

Data files live directly in ``faq/data/`` (the package data glob is ``data/*.yaml``) and
are told apart by their single top-level key:

* ``entries:`` — a list of FAQ entries (any number of such files);
* ``categories:`` — the browsing categories in display order (exactly one file);
* ``sources:`` — the documents answers cite, by key (exactly one file, when any entry
  cites a source). An entry's ``sources:`` lists keys of this table; an unknown key is an
  error naming the file and the entry;
* ``synonyms:`` / ``stopwords:`` / ``signal_words:`` / ``weak_signal_words:`` /
  ``offtopic_words:`` — the matcher's lexicon (one file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).with_name("data")

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_URL_RE = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
# "17 Oct 2025", "Sep 2024" or "2022": how a date is written in the sources table.
_DATE_RE = re.compile(
    r"^(?:(?:[1-9]|[12][0-9]|3[01]) )?(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )?"
    r"(?:19|20)[0-9]{2}$"
)
_REQUIRED = ("id", "category", "question", "variants", "answer", "sources")
_OPTIONAL = ("keywords", "related", "applies_from")
_SOURCE_REQUIRED = ("key", "issuer", "title")
_SOURCE_OPTIONAL = ("date", "address", "also_at", "note")
_LEXICON_KEYS = {"synonyms", "stopwords", "signal_words", "weak_signal_words", "offtopic_words"}


class KnowledgeBaseError(ValueError):
    """A data file of the knowledge base is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Source:
    """A document the knowledge base cites: one row of ``sources.yaml``."""

    key: str
    issuer: str  # who wrote it: "GSTN", "Parliament of India", a provider's name
    title: str
    date: str | None = None  # "17 Oct 2025", "Sep 2024"; None when the document is undated
    address: str | None = None  # an http(s) URL to read it at; None: known by its name only
    also_at: tuple[str, ...] = ()  # other copies of the same text
    note: str | None = None  # for editors: how the text was found, what it is

    @property
    def label(self) -> str:
        """Issuer, title and date: "GSTN, Additional FAQ on IMS, 17 Oct 2024"."""
        return ", ".join(part for part in (self.issuer, self.title, self.date) if part)

    @property
    def citation(self) -> str:
        """The label, then the address when there is one (what a reader is shown)."""
        return f"{self.label}: {self.address}" if self.address else self.label

    def __str__(self) -> str:
        return self.citation


@dataclass(frozen=True)
class FaqEntry:
    id: str
    category: str
    question: str
    variants: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    # What the reader is shown: one readable citation per source (Source.citation), e.g.
    # "GSTN, Additional FAQ on IMS, 17 Oct 2024". The data file lists keys instead; the
    # loader resolves them (see source_keys / citations).
    sources: tuple[str, ...]
    related: tuple[str, ...]
    applies_from: str | None = None
    source_keys: tuple[str, ...] = ()  # as written in the data file
    citations: tuple[Source, ...] = ()  # the resolved rows of the sources table


@dataclass(frozen=True)
class Lexicon:
    """Words the matcher rewrites (synonyms), ignores (stop words) or requires (signal)."""

    synonyms: Mapping[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    signal_words: frozenset[str] = frozenset()
    weak_signal_words: frozenset[str] = frozenset()
    # Words of neighbouring GST topics ("late fee", "refund"): with one of these, only a
    # near-certain match is answered.
    offtopic_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[FaqEntry, ...]  # sorted by id
    category_order: tuple[str, ...] = ()
    lexicon: Lexicon = field(default_factory=Lexicon)
    sources: Mapping[str, Source] = field(default_factory=dict)  # key -> row, file order

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(sorted(self.entries, key=lambda e: e.id)))
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def get(self, entry_id: str) -> FaqEntry | None:
        by_id: dict[str, FaqEntry] = self.__dict__["_by_id"]
        return by_id.get(entry_id)

    def categories(self) -> tuple[str, ...]:
        """Categories in display order: the configured order, then any others A-Z."""
        used = {e.category for e in self.entries}
        ordered = [c for c in self.category_order if c in used]
        return (*ordered, *sorted(used - set(ordered)))

    def in_category(self, category: str) -> tuple[FaqEntry, ...]:
        return tuple(e for e in self.entries if e.category == category)


def load_knowledge_base(directory: Path | None = None) -> KnowledgeBase:
    """Read and validate every ``*.yaml`` file of ``directory`` (default: ``faq/data``)."""
    directory = DATA_DIR if directory is None else Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise KnowledgeBaseError(f"{directory}: no *.yaml knowledge-base files found")

    entries: list[FaqEntry] = []
    origin: dict[str, str] = {}  # entry id -> file name, for error messages
    categories: tuple[str, ...] | None = None
    lexicon: Lexicon | None = None
    sources: dict[str, Source] | None = None
    sources_file = ""
    for path in files:
        data = _read_yaml(path)
        keys = set(data)
        if keys == {"entries"}:
            for position, raw in enumerate(_as_list(data["entries"], path, "entries"), 1):
                entry = _parse_entry(raw, path, position)
                if entry.id in origin:
                    raise KnowledgeBaseError(
                        f"{path.name}: entry {entry.id!r}: duplicate id "
                        f"(already defined in {origin[entry.id]})"
                    )
                origin[entry.id] = path.name
                entries.append(entry)
        elif keys == {"categories"}:
            if categories is not None:
                raise KnowledgeBaseError(f"{path.name}: a second 'categories' file")
            categories = _parse_categories(data["categories"], path)
        elif keys == {"sources"}:
            if sources is not None:
                raise KnowledgeBaseError(
                    f"{path.name}: a second 'sources' file (already read {sources_file})"
                )
            sources = _parse_sources(data["sources"], path)
            sources_file = path.name
        elif keys and keys <= _LEXICON_KEYS:
            if lexicon is not None:
                raise KnowledgeBaseError(f"{path.name}: a second lexicon file")
            lexicon = _parse_lexicon(data, path)
        else:
            raise KnowledgeBaseError(
                f"{path.name}: unknown data file; expected a single top-level key "
                f"'entries', 'categories', 'sources', or lexicon keys; got {sorted(keys)}"
            )

    if not entries:
        raise KnowledgeBaseError(f"{directory}: no FAQ entries found")
    table = sources or {}
    entries = [_resolve_sources(e, table, origin[e.id], sources_file) for e in entries]
    by_id = {e.id: e for e in entries}
    for entry in entries:
        file_name = origin[entry.id]
        if categories is not None and entry.category not in categories:
            raise KnowledgeBaseError(
                f"{file_name}: entry {entry.id!r}: unknown category {entry.category!r} "
                f"(known: {', '.join(categories)})"
            )
        for rel in entry.related:
            if rel not in by_id:
                raise KnowledgeBaseError(
                    f"{file_name}: entry {entry.id!r}: unknown related id {rel!r}"
                )
            if rel == entry.id:
                raise KnowledgeBaseError(f"{file_name}: entry {entry.id!r}: related to itself")
    return KnowledgeBase(
        entries=tuple(entries),
        category_order=categories or (),
        lexicon=lexicon or Lexicon(),
        sources=table,
    )


def _resolve_sources(
    entry: FaqEntry, table: Mapping[str, Source], file_name: str, sources_file: str
) -> FaqEntry:
    """Replace the entry's source keys by the table's rows; an unknown key is an error."""
    rows = []
    for key in entry.source_keys:
        row = table.get(key)
        if row is None:
            where = f"not in {sources_file}" if sources_file else "no 'sources' file was found"
            raise KnowledgeBaseError(
                f"{file_name}: entry {entry.id!r}: unknown source {key!r} ({where})"
            )
        rows.append(row)
    return replace(
        entry,
        sources=tuple(row.citation for row in rows),
        citations=tuple(rows),
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path.name}: invalid YAML: {exc}") from exc
    except OSError as exc:
        raise KnowledgeBaseError(f"{path.name}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{path.name}: top level must be a mapping")
    return data


def _as_list(value: object, path: Path, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise KnowledgeBaseError(f"{path.name}: {what!r} must be a list")
    return value


def _parse_entry(raw: object, path: Path, position: int) -> FaqEntry:
    where = f"{path.name}: entry #{position}"
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{where}: must be a mapping")
    entry_id = raw.get("id")
    if isinstance(entry_id, str) and entry_id:
        where = f"{path.name}: entry {entry_id!r}"
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise KnowledgeBaseError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise KnowledgeBaseError(f"{where}: unknown field(s) {', '.join(unknown)}")

    def text(key: str) -> str:
        value = raw[key]
        if not isinstance(value, str):
            raise KnowledgeBaseError(f"{where}: {key!r} must be a string")
        value = " ".join(value.split())
        if not value:
            raise KnowledgeBaseError(f"{where}: {key!r} must not be empty")
        return value

    def texts(key: str, *, required: bool) -> tuple[str, ...]:
        value = raw.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KnowledgeBaseError(f"{where}: {key!r} must be a list of strings")
        cleaned = tuple(" ".join(v.split()) for v in value)
        if any(not v for v in cleaned):
            raise KnowledgeBaseError(f"{where}: {key!r} contains an empty string")
        if required and not cleaned:
            raise KnowledgeBaseError(f"{where}: {key!r} must not be empty")
        return cleaned

    entry_id = text("id")
    if not _ID_RE.match(entry_id):
        raise KnowledgeBaseError(f"{where}: id must be lower-case words joined by '-'")
    source_keys = texts("sources", required=True)
    bad = [k for k in source_keys if not _ID_RE.match(k)]
    if bad:
        raise KnowledgeBaseError(
            f"{where}: sources must be keys of the sources table (lower-case words joined "
            f"by '-'), got {bad[0]!r}"
        )
    twice = sorted({k for k in source_keys if source_keys.count(k) > 1})
    if twice:
        raise KnowledgeBaseError(f"{where}: source {twice[0]!r} cited twice")
    applies_from = raw.get("applies_from")
    if applies_from is not None and (
        not isinstance(applies_from, str) or not _PERIOD_RE.match(applies_from)
    ):
        raise KnowledgeBaseError(f"{where}: 'applies_from' must be 'YYYY-MM'")
    answer = text("answer")
    if "<" in answer and re.search(r"</?[a-zA-Z][^>]*>", answer):
        raise KnowledgeBaseError(f"{where}: 'answer' must be plain text, not HTML")
    return FaqEntry(
        id=entry_id,
        category=text("category"),
        question=text("question"),
        variants=texts("variants", required=True),
        keywords=texts("keywords", required=False),
        answer=answer,
        sources=source_keys,  # replaced by readable citations once the table is read
        related=texts("related", required=False),
        applies_from=applies_from,
        source_keys=source_keys,
    )


def _parse_sources(value: object, path: Path) -> dict[str, Source]:
    table: dict[str, Source] = {}
    for position, raw in enumerate(_as_list(value, path, "sources"), 1):
        row = _parse_source(raw, path, position)
        if row.key in table:
            raise KnowledgeBaseError(f"{path.name}: source {row.key!r}: duplicate key")
        table[row.key] = row
    if not table:
        raise KnowledgeBaseError(f"{path.name}: 'sources' must not be empty")
    return table


def _parse_source(raw: object, path: Path, position: int) -> Source:
    where = f"{path.name}: source #{position}"
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{where}: must be a mapping")
    key = raw.get("key")
    if isinstance(key, str) and key:
        where = f"{path.name}: source {key!r}"
    missing = [k for k in _SOURCE_REQUIRED if k not in raw]
    if missing:
        raise KnowledgeBaseError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_SOURCE_REQUIRED) - set(_SOURCE_OPTIONAL))
    if unknown:
        raise KnowledgeBaseError(f"{where}: unknown field(s) {', '.join(unknown)}")

    def text(name: str, *, required: bool) -> str | None:
        value = raw.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not " ".join(value.split()):
            raise KnowledgeBaseError(f"{where}: {name!r} must be a non-empty string")
        return " ".join(value.split())

    key = text("key", required=True) or ""
    if not _ID_RE.match(key):
        raise KnowledgeBaseError(f"{where}: key must be lower-case words joined by '-'")
    raw_date = raw.get("date")
    date = " ".join(raw_date.split()) if isinstance(raw_date, str) else None
    if raw_date is not None and (date is None or not _DATE_RE.match(date)):
        # YAML reads 2024-10-17 (and a bare 2022) as a date or a number, not as text.
        raise KnowledgeBaseError(
            f"{where}: 'date' must read like '17 Oct 2025', 'Sep 2024' or '2022' (quote a "
            f"bare year), got {raw_date!r}"
        )
    address = text("address", required=False)
    also_at = raw.get("also_at") or []
    if not isinstance(also_at, list) or not all(isinstance(a, str) for a in also_at):
        raise KnowledgeBaseError(f"{where}: 'also_at' must be a list of URLs")
    for url in (address, *also_at):
        if url is not None and not _URL_RE.match(url):
            raise KnowledgeBaseError(f"{where}: addresses must be http(s) URLs, got {url!r}")
    return Source(
        key=key,
        issuer=text("issuer", required=True) or "",
        title=text("title", required=True) or "",
        date=date,
        address=address,
        also_at=tuple(also_at),
        note=text("note", required=False),
    )


def _parse_categories(value: object, path: Path) -> tuple[str, ...]:
    items = _as_list(value, path, "categories")
    if not items or not all(isinstance(c, str) and c.strip() for c in items):
        raise KnowledgeBaseError(f"{path.name}: 'categories' must be non-empty strings")
    if len(set(items)) != len(items):
        raise KnowledgeBaseError(f"{path.name}: duplicate category")
    return tuple(c.strip() for c in items)


def _parse_lexicon(data: Mapping[str, Any], path: Path) -> Lexicon:
    synonyms = data.get("synonyms") or {}
    if not isinstance(synonyms, dict) or not all(
        _is_word(k) and _is_word(v) for k, v in synonyms.items()
    ):
        raise KnowledgeBaseError(f"{path.name}: 'synonyms' must map words to words")

    def words(key: str) -> frozenset[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(_is_word(w) for w in value):
            raise KnowledgeBaseError(f"{path.name}: {key!r} must be a list of words")
        return frozenset(str(w) for w in value)

    return Lexicon(
        synonyms={str(k): str(v) for k, v in synonyms.items()},
        stopwords=words("stopwords"),
        signal_words=words("signal_words"),
        weak_signal_words=words("weak_signal_words"),
        offtopic_words=words("offtopic_words"),
    )


def _is_word(value: object) -> bool:
    # YAML 1.1 reads bare on/off/yes/no as booleans; refuse them rather than index "True".
    return isinstance(value, str | int) and not isinstance(value, bool)
