"""IMS FAQ: knowledge base, matcher and plain-text rendering.

Importing this package reads no file; call :func:`load_knowledge_base` and build one
:class:`Matcher` at start-up.
"""

from faq.ask import ask_json_lines, format_answer_text
from faq.kb import (
    FaqEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    Lexicon,
    Source,
    load_knowledge_base,
)
from faq.matcher import Decision, Matcher, MatchResult, normalize

__all__ = [
    "Decision",
    "FaqEntry",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Lexicon",
    "MatchResult",
    "Matcher",
    "Source",
    "ask_json_lines",
    "format_answer_text",
    "load_knowledge_base",
    "normalize",
]
