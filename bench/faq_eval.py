"""Evaluate the FAQ matcher on bench/data/faq_eval.yaml (or the given eval files).

Prints top-1 accuracy (decision ANSWER with the expected id), top-3 accuracy (expected
id among entry + suggestions), the decline rate on off-topic questions and the rate of
wrongly declined on-topic questions. ``-v`` lists every miss.

    .venv/bin/python bench/faq_eval.py [-v] [path/to/eval.yaml ...]

With several files, each is reported in turn.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from faq.kb import load_knowledge_base
from faq.matcher import Decision, Matcher

DEFAULT_SET = Path(__file__).with_name("data") / "faq_eval.yaml"


def load_eval_set(path: Path) -> list[tuple[str, str | None]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(item["q"], item["id"]) for item in data["questions"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_SET])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)

    kb = load_knowledge_base()
    matcher = Matcher(kb)
    status = 0
    for path in args.paths:
        if len(args.paths) > 1:
            print(f"== {path.name}")
        status = max(status, evaluate(matcher, path, verbose=args.verbose))
    return status


def evaluate(matcher: Matcher, path: Path, *, verbose: bool = False) -> int:
    kb = matcher.kb
    cases = load_eval_set(path)
    unknown = sorted({i for _, i in cases if i is not None and kb.get(i) is None})
    if unknown:
        print(f"eval set refers to unknown ids: {unknown}", file=sys.stderr)
        return 2

    on_topic = [(q, i) for q, i in cases if i is not None]
    off_topic = [q for q, i in cases if i is None]
    top1 = top3 = declined_on = suggested_on = 0
    for q, expected in on_topic:
        r = matcher.match(q)
        ids = ([r.entry.id] if r.entry else []) + [e.id for e in r.suggestions]
        ok1 = r.decision is Decision.ANSWER and r.entry is not None and r.entry.id == expected
        top1 += ok1
        top3 += expected in ids[:3] or ok1
        declined_on += r.decision is Decision.DECLINE
        suggested_on += r.decision is Decision.SUGGEST
        if verbose and not ok1:
            print(f"MISS {r.decision.value:8} {r.score:5.1f} want={expected} got={ids[:3]}  {q!r}")
    declined_off = 0
    for q in off_topic:
        r = matcher.match(q)
        declined_off += r.decision is Decision.DECLINE
        if verbose and r.decision is not Decision.DECLINE:
            got = r.entry.id if r.entry else [e.id for e in r.suggestions]
            print(f"OFF  {r.decision.value:8} {r.score:5.1f} got={got}  {q!r}")

    n_on, n_off = len(on_topic), len(off_topic)
    print(
        f"knowledge base: {len(kb.entries)} entries; eval set: {n_on} on-topic, {n_off} off-topic"
    )
    print(f"top-1 accuracy:            {top1 / n_on:6.1%}  ({top1}/{n_on})")
    print(f"top-3 accuracy:            {top3 / n_on:6.1%}  ({top3}/{n_on})")
    print(f"off-topic declined:        {declined_off / n_off:6.1%}  ({declined_off}/{n_off})")
    print(f"on-topic wrongly declined: {declined_on / n_on:6.1%}  ({declined_on}/{n_on})")
    print(f"on-topic answered 'did you mean': {suggested_on / n_on:6.1%}  ({suggested_on}/{n_on})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
