"""The FAQ knowledge base: required topics, answer quality rules and loader validation."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from faq.kb import KnowledgeBase, KnowledgeBaseError, load_knowledge_base

# Every topic id of /work/shared/domain/faq-topics.md, hard-coded on purpose: the data
# must not be able to drop a required topic silently.
REQUIRED_IDS = (
    "additional-faq-1",
    "additional-faq-2",
    "additional-faq-3",
    "additional-faq-4",
    "additional-faq-5",
    "additional-faq-6",
    "additional-faq-7",
    "additional-faq-8",
    "additional-faq-9",
    "additional-faq-10",
    "additional-faq-11",
    "what-is-ims",
    "how-to-access-ims",
    "ims-start-date",
    "when-records-appear",
    "records-not-in-ims",
    "actions-available",
    "change-action",
    "draft-2b-on-14th",
    "recompute-2b",
    "after-3b-filed",
    "effect-of-accept",
    "effect-of-reject",
    "pending-invoice",
    "pending-credit-note",
    "itc-reduction-declaration",
    "remarks",
    "wrongly-rejected-after-3b",
    "edited-by-supplier",
    "qrmp-recipient",
    "gstr3b-due-date",
    "itc-time-limit",
    "import-of-goods",
    "supplier-view",
)

# Claims of ims-facts.md §6 that no answer may make (lower-case fragments).
UNCERTAIN_CLAIMS = (
    "mandatory from 1 april 2026",
    "mandatory from april 2026",
    "mandatory from 1 apr 2026",
    "compulsory from 1 april 2026",
    "auto-rejected",
    "auto rejected",
    "automatically rejected",
    "rejected after 30 days",
    "deemed rejected",
)

_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def count_sentences(text: str) -> int:
    return len(_SENTENCE_END.findall(text.strip()))


def test_every_required_topic_id_is_present(kb):
    missing = [i for i in REQUIRED_IDS if kb.get(i) is None]
    assert missing == []


def test_entries_are_sorted_by_id_and_unique(kb):
    ids = [e.id for e in kb.entries]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("entry_id", REQUIRED_IDS)
def test_required_entry_answers_in_two_to_six_short_sentences(kb, entry_id):
    entry = kb.get(entry_id)
    assert entry is not None
    assert 2 <= count_sentences(entry.answer) <= 6, entry.answer
    assert len(entry.answer) < 1000


def test_every_answer_is_two_to_six_plain_sentences_under_1000_chars(kb):
    bad = [
        e.id
        for e in kb.entries
        if not 2 <= count_sentences(e.answer) <= 6
        or len(e.answer) >= 1000
        or re.search(r"</?[a-z][^>]*>", e.answer)
    ]
    assert bad == []


def test_sentence_counter_is_not_fooled():
    assert count_sentences("One. Two! Three?") == 3
    assert count_sentences("Only one sentence here.") == 1


def test_related_ids_exist_and_sources_are_urls(kb):
    for entry in kb.entries:
        assert entry.related, entry.id
        for rel in entry.related:
            assert kb.get(rel) is not None, (entry.id, rel)
        assert entry.sources, entry.id
        for src in entry.sources:
            assert re.match(r"^https?://[^\s/]+\.[a-z]{2,}", src), (entry.id, src)


def test_no_answer_states_an_uncertain_claim(kb):
    for entry in kb.entries:
        text = entry.answer.casefold()
        for claim in UNCERTAIN_CLAIMS:
            assert claim not in text, (entry.id, claim)


def test_rumour_questions_are_answered_with_deemed_acceptance(kb):
    entry = kb.get("additional-faq-4")
    assert entry is not None
    assert "deemed accepted" in entry.answer
    assert "not mandatory" in entry.answer


def test_categories_are_few_and_in_display_order(kb):
    cats = kb.categories()
    assert 1 < len(cats) <= 8
    assert cats[0] == "Basics"
    assert sum(len(kb.in_category(c)) for c in cats) == len(kb.entries)
    assert kb.in_category("No such category") == ()


def test_entries_carry_many_variants(kb):
    thin = [e.id for e in kb.entries if len(e.variants) < 8]
    assert thin == []


def test_applies_from_marks_the_oct_2025_changes(kb):
    for entry_id in ("pending-credit-note", "itc-reduction-declaration", "remarks"):
        entry = kb.get(entry_id)
        assert entry is not None
        assert entry.applies_from == "2025-10"


def test_key_facts_appear_in_answers(kb):
    def answer(entry_id: str) -> str:
        entry = kb.get(entry_id)
        assert entry is not None
        return entry.answer

    assert "Services > Returns > Invoice Management System" in answer("how-to-access-ims")
    assert "14 Nov 2024" in answer("additional-faq-2")
    assert "next tax period" in answer("additional-faq-11")
    assert "20th" in answer("gstr3b-due-date") and "24th" in answer("gstr3b-due-date")
    assert "30 November" in answer("itc-time-limit")
    assert "cannot reject" in answer("import-of-goods")
    assert "250 characters" in answer("remarks")


def test_importing_faq_reads_no_file(monkeypatch):
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("faq read a file at import time")

    for name in [m for m in sys.modules if m == "faq" or m.startswith("faq.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(Path, "read_text", refuse)
    monkeypatch.setattr(Path, "glob", refuse)
    monkeypatch.setattr(yaml, "safe_load", refuse)
    monkeypatch.setattr("builtins.open", refuse)
    importlib.import_module("faq")
    importlib.import_module("faq.matcher")
    importlib.import_module("faq.ask")


# --- loader validation ---------------------------------------------------------------

GOOD_ENTRY = """\
  - id: {id}
    category: Basics
    question: What is the colour of the sky?
    variants: [sky colour, colour of sky]
    answer: It is blue. Mostly.
    sources: [https://example.org/sky]
    related: [{related}]
"""


def write_kb(tmp_path: Path, body: str, name: str = "entries.yaml") -> Path:
    (tmp_path / name).write_text(body, encoding="utf-8")
    return tmp_path


def test_a_valid_tiny_knowledge_base_loads(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-a", related="sky-b")
    body += GOOD_ENTRY.format(id="sky-b", related="sky-a")
    kb = load_knowledge_base(write_kb(tmp_path, body))
    assert [e.id for e in kb.entries] == ["sky-a", "sky-b"]
    assert kb.get("sky-a") is not None and kb.get("nope") is None
    assert kb.categories() == ("Basics",)


def test_missing_field_names_the_file_and_entry(tmp_path):
    body = textwrap.dedent(
        """\
        entries:
          - id: lost-answer
            category: Basics
            question: Where is the answer?
            variants: [answer gone]
            sources: [https://example.org/x]
        """
    )
    with pytest.raises(KnowledgeBaseError, match=r"broken\.yaml.*lost-answer.*answer"):
        load_knowledge_base(write_kb(tmp_path, body, "broken.yaml"))


def test_entry_without_id_is_named_by_position(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="first-one", related="")
    body += "  - category: Basics\n    question: No id?\n"
    with pytest.raises(KnowledgeBaseError, match=r"noid\.yaml: entry #2: missing field\(s\) id"):
        load_knowledge_base(write_kb(tmp_path, body, "noid.yaml"))


def test_duplicate_id_names_both_files(tmp_path):
    write_kb(tmp_path, "entries:\n" + GOOD_ENTRY.format(id="twin", related=""), "a.yaml")
    write_kb(tmp_path, "entries:\n" + GOOD_ENTRY.format(id="twin", related=""), "b.yaml")
    with pytest.raises(KnowledgeBaseError, match=r"b\.yaml: entry 'twin': duplicate id.*a\.yaml"):
        load_knowledge_base(tmp_path)


def test_unknown_related_id_names_the_file_and_entry(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="lonely", related="ghost-entry")
    with pytest.raises(KnowledgeBaseError, match=r"rel\.yaml: entry 'lonely'.*'ghost-entry'"):
        load_knowledge_base(write_kb(tmp_path, body, "rel.yaml"))


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        ("answer: It is blue. Mostly.", "answer: '   '", "'answer' must not be empty"),
        ("variants: [sky colour, colour of sky]", "variants: sky colour", "'variants' must be"),
        ("sources: [https://example.org/sky]", "sources: [not a url]", "sources must be"),
        ("category: Basics", "category: Weather", "unknown category 'Weather'"),
        ("answer: It is blue. Mostly.", "answer: <b>Blue</b>. Yes.", "plain text"),
    ],
)
def test_bad_field_values_are_refused(tmp_path, line, replacement, message):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-bad", related="").replace(line, replacement)
    write_kb(tmp_path, "categories: [Basics]\n", "categories.yaml")
    with pytest.raises(
        KnowledgeBaseError, match=rf"e\.yaml: entry 'sky-bad': .*{re.escape(message)}"
    ):
        load_knowledge_base(write_kb(tmp_path, body, "e.yaml"))


def test_unknown_data_file_shape_is_refused(tmp_path):
    write_kb(tmp_path, "entries:\n" + GOOD_ENTRY.format(id="fine", related=""))
    write_kb(tmp_path, "stuff: [1, 2]\n", "odd.yaml")
    with pytest.raises(KnowledgeBaseError, match=r"odd\.yaml: unknown data file"):
        load_knowledge_base(tmp_path)


def test_invalid_yaml_names_the_file(tmp_path):
    with pytest.raises(KnowledgeBaseError, match=r"bad\.yaml: invalid YAML"):
        load_knowledge_base(write_kb(tmp_path, "entries: [\n  - id: x\n", "bad.yaml"))


def test_yaml_booleans_in_the_lexicon_are_refused(tmp_path):
    write_kb(tmp_path, "entries:\n" + GOOD_ENTRY.format(id="fine", related=""))
    write_kb(tmp_path, "stopwords: [a, on]\n", "lexicon.yaml")
    with pytest.raises(KnowledgeBaseError, match=r"lexicon\.yaml: 'stopwords'"):
        load_knowledge_base(tmp_path)


def test_empty_directory_is_an_error(tmp_path):
    with pytest.raises(KnowledgeBaseError, match=r"no \*\.yaml"):
        load_knowledge_base(tmp_path)
