"""Match a taxpayer's free-text question to a knowledge-base entry.

Pipeline (built once per knowledge base, then cheap per question):

1. **Normalise** (Unicode-safe): NFKC, casefold, keep letters, digits and combining marks
   of any script (Devanagari survives), everything else becomes a space.
2. **Rewrite** with the lexicon: longest-phrase synonyms ("cn" -> "credit note",
   "kab" -> "when"), a light plural fold, stop words dropped. Unknown query words are
   typo-corrected against the index vocabulary ("recompte" -> "recompute").
3. **Candidate recall** through an inverted index weighted by IDF, so that words every
   entry shares ("ims", "gstr2b") count little and a rare word ("boe") counts a lot.
4. **Re-rank** the top candidates with rapidfuzz scorers over their question, variants and
   keywords (``process.cdist`` on pre-processed strings), blended with IDF coverage.
5. **Decide**: no IMS signal word -> decline; a clear winner -> answer; close or weak ->
   "did you mean"; else decline.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz, process

from faq.kb import FaqEntry, KnowledgeBase, Lexicon

# Decision thresholds on the 0-100 blended score, tuned on bench/data/faq_eval.yaml.
ANSWER_THRESHOLD = 50.0
CONFIDENT_THRESHOLD = 90.0  # above this, answer even when the runner-up is close
ANSWER_MARGIN = 1.0  # best minus runner-up to answer below CONFIDENT_THRESHOLD (others shown)
SHORT_MARGIN = 5.0  # the same for a one-word question ("pending"), which is rarely clear-cut
SUGGEST_THRESHOLD = 40.0
LONG_QUERY_TOKENS = 8  # content tokens from which a question counts as long
LONG_ANSWER_THRESHOLD = 42.0  # a long question's answer threshold, with LONG_MARGIN lead
LONG_MARGIN = 8.0
WEAK_SIGNAL_THRESHOLD = 70.0  # needed when the only IMS words are weak ("invoice")
MAX_SUGGESTIONS = 3
CANDIDATES = 60  # entries re-ranked with the (slower) fuzzy scorers
TYPO_CUTOFF = 85.0
OFFTOPIC_THRESHOLD = 90.0  # needed when the question names a neighbouring topic ("refund")
UNKNOWN_WEIGHT = 0.5  # IDF share of a word no entry uses (fillers, names, rare typos)
#: Decisions remembered per normalised question (the KB is fixed once a Matcher is built;
#: people ask the same few questions over and over). Oldest forgotten first past this.
MATCH_CACHE_SIZE = 4096

SCORERS = (fuzz.token_set_ratio, fuzz.token_sort_ratio)

_MAX_PHRASE = 5  # longest synonym key, in words, that the rewriter looks for


class Decision(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    DECLINE = "decline"


@dataclass(frozen=True)
class MatchResult:
    query: str
    decision: Decision
    entry: FaqEntry | None  # set only for ANSWER
    score: float  # 0-100, the best candidate's score
    suggestions: tuple[FaqEntry, ...] = field(default=())

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "id": self.entry.id if self.entry is not None else None,
            "score": round(self.score, 1),
            "answer": self.entry.answer if self.entry is not None else None,
            "suggestions": [e.id for e in self.suggestions],
        }


def normalize(text: str) -> str:
    """NFKC + casefold; keep letters, digits and marks of every script; collapse spaces.

    rapidfuzz's ``default_process`` would strip Devanagari vowel signs (category Mn/Mc),
    so this is done by hand.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    # Apostrophes join ("supplier's" -> "suppliers"); other punctuation separates.
    text = text.replace("'", "").replace("\u2019", "")
    out = [ch if unicodedata.category(ch)[0] in "LNM" else " " for ch in text]
    return " ".join("".join(out).split())


