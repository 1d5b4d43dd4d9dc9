"""What the FAQ screens show: pure functions from the knowledge base to a `View`.

No Telegram I/O here, so every screen can be unit-tested and reused by the handlers for
both a fresh reply and an in-place edit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from faq.matcher import Decision
from handlers import texts
from handlers.callbackdata import (
    CallbackData,
    FaqAnswer,
    FaqCategory,
    FaqTopics,
    InvalidCallbackData,
)
from handlers.replies import View

if TYPE_CHECKING:
    from faq.kb import FaqEntry, KnowledgeBase
    from faq.matcher import MatchResult

PAGE_SIZE = 8
MAX_RELATED = 3
MAX_SUGGESTIONS = 4
# Matching looks at the gist of a question; a huge paste only slows it down.
MAX_QUERY_CHARS = 500


def _button(label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.pack())


def _keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def topics(kb: KnowledgeBase) -> View:
    categories = kb.categories()
    if not categories:
        return View(texts.TOPICS_EMPTY)
    rows = [
        [_button(texts.category_button(name, len(kb.in_category(name))), FaqCategory(i, 0))]
        for i, name in enumerate(categories)
    ]
    return View(texts.TOPICS_TITLE, _keyboard(rows))


def category(kb: KnowledgeBase, index: int, page: int) -> View:
    """One page of a category's questions; `InvalidCallbackData` if it no longer exists."""
    categories = kb.categories()
    if not 0 <= index < len(categories):
        raise InvalidCallbackData(f"category {index}")
    entries = kb.in_category(categories[index])
    pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
    if not 0 <= page < pages:
        raise InvalidCallbackData(f"page {page} of category {index}")
    first = page * PAGE_SIZE
    shown = entries[first : first + PAGE_SIZE]
    rows = [
        [_button(texts.numbered_question_button(n, e), FaqAnswer(e.id))]
        for n, e in enumerate(shown, start=first + 1)
    ]
    nav = []
    if page > 0:
        nav.append(_button(texts.BUTTON_PREVIOUS, FaqCategory(index, page - 1)))
    if page + 1 < pages:
        nav.append(_button(texts.BUTTON_NEXT, FaqCategory(index, page + 1)))
    rows += [nav, [_button(texts.BUTTON_ALL_TOPICS, FaqTopics())]]
    questions = [e.question for e in shown]
    title = texts.category_page(categories[index], page, pages, questions, first + 1)
    return View(title, _keyboard(rows))


def answer(kb: KnowledgeBase, entry: FaqEntry) -> View:
    """The answer, with buttons to related questions and back to its category."""
    related = [e for e in (kb.get(i) for i in entry.related) if e is not None][:MAX_RELATED]
    rows = [[_button(texts.question_button(e), FaqAnswer(e.id))] for e in related]
    categories = kb.categories()
    if entry.category in categories:
        index = categories.index(entry.category)
        siblings = [e.id for e in kb.in_category(entry.category)]
        page = siblings.index(entry.id) // PAGE_SIZE if entry.id in siblings else 0
        rows.append([_button(texts.more_in_button(entry.category), FaqCategory(index, page))])
    rows.append([_button(texts.BUTTON_ALL_TOPICS, FaqTopics())])
    return View(texts.answer(entry, has_related=bool(related)), _keyboard(rows))


def for_button(kb: KnowledgeBase, data: CallbackData) -> View:
    """The screen a FAQ button leads to; `InvalidCallbackData` if it leads nowhere now."""
    if isinstance(data, FaqTopics):
        return topics(kb)
    if isinstance(data, FaqCategory):
        return category(kb, data.index, data.page)
    if isinstance(data, FaqAnswer):
        entry = kb.get(data.entry_id)
        if entry is None:
            raise InvalidCallbackData(f"entry {data.entry_id}")
        return answer(kb, entry)
    raise InvalidCallbackData(f"not a FAQ button: {data!r}")


def for_match(kb: KnowledgeBase, result: MatchResult) -> View:
    """The reply to a free-text question, by the matcher's decision."""
    if result.decision is Decision.ANSWER and result.entry is not None:
        return answer(kb, result.entry)
    browse = [_button(texts.BUTTON_BROWSE, FaqTopics())]
    if result.decision is Decision.SUGGEST and result.suggestions:
        suggestions = result.suggestions[:MAX_SUGGESTIONS]
        rows = [[_button(texts.question_button(e), FaqAnswer(e.id))] for e in suggestions]
        return View(texts.suggest(result.query), _keyboard([*rows, browse]))
    return View(texts.decline(result.query), _keyboard([browse]))


def query_text(text: str | None) -> str:
    """The part of a user's message the matcher gets."""
    return " ".join((text or "").split())[:MAX_QUERY_CHARS]
