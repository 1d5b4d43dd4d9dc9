"""The FAQ knowledge base: required topics, answer quality rules and loader validation."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from faq.kb import DATA_DIR, KnowledgeBase, KnowledgeBaseError, load_knowledge_base

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


def test_related_ids_exist(kb):
    for entry in kb.entries:
        assert entry.related, entry.id
        for rel in entry.related:
            assert kb.get(rel) is not None, (entry.id, rel)


# --- sources ---------------------------------------------------------------------------


def raw_source_keys() -> dict[str, list[str]]:
    """Entry id -> the source keys exactly as written in the data files."""
    keys: dict[str, list[str]] = {}
    for path in sorted(DATA_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in data.get("entries", []):
            keys[raw["id"]] = raw["sources"]
    return keys


def test_every_citation_is_a_key_that_resolves(kb):
    raw = raw_source_keys()
    assert set(raw) == {e.id for e in kb.entries}
    for entry in kb.entries:
        assert raw[entry.id], entry.id
        for key in raw[entry.id]:
            assert not key.startswith("http"), (entry.id, key)
            assert key in kb.sources, (entry.id, key)
        assert entry.source_keys == tuple(raw[entry.id])
        assert [c.key for c in entry.citations] == raw[entry.id]
        # What handlers show: one readable citation per source, in the same order.
        assert entry.sources == tuple(c.citation for c in entry.citations)


def test_every_source_is_cited_at_least_once(kb):
    cited = {key for entry in kb.entries for key in entry.source_keys}
    assert sorted(set(kb.sources) - cited) == []


def test_sources_have_issuer_title_and_a_usable_address(kb):
    assert len(kb.sources) >= 8
    for key, source in kb.sources.items():
        assert source.key == key
        assert source.issuer and source.title, key
        if source.address is not None:
            assert re.match(r"^https?://[^\s/]+\.[a-z]{2,}", source.address), key
            assert source.citation == f"{source.label}: {source.address}"
        else:
            assert source.citation == source.label


def test_the_seed_answers_cite_the_seed_document(kb):
    seed = kb.sources["gstn-additional-faq-2024"]
    assert seed.citation == "GSTN, Additional FAQ on IMS, 17 Oct 2024"
    assert seed.address is None
    for n in range(1, 12):
        entry = kb.get(f"additional-faq-{n}")
        assert entry is not None
        assert entry.source_keys[0] == "gstn-additional-faq-2024", entry.id
        assert entry.sources[0] == "GSTN, Additional FAQ on IMS, 17 Oct 2024"


def test_the_oct_2025_faq_is_not_cited_for_what_it_does_not_say(kb):
    """The GSTN FAQ of 17 Oct 2025 covers the Oct 2025 changes only, not IMS basics."""
    oct_2025 = "gstn-ims-changes-faq-2025"
    basics = (
        "what-is-ims",
        "how-to-access-ims",
        "ims-start-date",
        "additional-faq-1",
        "additional-faq-4",
        "after-3b-filed",
        "gstr3b-due-date",
        "itc-time-limit",
    )
    for entry_id in basics:
        entry = kb.get(entry_id)
        assert entry is not None
        assert oct_2025 not in entry.source_keys, entry_id
    for entry_id in ("pending-credit-note", "itc-reduction-declaration", "remarks"):
        entry = kb.get(entry_id)
        assert entry is not None
        assert oct_2025 in entry.source_keys, entry_id
    wrongly_rejected = kb.get("wrongly-rejected-after-3b")
    assert wrongly_rejected is not None
    assert "gstn-rejected-records-faq-2025" in wrongly_rejected.source_keys
    s16_4 = kb.get("pending-invoice")
    assert s16_4 is not None and "cgst-act-s16-4" in s16_4.source_keys


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


# Issue 10: answers a practitioner found wrong or misleading. Each test fails on the old text.


def answer_of(kb: KnowledgeBase, entry_id: str) -> str:
    entry = kb.get(entry_id)
    assert entry is not None, entry_id
    return entry.answer


@pytest.mark.parametrize("entry_id", ["pending-invoice", "additional-faq-6", "itc-time-limit"])
def test_s16_4_is_a_gstr3b_filed_by_30_nov_or_the_annual_return(kb, entry_id):
    text = answer_of(kb, entry_id)
    assert "annual return" in text
    assert "GSTR-3B filed by 30 November" in text
    assert "October GSTR-3B" in text and "Jul–Sep" in text


def test_pending_invoice_says_when_pending_stops_and_that_the_itc_is_lost(kb):
    text = answer_of(kb, "pending-invoice")
    assert "no longer offers to keep" in text
    assert "no ITC" in text and "time-barred" in text
    assert "tell the bot when you filed your annual return" in text
    assert "no ITC" in answer_of(kb, "additional-faq-6")


def test_proportionate_reversal_is_a_partial_declaration(kb):
    text = answer_of(kb, "additional-faq-7")
    assert "Rules 42 and 43" in text and "partial" in text
    assert "nil" in text and "fully reversed" in text


def test_saved_records_can_be_acted_on_but_reach_gstr2b_once_filed(kb):
    appear = answer_of(kb, "when-records-appear")
    assert "saves" in appear and "only once the supplier files it" in appear
    assert "upward amended" in appear  # seed FAQ 8: the exception
    accept = answer_of(kb, "effect-of-accept")
    assert "filed" in accept
    assert "₹18,000" in accept and "₹9,000" in accept  # amendments count by their change
    assert "17(5)" in accept and "ineligible" in accept  # acceptance makes nothing eligible


@pytest.mark.parametrize("entry_id", ["pending-credit-note", "pending-option-blocked"])
def test_which_credit_note_records_may_be_pending_from_oct_2025(kb, entry_id):
    text = answer_of(kb, entry_id)
    assert "upward credit-note amendments" in text
    assert "credit note you rejected" in text
    assert "one tax period" in text and "GSTR-3B due date" in text
    # ims-facts §6: the accepted-CN case is not on GSTN's list.
    assert "not on GSTN's list" in text and "portal's flag" in text
    assert "reading" in text  # said as a reading, the way the rules module refuses it


def test_what_is_ims_promises_no_correct_itc(kb):
    text = answer_of(kb, "what-is-ims")
    assert "is correct" not in text
    assert "does not check whether the ITC is eligible" in text


def test_re_reporting_after_3b_is_within_the_time_limit(kb):
    text = answer_of(kb, "wrongly-rejected-after-3b")
    assert "GSTR-1A" in text and "Section 16(4)" in text and "re-reported" in text


def test_uncertain_points_are_presented_as_uncertain(kb):
    remarks = answer_of(kb, "remarks")
    assert "practitioners" in remarks and "differ" in remarks and "flag" in remarks
    not_in_ims = answer_of(kb, "records-not-in-ims")
    assert "ISD" in not_in_ims and "not settled" in not_in_ims
    delayed = answer_of(kb, "draft-2b-delayed")
    assert "reported" in delayed and "not as a rule" in delayed
    assert not delayed.startswith("The draft GSTR-2B waits")


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
    sources: [sky-book]
    related: [{related}]
"""

