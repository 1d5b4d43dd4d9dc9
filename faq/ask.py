"""Plain-text and JSON-lines rendering of match results, for the ``ims-bot ask`` CLI.

Telegram rendering lives with the handlers; this module is for terminals and pipes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from faq.matcher import Decision, Matcher, MatchResult

DECLINE_TEXT = (
    "Sorry, I can only answer questions about the GST Invoice Management System (IMS), "
    "and I could not match this one. Try rephrasing it, or see /help for what I can do."
)


def format_answer_text(result: MatchResult) -> str:
    """The answer with its source line(s), a numbered "Did you mean", or a polite decline."""
    if result.decision is Decision.ANSWER and result.entry is not None:
        entry = result.entry
        lines = [entry.answer, ""]
        label = "Source" if len(entry.sources) == 1 else "Sources"
        lines.append(f"{label}: {entry.sources[0]}")
        lines.extend(f"{' ' * (len(label) + 2)}{src}" for src in entry.sources[1:])
        return "\n".join(lines)
    if result.decision is Decision.SUGGEST and result.suggestions:
        lines = ["Did you mean:"]
        lines.extend(f"{n}. {e.question}" for n, e in enumerate(result.suggestions, 1))
        return "\n".join(lines)
    return DECLINE_TEXT


def ask_json_lines(matcher: Matcher, lines: Iterable[str]) -> Iterator[str]:
    """One compact JSON object per non-blank input line (one question per line)."""
    for line in lines:
        question = line.strip()
        if not question:
            continue
        yield json.dumps(
            matcher.match(question).to_json(), ensure_ascii=False, separators=(",", ":")
        )