class Normalizer:
    """Text -> canonical tokens using a :class:`Lexicon`."""

    def __init__(self, lexicon: Lexicon) -> None:
        self._synonyms: dict[tuple[str, ...], tuple[str, ...]] = {}
        for key, value in lexicon.synonyms.items():
            k = tuple(normalize(key).split())
            if k:
                self._synonyms[k] = tuple(_fold(w) for w in normalize(value).split())
        self._max_phrase = min(_MAX_PHRASE, max((len(k) for k in self._synonyms), default=1))
        raw_stop = {normalize(w) for w in lexicon.stopwords}
        # Both spellings, because stop words are dropped after folding ("mornings").
        self.stopwords = frozenset(raw_stop | {_fold(w) for w in raw_stop})
        self.single_word_synonyms = {k[0]: v for k, v in self._synonyms.items() if len(k) == 1}
        # Every word the lexicon knows is a valid spelling for the typo corrector.
        self.raw_words = frozenset(
            {w for k in self._synonyms for w in k}
            | {w for w in raw_stop}
            | {normalize(w) for v in lexicon.synonyms.values() for w in v.split()}
        )

    def expand(self, words: list[str]) -> list[str]:
        """Apply synonyms, longest phrase first, then fold plurals; keep stop words."""
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._max_phrase, len(words) - i), 0, -1):
                replacement = self._synonyms.get(tuple(words[i : i + size]))
                if replacement is not None:
                    out.extend(replacement)
                    i += size
                    break
            else:
                out.append(_fold(words[i]))
                i += 1
        return _mark_switch(out)

    def tokens(self, text: str) -> list[str]:
        return [w for w in self.expand(normalize(text).split()) if w not in self.stopwords]


_ACTION_WORDS = frozenset({"accept", "reject", "pend"})
_SWITCH_WORDS = frozenset({"se", "to", "into", "ab", "now", "instead", "then", "again"})
_SWITCH_GAP = 6


def _mark_switch(words: list[str]) -> list[str]:
    """Add "change" when one action word leads to another ("pending se accept",
    "accepted, now want to reject"): the question is about changing an action."""
    if "chang" in words:
        return words
    last = -1
    for i, w in enumerate(words):
        if w not in _ACTION_WORDS:
            continue
        if (
            last >= 0
            and words[last] != w
            and i - last <= _SWITCH_GAP
            and _SWITCH_WORDS.intersection(words[last + 1 : i])
        ):
            return [*words, "chang"]
        last = i
    return words


def _fold(word: str) -> str:
    """A deliberately small English suffix folder, applied alike to data and questions.

    It only has to make "rejected"/"rejecting", "shows"/"showing" and
    "generate"/"generated" meet; irregular words go through the synonym table.
    """
    if len(word) <= 4 or not word.isalpha() or not word.isascii():
        return word
    if word.endswith("ing") and len(word) - 3 >= 4:
        word = word[:-3]
    elif word.endswith("ed") and len(word) - 2 >= 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return word


@dataclass(frozen=True)
class _Candidate:
    index: int
    score: float


