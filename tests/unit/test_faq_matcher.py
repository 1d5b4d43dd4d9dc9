"""The FAQ matcher: normalisation, synonyms, decisions, and the plain-text/JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from faq.ask import DECLINE_TEXT, ask_json_lines, format_answer_text
from faq.kb import KnowledgeBase, Lexicon, load_knowledge_base
from faq.matcher import Decision, Matcher, MatchResult, Normalizer, normalize, tokens_for

BENCH_DATA = Path(__file__).parents[2] / "bench" / "data"
EVAL_SET = BENCH_DATA / "faq_eval.yaml"
EXTRA_SET = BENCH_DATA / "faq_eval_extra.yaml"
BLIND_SET = BENCH_DATA / "faq_eval_blind.yaml"
BLIND2_SET = BENCH_DATA / "faq_eval_blind2.yaml"
BLIND3_SET = BENCH_DATA / "faq_eval_blind3.yaml"
BLIND4_SET = BENCH_DATA / "faq_eval_blind4.yaml"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="module")
def matcher(kb) -> Matcher:
    return Matcher(kb)


def test_normalize_keeps_devanagari_vowel_signs_and_viramas():
    # rapidfuzz's default_process would drop the matras (category Mc/Mn) of these words.
    assert normalize("क्रेडिट नोट, रिजेक्ट!") == "क्रेडिट नोट रिजेक्ट"
    assert normalize("आईएमएस क्या है?") == "आईएमएस क्या है"


def test_normalize_folds_width_case_and_punctuation():
    assert normalize("ＧＳＴＲ-2B  kab？") == "gstr 2b kab"
    assert normalize("Supplier's CN (Oct'25)") == "suppliers cn oct25"


def test_short_forms_expand_from_the_lexicon(kb):
    norm = Normalizer(kb.lexicon)
    assert norm.tokens("cn") == ["credit", "note"]
    assert norm.tokens("dn") == ["debit", "note"]
    assert norm.tokens("GSTR-2B") == norm.tokens("2b") == ["gstr2b"]
    assert norm.tokens("3b") == ["gstr3b"]
    assert norm.tokens("input tax credit") == ["itc"]
    assert norm.tokens("radd karna hai") == ["reject"]
    assert norm.tokens("manzoor") == ["accept"]


def test_meaningful_hinglish_words_survive_and_fillers_go(kb):
    norm = Normalizer(kb.lexicon)
    assert norm.tokens("2b kab banta hai") == ["gstr2b", "when", "generat"]
    assert norm.tokens("kaise") == ["how"]
    assert norm.tokens("kyun") == ["why"]
    assert norm.tokens("hai ka ki ke mein pe") == []


def test_a_tiny_lexicon_is_enough_to_build_a_matcher(kb):
    bare = KnowledgeBase(entries=kb.entries)
    assert bare.lexicon == Lexicon()
    assert Matcher(bare).match("recompute gstr-2b").decision is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ims pe action lena zaroori hai?", "additional-faq-4"),
        ("wat is ims", "what-is-ims"),
        ("invoce managment systm kya hai", "what-is-ims"),
        ("how to recompte 2b", "recompute-2b"),
        ("cn ko pending rakh sakte hai kya", "additional-faq-10"),
        ("supplier ko pata chalega maine reject kiya", "supplier-view"),
        ("3b due date for qrmp in gujarat", "gstr3b-due-date"),
        ("boe reject option", "import-of-goods"),
        ("itc reduction partial on credit note", "itc-reduction-declaration"),
        ("wrongly rejected invoice and 3b already filed", "wrongly-rejected-after-3b"),
        ("rcm invoice not in ims", "records-not-in-ims"),
        ("2b kab generate hota hai", "draft-2b-on-14th"),
        ("रिजेक्ट करने से क्या होगा", "effect-of-reject"),
    ],
)
def test_representative_questions_are_answered_with_the_right_entry(matcher, query, expected):
    result = matcher.match(query)
    assert result.decision is Decision.ANSWER, result.to_json()
    assert result.entry is not None and result.entry.id == expected
    assert 0 < result.score <= 100
    assert expected not in [e.id for e in result.suggestions]
    assert len(result.suggestions) <= 3


@pytest.mark.parametrize(
    "query",
    [
        "income tax return last date",
        "e-way bill kaise banaye",
        "hi",
        "thanks",
        "asdfgh qwerty",
        "gst rate on cement",
        "how to apply for gst registration",
        "who won the cricket match",
        "",
        "   ???   ",
    ],
)
def test_off_topic_questions_are_declined(matcher, query):
    result = matcher.match(query)
    assert result.decision is Decision.DECLINE
    assert result.entry is None


def test_an_ambiguous_question_gets_did_you_mean(matcher):
    result = matcher.match("pending")
    assert result.decision is Decision.SUGGEST
    assert result.entry is None
    ids = [e.id for e in result.suggestions]
    assert 2 <= len(ids) <= 3
    assert "pending-invoice" in ids


def test_match_result_to_json_shape(matcher):
    answered = matcher.match("cn reject kiya to supplier ki liability kab badhegi").to_json()
    assert set(answered) == {"query", "id", "score", "answer", "suggestions"}
    assert answered["id"] == "additional-faq-11"
    assert isinstance(answered["score"], float)
    assert isinstance(answered["answer"], str)
    assert all(isinstance(s, str) for s in answered["suggestions"])
    declined = matcher.match("hello").to_json()
    assert declined == {
        "query": "hello",
        "id": None,
        "score": 0.0,
        "answer": None,
        "suggestions": [],
    }


def test_format_answer_text_for_each_decision(matcher, kb):
    answered = format_answer_text(matcher.match("when is gstr 3b due"))
    assert answered.startswith("Monthly filers")
    due = kb.get("gstr3b-due-date")
    assert f"Sources: {due.sources[0]}" in answered
    assert "taxmanagementindia.com" in due.sources[0]
    suggested = format_answer_text(matcher.match("pending"))
    assert suggested.startswith("Did you mean:\n1. ")
    assert "\n2. " in suggested
    assert format_answer_text(matcher.match("asdf")) == DECLINE_TEXT
    assert "/help" in DECLINE_TEXT
    many = MatchResult("q", Decision.ANSWER, kb.get("wrongly-rejected-after-3b"), 90.0)
    first, second = many.entry.sources
    # One source a line, the second aligned under the first; a source without an address
    # (the Act) is shown by its name.
    assert f"Sources: {first}\n{' ' * 9}{second}" in format_answer_text(many)
    assert format_answer_text(many).count("https://") == 1


def test_ask_json_lines_skips_blank_lines_and_yields_compact_json(matcher):
    lines = ["ims kya hai\n", "\n", "   ", "e way bill\n"]
    out = list(ask_json_lines(matcher, lines))
    assert len(out) == 2
    assert all("\n" not in line and ": " not in line[:20] for line in out)
    first, second = (json.loads(line) for line in out)
    assert first["id"] == "what-is-ims" and first["query"] == "ims kya hai"
    assert second["id"] is None


def _eval_cases(path: Path = EVAL_SET) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]


def test_eval_set_is_big_enough_and_refers_to_known_ids(kb):
    cases = _eval_cases()
    assert len(cases) >= 170
    assert sum(1 for c in cases if c["id"] is None) >= 35
    unknown = {c["id"] for c in cases if c["id"] is not None and kb.get(c["id"]) is None}
    assert unknown == set()


@pytest.mark.parametrize(
    "path", sorted(BENCH_DATA.glob("faq_eval*.yaml")), ids=lambda p: p.name
)
def test_eval_questions_are_not_copied_from_the_variants(kb, path):
    seen = {normalize(t) for e in kb.entries for t in (e.question, *e.variants)}
    copied = [c["q"] for c in _eval_cases(path) if normalize(c["q"]) in seen]
    assert copied == []
    unknown = {c["id"] for c in _eval_cases(path) if c["id"] and kb.get(c["id"]) is None}
    assert unknown == set()


def test_eval_set_figures_do_not_regress(matcher):
    # A floor well below the bench figures: catches a broken matcher, not a tuning wobble.
    cases = _eval_cases()
    on = [(c["q"], c["id"]) for c in cases if c["id"] is not None]
    off = [c["q"] for c in cases if c["id"] is None]
    top1 = sum(
        1
        for q, i in on
        if (r := matcher.match(q)).decision is Decision.ANSWER and r.entry and r.entry.id == i
    )
    declined = sum(1 for q in off if matcher.match(q).decision is Decision.DECLINE)
    assert top1 / len(on) >= 0.85
    assert declined / len(off) >= 0.85


def test_one_action_leading_to_another_is_a_change_of_action(kb):
    norm = Normalizer(kb.lexicon)
    assert "chang" in norm.tokens("pending se accept kaise kare")
    assert "chang" in norm.tokens("accepted it, now i want to reject")
    assert "chang" not in norm.tokens("accept reject pending options")


def test_neighbouring_gst_topics_are_declined(matcher):
    for q in ("late fee for gstr3b delay", "gst portal password reset", "refund of itc"):
        assert matcher.match(q).decision is Decision.DECLINE, q


def test_devanagari_return_names_are_understood(matcher):
    result = matcher.match("जीएसटीआर 3बी की आखिरी तारीख")
    assert result.entry is not None and result.entry.id == "gstr3b-due-date"


def test_marathi_and_gujarati_fillers_go_and_meaning_words_stay(kb):
    norm = Normalizer(kb.lexicon)
    assert norm.tokens("ims mhanje kay") == ["ims", "mean"]
    assert norm.tokens("ims shu che") == ["ims"]
    assert norm.tokens("ims kuthe aahe") == ["ims", "wher"]
    assert norm.tokens("itc kyare sudhi") == ["itc", "when", "till"]
    assert norm.tokens("reject karvathi shu thay") == ["reject", "happen"]


def test_greetings_do_not_meet_goods(matcher):
    for q in ("good morning", "good evening sir"):
        assert matcher.match(q).decision is Decision.DECLINE, q


def test_generic_after_the_14th_question_is_not_pulled_to_the_oct_2024_faq(matcher):
    result = matcher.match("draft 2b aane ke baad action change kiya ab 2b kaise update hoga")
    assert result.entry is None or result.entry.id != "additional-faq-3"


def test_a_long_chatty_question_with_a_clear_winner_is_answered(matcher):
    q = (
        "hello sir my client runs a small shop in pune and his vendor has saved the bill in"
        " gstr1 without filing it, is it visible for action already"
    )
    result = matcher.match(q)
    assert result.decision is Decision.ANSWER
    assert result.entry is not None and result.entry.id == "when-records-appear"


def test_my_client_phrasing_is_not_pulled_to_the_ca_entry(kb):
    # "my client" is how consultants phrase any question; only "clients" (many) is CA work.
    assert "client" not in tokens_for("my client never opened ims", kb.lexicon)
    assert "client" in tokens_for("ims for my clients", kb.lexicon)


def test_supplier_changed_means_an_edit_not_a_change_of_action(kb):
    assert "edit" in tokens_for("the supplier changed the invoice", kb.lexicon)


def test_a_remembered_decision_is_the_decision_and_keeps_the_question_as_asked(kb):
    fresh = Matcher(kb)
    first = fresh.match("Can a credit note be kept pending?")
    again = fresh.match("can a CREDIT note be kept   pending")  # normalises alike
    assert again.query == "can a CREDIT note be kept   pending"
    assert (again.decision, again.entry, again.score, again.suggestions) == (
        first.decision, first.entry, first.score, first.suggestions
    )
    assert fresh.decide("can a CREDIT note be kept   pending") == again
