"""Every user-facing string of the bot, in one place, so a domain expert can edit them.

Messages are Telegram HTML. Anything that embeds data goes through `html.escape` here;
the handlers never build text themselves.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from faq.kb import FaqEntry

# Telegram refuses longer messages; keep a margin for the few characters added around parts.
MAX_MESSAGE = 4096
BUTTON_LABEL_MAX = 60
QUERY_ECHO_MAX = 80


@dataclass(frozen=True)
class Command:
    """A command shown in /start, /help and Telegram's command menu."""

    name: str
    description: str


# The commands that exist. Add a line when a feature ships (the menu and /help follow).
COMMANDS: tuple[Command, ...] = (
    Command("start", "What this bot does and how to begin"),
    Command("faq", "Browse IMS questions by topic"),
    Command("help", "How to ask a question and the list of commands"),
)

# What the bot can do today, one line each, for /start. Extend along with COMMANDS.
FEATURES: tuple[str, ...] = (
    "Answer your questions about the GST portal's Invoice Management System (IMS): "
    "accept / reject / pending, credit notes, GSTR-2B and GSTR-3B, deadlines.",
)

WELCOME_TITLE = "<b>Namaste! I am IMS Bot.</b>"
WELCOME_BEGIN = (
    "To begin, just type your question, e.g. <i>Can I keep a credit note pending?</i>, "
    "or tap /faq to browse topics."
)
HELP_TITLE = "<b>How to use IMS Bot</b>"
HELP_BODY = (
    "Type a question in your own words (English or Hinglish is fine), for example:\n"
    "• <i>What happens if I take no action on an invoice?</i>\n"
    "• <i>When is draft GSTR-2B generated?</i>\n"
    "• <i>Can I reject a credit note?</i>\n\n"
    "I answer from a curated knowledge base with the official source of each answer. "
    "I am not a substitute for your tax adviser."
)
COMMANDS_TITLE = "<b>Commands</b>"

TOPICS_TITLE = "<b>IMS questions by topic</b>\nPick a topic:"
TOPICS_EMPTY = "The question list is empty right now. Please try again later."
CATEGORY_PAGE = "<b>{category}</b> (page {page} of {pages}). Pick a question:"
CATEGORY_SINGLE = "<b>{category}</b>. Pick a question:"
BUTTON_PREVIOUS = "‹ Previous"
BUTTON_NEXT = "Next ›"
BUTTON_ALL_TOPICS = "« All topics"
BUTTON_MORE_IN = "« More in {category}"
BUTTON_BROWSE = "Browse all topics"

SOURCE_ONE = "Source: {links}"
SOURCE_MANY = "Sources: {links}"
APPLIES_FROM = "<i>Applies from the {period} tax period.</i>"
SEE_ALSO = "Related questions:"

SUGGEST_TITLE = "I'm not sure I understood <i>{query}</i>. Did you mean:"
DECLINE = (
    "Sorry, I don't have an answer for <i>{query}</i>.\n\n"
    "I can answer questions about the GST Invoice Management System (IMS). Try rephrasing "
    "with IMS words (accept, reject, pending, credit note, GSTR-2B…), browse /faq, "
    "or see /help."
)
EMPTY_QUERY = "Please type your question about IMS, or tap /faq to browse topics."

BUTTON_NO_LONGER_VALID = "This button is no longer valid. Please use /faq to start again."
UNKNOWN_COMMAND = "I don't know that command. See /help for what I can do."
ERROR_APOLOGY = (
    "Sorry, something went wrong on my side while handling that. Please try again; "
    "if it keeps happening, the team has been told."
)
ERROR_REPORT_TITLE = "<b>IMS Bot error</b>"


def welcome() -> str:
    features = "\n".join(f"• {line}" for line in FEATURES)
    return f"{WELCOME_TITLE}\n\n{features}\n\n{command_list()}\n\n{WELCOME_BEGIN}"


def help_text() -> str:
    return f"{HELP_TITLE}\n\n{HELP_BODY}\n\n{command_list()}"


def command_list() -> str:
    lines = (f"/{c.name} — {html.escape(c.description)}" for c in COMMANDS)
    return f"{COMMANDS_TITLE}\n" + "\n".join(lines)