class Matcher:
    """Builds the index for one knowledge base; ``match`` is then read-only and fast."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._entries = kb.entries
        self._decided: dict[str, MatchResult] = {}
        self._norm = Normalizer(kb.lexicon)
        self._signal = self._canonical_words(kb.lexicon.signal_words)
        self._weak_signal = self._canonical_words(kb.lexicon.weak_signal_words)
        self._offtopic = self._canonical_words(kb.lexicon.offtopic_words)

        strings: list[str] = []
        owner: list[int] = []
        vocab_per_entry: list[set[str]] = []
        self._keyword_vocab: list[frozenset[str]] = []
        for idx, entry in enumerate(self._entries):
            vocab: set[str] = set()
            self._keyword_vocab.append(
                frozenset(t for kw in entry.keywords for t in self._norm.tokens(kw))
            )
            vocab.update(self._keyword_vocab[-1])
            for text in (entry.question, *entry.variants):
                toks = self._norm.tokens(text)
                vocab.update(toks)
                if toks:
                    strings.append(" ".join(toks))
                    owner.append(idx)
            vocab_per_entry.append(vocab)
        self._strings = strings
        # String indices of each entry (contiguous, because strings were built in order).
        self._spans: list[tuple[int, int]] = []
        start = 0
        for idx in range(len(self._entries)):
            end = start
            while end < len(owner) and owner[end] == idx:
                end += 1
            self._spans.append((start, end))
            start = end

        n = len(self._entries)
        df: dict[str, int] = {}
        for vocab in vocab_per_entry:
            for tok in vocab:
                df[tok] = df.get(tok, 0) + 1
        self._idf = {tok: math.log(1.0 + n / count) for tok, count in df.items()}
        self._unknown_idf = UNKNOWN_WEIGHT * math.log(1.0 + n)
        postings: dict[str, list[int]] = {}
        for i, vocab in enumerate(vocab_per_entry):
            for tok in vocab:
                postings.setdefault(tok, []).append(i)
        self._postings = {tok: np.asarray(ids, dtype=np.int64) for tok, ids in postings.items()}
        kw_postings: dict[str, list[int]] = {}
        for i, kw in enumerate(self._keyword_vocab):
            for tok in kw:
                kw_postings.setdefault(tok, []).append(i)
        self._kw_postings = {
            tok: np.asarray(ids, dtype=np.int64) for tok, ids in kw_postings.items()
        }
        raw: set[str] = set(self._norm.raw_words)
        for entry in self._entries:
            for text in (entry.question, *entry.variants, *entry.keywords):
                raw.update(normalize(text).split())
        self._raw_vocab = frozenset(raw)
        by_initial: dict[str, list[str]] = {}
        for w in sorted(raw):
            if len(w) >= 3 and w.isalpha():
                by_initial.setdefault(w[0], []).append(w)
        self._raw_vocab_by_initial = {k: tuple(v) for k, v in by_initial.items()}
        # String-level inverted index and IDF mass, for a vectorised weighted Dice.
        str_postings: dict[str, list[int]] = {}
        for j, text in enumerate(strings):
            for tok in set(text.split()):
                str_postings.setdefault(tok, []).append(j)
        self._str_postings = {t: np.asarray(v, dtype=np.int64) for t, v in str_postings.items()}
        self._str_mass = np.array(
            [sum(self._idf[t] for t in set(text.split())) for text in strings]
        )

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb

    def score(self, query: str, entry_id: str) -> float:
        """The 0-100 score of one entry for ``query`` (0.0 if it is not a candidate)."""
        tokens = self.query_tokens(query)
        for cand in self._rank(tokens) if tokens else ():
            if self._entries[cand.index].id == entry_id:
                return cand.score
        return 0.0

    def _canonical_words(self, words: Iterable[str]) -> frozenset[str]:
        return frozenset(tok for w in words for tok in self._norm.expand(normalize(w).split()))

    # -- query side ---------------------------------------------------------------

    def query_tokens(self, query: str) -> list[str]:
        """Canonical tokens of a question, with unknown words typo-corrected first."""
        words = [self._correct(w) for w in normalize(query).split()]
        tokens = [
            t
            for t in self._norm.expand(words)
            # An unknown bare number ("3 options") says nothing about the topic.
            if t not in self._norm.stopwords and not (t.isdigit() and t not in self._idf)
        ]
        # Keep order, drop repeats: "itc itc" should not weigh double.
        return list(dict.fromkeys(tokens))

    def _correct(self, word: str) -> str:
        # Correct before synonym expansion, so "invoce managment systm" can still meet
        # the phrase "invoice management system". Only plain words of 5+ letters: codes
        # ("gstr9") and numbers are never "corrected" into something else.
        if word in self._raw_vocab or len(word) < 5 or not word.isalpha():
            return word
        # People rarely mistype the first letter; requiring it keeps "reach" from
        # becoming "each" and "cricket" from becoming "credit".
        fixed = process.extractOne(
            word,
            self._raw_vocab_by_initial.get(word[0], ()),
            scorer=fuzz.ratio,
            score_cutoff=TYPO_CUTOFF,
        )
        if fixed is None or abs(len(fixed[0]) - len(word)) > 2:
            return word
        return fixed[0]

    def match(self, query: str) -> MatchResult:
        """The decision for `query`: the same for every question that normalises alike
        (`query_tokens` reads only `normalize(query)`), so it is computed once per KB."""
        key = normalize(query)
        decided = self._decided.get(key)
        if decided is None:
            decided = self.decide(query)
            if len(self._decided) >= MATCH_CACHE_SIZE:
                self._decided.pop(next(iter(self._decided)), None)
            self._decided[key] = decided
        return decided if decided.query == query else replace(decided, query=query)

    def decide(self, query: str) -> MatchResult:
        """`match` without its memory: the full cost of a question not seen before."""
        tokens = self.query_tokens(query)
        if not tokens:
            return MatchResult(query, Decision.DECLINE, None, 0.0, ())
        ranked = self._rank(tokens)
        if not ranked:
            return MatchResult(query, Decision.DECLINE, None, 0.0, ())
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        weak = len(self._weak_signal.intersection(tokens))
        if not self._signal.intersection(tokens) and (
            # Two weak words together ("supplier" + "invoice") are as good as one strong.
            weak < 2 and (best.score < WEAK_SIGNAL_THRESHOLD or not weak)
        ):
            # Without an IMS word the question is about something else ("income tax
            # return last date"), however well "last date" matches.
            return MatchResult(query, Decision.DECLINE, None, best.score, ())
        if best.score < OFFTOPIC_THRESHOLD and self._offtopic.intersection(tokens):
            # "late fee for gstr3b", "gst portal password reset": a neighbouring topic.
            return MatchResult(query, Decision.DECLINE, None, best.score, ())
        margin = SHORT_MARGIN if len(tokens) == 1 else ANSWER_MARGIN
        long_clear = (
            # A long, chatty question ("sir my client is a trader in surat, his supplier...")
            # spreads its weight over many side words, so its best score stays low even when
            # the winner is plain; a wide lead then suffices.
            len(tokens) >= LONG_QUERY_TOKENS
            and best.score >= LONG_ANSWER_THRESHOLD
            and best.score - runner_up >= LONG_MARGIN
        )
        if long_clear or (
            best.score >= ANSWER_THRESHOLD
            and (best.score >= CONFIDENT_THRESHOLD or best.score - runner_up >= margin)
        ):
            others = tuple(
                self._entries[c.index]
                for c in ranked[1 : 1 + MAX_SUGGESTIONS]
                if c.score >= SUGGEST_THRESHOLD
            )
            entry = self._entries[best.index]
            return MatchResult(query, Decision.ANSWER, entry, best.score, others)
        if best.score >= SUGGEST_THRESHOLD:
            close = tuple(
                self._entries[c.index]
                for c in ranked[:MAX_SUGGESTIONS]
                if c.score >= SUGGEST_THRESHOLD
            )
            return MatchResult(query, Decision.SUGGEST, None, best.score, close)
        return MatchResult(query, Decision.DECLINE, None, best.score, ())

    def _rank(self, tokens: list[str]) -> list[_Candidate]:
        weights = np.array([self._idf.get(t, self._unknown_idf) for t in tokens])
        total = float(weights.sum())
        overlap = np.zeros(len(self._entries))
        kw_overlap = np.zeros(len(self._entries))
        for tok, w in zip(tokens, weights, strict=True):
            posting = self._postings.get(tok)
            if posting is not None:
                overlap[posting] += w
            kw_posting = self._kw_postings.get(tok)
            if kw_posting is not None:
                kw_overlap[kw_posting] += w
        hit = np.flatnonzero(overlap)
        if hit.size == 0:
            return []
        if hit.size > CANDIDATES:
            # Curated keywords break the many ties that common words ("ims") leave.
            recall = overlap[hit] + 0.5 * kw_overlap[hit]
            hit = hit[np.argpartition(-recall, CANDIDATES - 1)[:CANDIDATES]]
        coverage = overlap[hit] / total

        q = " ".join(tokens)
        idx_lists = [range(*self._spans[i]) for i in hit]
        flat = np.fromiter((j for r in idx_lists for j in r), dtype=np.int64)
        choices = [self._strings[j] for j in flat]
        set_scores = process.cdist([q], choices, scorer=SCORERS[0])[0]
        sort_scores = process.cdist([q], choices, scorer=SCORERS[1])[0]
        fuzzy = 0.5 * set_scores + 0.5 * sort_scores
        # IDF-weighted Dice between the question and each string: rewards sharing the
        # rare words, not just many words.
        inter = np.zeros(len(self._strings))
        for tok, w in zip(tokens, weights, strict=True):
            posting = self._str_postings.get(tok)
            if posting is not None:
                inter[posting] += w
        dice = 200.0 * inter[flat] / (total + self._str_mass[flat])
        per_string = 0.5 * fuzzy + 0.5 * dice

        results: list[_Candidate] = []
        pos = 0
        for entry_idx, cov, r in zip(hit, coverage, idx_lists, strict=True):
            count = len(r)
            best_string = float(per_string[pos : pos + count].max()) if count else 0.0
            pos += count
            kw_cov = float(kw_overlap[entry_idx]) / total
            score = 0.5 * best_string + 0.35 * 100.0 * float(cov) + 0.15 * 100.0 * kw_cov
            results.append(_Candidate(int(entry_idx), min(100.0, score)))
        results.sort(key=lambda c: (-c.score, self._entries[c.index].id))
        return results


def tokens_for(text: str, lexicon: Lexicon) -> list[str]:
    """Canonical tokens of ``text`` without typo correction (handy in tests and tools)."""
    return Normalizer(lexicon).tokens(text)
