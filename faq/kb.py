"""The FAQ knowledge base: YAML data files turned into typed, validated objects once.

Nothing is read at import time; call :func:`load_knowledge_base` (for example from the
application's ``post_init``). Every structural problem raises :class:`KnowledgeBaseError`
naming the file and the entry, so a broken edit fails at start-up, not in a chat.

Data files live directly in ``faq/data/`` (the package data glob is ``data/*.yaml``) and
are told apart by their single top-level key:

* ``entries:`` — a list of FAQ entries (any number of such files);
* ``categories:`` — the browsing categories in display order (exactly one file);
* ``synonyms:`` / ``stopwords:`` / ``signal_words:`` / ``weak_signal_words:`` /
  ``offtopic_words:`` — the matcher's lexicon (one file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).with_name("data")

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_URL_RE = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
_REQUIRED = ("id", "category", "question", "variants", "answer", "sources")
_OPTIONAL = ("keywords", "related", "applies_from")
_LEXICON_KEYS = {"synonyms", "stopwords", "signal_words", "weak_signal_words", "offtopic_words"}


class KnowledgeBaseError(ValueError):
    """A data file of the knowledge base is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class FaqEntry:
    id: str
    category: str
    question: str
    variants: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    sources: tuple[str, ...]
    related: tuple[str, ...]
    applies_from: str | None = None


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
        elif keys and keys <= _LEXICON_KEYS:
            if lexicon is not None:
                raise KnowledgeBaseError(f"{path.name}: a second lexicon file")
            lexicon = _parse_lexicon(data, path)
        else:
            raise KnowledgeBaseError(
                f"{path.name}: unknown data file; expected a single top-level key "
                f"'entries', 'categories', or lexicon keys; got {sorted(keys)}"
            )

    if not entries:
        raise KnowledgeBaseError(f"{directory}: no FAQ entries found")
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
    sources = texts("sources", required=True)
    bad = [s for s in sources if not _URL_RE.match(s)]
    if bad:
        raise KnowledgeBaseError(f"{where}: sources must be http(s) URLs, got {bad[0]!r}")
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
        sources=sources,
        related=texts("related", required=False),
        applies_from=applies_from,
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