def category_page(category: str, page: int, pages: int, questions: list[str], first: int) -> str:
    """A category page: title, then the full questions numbered like their buttons."""
    name = html.escape(category)
    if pages <= 1:
        title = CATEGORY_SINGLE.format(category=name)
    else:
        title = CATEGORY_PAGE.format(category=name, page=page + 1, pages=pages)
    lines = (f"{n}. {html.escape(q)}" for n, q in enumerate(questions, start=first))
    return title + "\n\n" + "\n".join(lines)


def numbered_question_button(number: int, entry: FaqEntry) -> str:
    return clip(f"{number}. {entry.question}", BUTTON_LABEL_MAX)


def category_button(category: str, count: int) -> str:
    return clip(f"{category} ({count})", BUTTON_LABEL_MAX)


def more_in_button(category: str) -> str:
    return clip(BUTTON_MORE_IN.format(category=category), BUTTON_LABEL_MAX)


def question_button(entry: FaqEntry) -> str:
    return clip(entry.question, BUTTON_LABEL_MAX)


def answer(entry: FaqEntry, *, has_related: bool = False) -> str:
    """The answer message: bold question, answer, period note, sources, related hint."""
    head = f"<b>{html.escape(entry.question)}</b>"
    tail: list[str] = []
    if entry.applies_from:
        tail.append(APPLIES_FROM.format(period=html.escape(_period(entry.applies_from))))
    if entry.sources:
        links = ", ".join(_link(source) for source in entry.sources)
        template = SOURCE_ONE if len(entry.sources) == 1 else SOURCE_MANY
        tail.append(template.format(links=links))
    if has_related:
        tail.append(SEE_ALSO)
    fixed = len(head) + sum(len(part) + 2 for part in tail) + 4
    body = escape_clipped(entry.answer, MAX_MESSAGE - 1 - fixed)
    return "\n\n".join([head, body, "\n".join(tail)]) if tail else f"{head}\n\n{body}"


def suggest(query: str) -> str:
    return SUGGEST_TITLE.format(query=echo(query))


def decline(query: str) -> str:
    return DECLINE.format(query=echo(query))


def echo(query: str) -> str:
    """The user's words, shortened and escaped, to quote back at them."""
    return html.escape(clip(" ".join(query.split()), QUERY_ECHO_MAX))


def error_report(error_line: str, update_summary: str, traceback_text: str) -> str:
    """An escaped report for the admin chat, always under Telegram's limit."""
    headline = escape_clipped(error_line, 300)
    summary = escape_clipped(update_summary, 900)
    # The end of a traceback names the failing line: keep the tail.
    trace = escape_clipped(traceback_text, 2600, keep_end=True)
    return (
        f"{ERROR_REPORT_TITLE}\n<code>{headline}</code>\n<pre>{summary}</pre>\n<pre>{trace}</pre>"
    )


def clip(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis where it was cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    if keep_end:
        return "…" + text[len(text) - limit + 1 :].lstrip()
    return text[: limit - 1].rstrip() + "…"


def escape_clipped(text: str, budget: int, *, keep_end: bool = False) -> str:
    """`text` HTML-escaped and cut so that the *escaped* result has at most `budget` chars."""
    limit = len(text)
    escaped = html.escape(text)
    while len(escaped) > budget and limit > 0:
        # An escape is at most 6 characters for 1, so this never cuts more than needed.
        limit -= max(1, (len(escaped) - budget) // 6)
        escaped = html.escape(clip(text, max(limit, 0), keep_end=keep_end))
    return escaped


def _link(source: str) -> str:
    """An <a> link labelled with the site's host; anything that is not a URL is shown as is."""
    parts = urlsplit(source.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        host = parts.netloc.removeprefix("www.")
        return f'<a href="{html.escape(source.strip(), quote=True)}">{html.escape(host)}</a>'
    return html.escape(source)


def _period(value: str) -> str:
    """A period such as 2025-10 as "Oct 2025"; other values are shown unchanged."""
    try:
        return date.fromisoformat(f"{value.strip()}-01").strftime("%b %Y")
    except ValueError:
        return value
