"""Latency of the FAQ matcher: median and p99 per question.

Two knowledge bases: the real one (faq/data) and a synthetic one of 10,000 entries built
here from the real vocabulary. Each figure is printed beside one bare
``rapidfuzz.process.extractOne`` over the same question texts (all questions + variants),
the cheapest thing a matcher could do; the ratio is the figure to watch.

    .venv/bin/python bench/faq_latency.py [--entries 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from faq.kb import KnowledgeBase, load_knowledge_base
from faq.matcher import Matcher

EVAL_SET = Path(__file__).with_name("data") / "faq_eval.yaml"


def questions() -> list[str]:
    data = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))
    return [item["q"] for item in data["questions"]]


def synthetic_kb(real: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """``size`` entries whose texts are shuffled recombinations of the real words."""
    rng = random.Random(seed)
    texts = [t for e in real.entries for t in (e.question, *e.variants)]
    words = sorted({w for t in texts for w in t.lower().split()})
    entries = []
    for n in range(size):
        base = real.entries[n % len(real.entries)]

        def phrase(lo: int = 3, hi: int = 9) -> str:
            return " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))

        variants = tuple(
            rng.choice(texts) + " " + phrase(1, 3) if rng.random() < 0.5 else phrase()
            for _ in range(12)
        )
        entries.append(
            replace(
                base,
                id=f"synthetic-{n:05d}",
                question=phrase(),
                variants=variants,
                keywords=tuple(rng.choice(words) for _ in range(5)),
                related=(),
            )
        )
    return replace(real, entries=tuple(entries))


def timings(fn: Callable[[str], object], qs: Sequence[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        for q in qs:
            t0 = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t0) * 1000.0)
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def report(name: str, kb: KnowledgeBase, qs: Sequence[str], repeat: int) -> None:
    t0 = time.perf_counter()
    matcher = Matcher(kb)
    build_ms = (time.perf_counter() - t0) * 1000.0
    choices = [t.lower() for e in kb.entries for t in (e.question, *e.variants)]

    def bare(q: str) -> object:
        return process.extractOne(q.lower(), choices, scorer=fuzz.WRatio)

    matcher.match(qs[0])  # warm-up
    # `decide`, not `match`: match remembers each question's decision, so repeats would
    # time the cache. This is the cost of a question the matcher has not seen.
    ours = timings(matcher.decide, qs, repeat)
    base = timings(bare, qs, repeat)
    m_med, b_med = statistics.median(ours), statistics.median(base)
    m_p99, b_p99 = p99(ours), p99(base)
    print(
        f"{name}: {len(kb.entries)} entries, {len(choices)} texts, index built in {build_ms:.0f} ms"
    )
    print(f"  matcher            median {m_med:7.3f} ms   p99 {m_p99:7.3f} ms")
    print(f"  bare extractOne    median {b_med:7.3f} ms   p99 {b_p99:7.3f} ms")
    print(f"  ratio matcher/bare median {m_med / b_med:7.2f}x    p99 {m_p99 / b_p99:7.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    qs = questions()
    real = load_knowledge_base()
    print(f"{len(qs)} questions from {EVAL_SET.name}, each timed {args.repeat}x")
    report("real KB", real, qs, args.repeat)
    report("synthetic KB", synthetic_kb(real, args.entries), qs, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