SOURCES = """\
sources:
  - key: sky-book
    issuer: Met Office
    title: The Sky
    date: 17 Oct 2024
    address: https://example.org/sky
  - key: sky-note
    issuer: Met Office
    title: A note on the sky
"""


def write_kb(
    tmp_path: Path, body: str, name: str = "entries.yaml", sources: str | None = SOURCES
) -> Path:
    (tmp_path / name).write_text(body, encoding="utf-8")
    if sources is not None and name != "sources.yaml":
        (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    return tmp_path


def test_a_valid_tiny_knowledge_base_loads(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-a", related="sky-b")
    body += GOOD_ENTRY.format(id="sky-b", related="sky-a")
    kb = load_knowledge_base(write_kb(tmp_path, body))
    assert [e.id for e in kb.entries] == ["sky-a", "sky-b"]
    assert kb.get("sky-a") is not None and kb.get("nope") is None
    assert kb.categories() == ("Basics",)
    entry = kb.get("sky-a")
    assert entry is not None
    assert entry.source_keys == ("sky-book",)
    assert entry.sources == ("Met Office, The Sky, 17 Oct 2024: https://example.org/sky",)
    assert entry.citations == (kb.sources["sky-book"],)


def test_a_source_without_address_or_date_reads_as_its_name(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-a", related="").replace(
        "sources: [sky-book]", "sources: [sky-note, sky-book]"
    )
    entry = load_knowledge_base(write_kb(tmp_path, body)).get("sky-a")
    assert entry is not None
    assert entry.sources[0] == "Met Office, A note on the sky"
    assert entry.citations[0].address is None and entry.citations[0].date is None


def test_unknown_source_key_names_the_file_and_entry(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-a", related="").replace(
        "sources: [sky-book]", "sources: [sky-book, sky-rumour]"
    )
    with pytest.raises(
        KnowledgeBaseError,
        match=r"cite\.yaml: entry 'sky-a': unknown source 'sky-rumour' \(not in sources\.yaml\)",
    ):
        load_knowledge_base(write_kb(tmp_path, body, "cite.yaml"))


def test_a_citation_without_a_sources_file_is_an_error(tmp_path):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-a", related="")
    with pytest.raises(
        KnowledgeBaseError, match=r"e\.yaml: entry 'sky-a': unknown source 'sky-book' \(no "
    ):
        load_knowledge_base(write_kb(tmp_path, body, "e.yaml", sources=None))


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (SOURCES + "  - key: sky-book\n    issuer: X\n    title: Y\n", "'sky-book': duplicate"),
        (
            SOURCES.replace("    issuer: Met Office\n    title: The Sky\n", "    title: T\n"),
            "'sky-book': missing field(s) issuer",
        ),
        (SOURCES.replace("date: 17 Oct 2024", "date: 2024-10-17"), "'date' must read like"),
        (
            SOURCES.replace("address: https://example.org/sky", "address: example.org"),
            "must be http(s) URLs",
        ),
        (SOURCES.replace("address: https", "url: https"), "unknown field(s) url"),
        (SOURCES.replace("key: sky-book", "key: Sky Book"), "key must be lower-case"),
    ],
)
def test_bad_sources_table_is_refused(tmp_path, sources, message):
    body = "entries:\n" + GOOD_ENTRY.format(id="sky-a", related="")
    with pytest.raises(KnowledgeBaseError, match=rf"sources\.yaml: .*{re.escape(message)}"):
        load_knowledge_base(write_kb(tmp_path, body, sources=sources))


def test_a_second_sources_file_is_refused(tmp_path):
    write_kb(tmp_path, "entries:\n" + GOOD_ENTRY.format(id="sky-a", related=""))
    (tmp_path / "more_sources.yaml").write_text(SOURCES, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"sources\.yaml: a second 'sources' file"):
        load_knowledge_base(tmp_path)


def test_missing_field_names_the_file_and_entry(tmp_path):
    body = textwrap.dedent(
        """\
        entries:
          - id: lost-answer
            category: Basics
            question: Where is the answer?
            variants: [answer gone]
            sources: [sky-book]
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
        ("sources: [sky-book]", "sources: [https://example.org/sky]", "sources must be keys"),
        ("sources: [sky-book]", "sources: [sky-book, sky-book]", "'sky-book' cited twice"),
        ("sources: [sky-book]", "sources: []", "'sources' must not be empty"),
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
