"""Telegram's length limits, and fitting any outgoing text to them (pure, no I/O).

Telegram refuses, rather than shortens, what is too long: a message text of more than 4,096
characters after entity parsing, a caption of more than 1,024, a callback answer of more than
200, a button's text or data of more than 64 bytes. Whatever a message embeds (a user's word,
a supplier's name, a file's error) could push it over, so every send and edit passes through
`fit_html` / `fit_plain` / `fit_label` where it leaves the bot (handlers.replies and the
reminder sender), not in each message's template.

Lengths are counted as Telegram counts them, in UTF-16 code units of the text a user sees
(tags removed, entities decoded). A text that is cut ends with "…", is never cut inside a tag
or an entity, and closes every tag that was open where it was cut.
"""

from __future__ import annotations

import html
import re

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
MAX_BUTTON_BYTES = 64
ELLIPSIS = "…"

# A tag (`<b>`, `</b>`, `<a href="…">`, `<tg-spoiler>`) or an entity (`&amp;`, `&#39;`).
_MARKUP = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});"
)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def fit_plain(text: str, limit: int) -> str:
    """`text` (no markup) cut to `limit` UTF-16 units, with "…" where it was cut."""
    if telegram_length(text) <= limit:
        return text
    budget = limit - 1
    kept: list[str] = []
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if width > budget:
            break
        kept.append(char)
        budget -= width
    return "".join(kept).rstrip() + ELLIPSIS


def fit_html(text: str, limit: int = MAX_MESSAGE) -> str:
    """Telegram-HTML `text` whose visible text is at most `limit` UTF-16 units.

    Cut only between characters of the visible text, never inside a tag or an entity; the
    tags open at the cut are closed after the "…"."""
    if telegram_length(text) <= limit:  # tags and entities only ever shorten what shows
        return text
    if "<" not in text and "&" not in text:
        return fit_plain(text, limit)
    pieces = _pieces(text)
    if sum(width for _, width, _ in pieces) <= limit:
        return text
    budget = limit - 1
    out: list[str] = []
    open_tags: list[str] = []
    for raw, width, tag in pieces:
        if tag is not None:
            closing, name = tag
            if closing:
                if open_tags and open_tags[-1] == name:
                    open_tags.pop()
            else:
                open_tags.append(name)
            out.append(raw)
            continue
        if width > budget:
            break
        out.append(raw)
        budget -= width
    close_tags = "".join(f"</{name}>" for name in reversed(open_tags))
    return "".join(out).rstrip() + ELLIPSIS + close_tags


def _pieces(text: str) -> list[tuple[str, int, tuple[bool, str] | None]]:
    """`text` as (raw, visible width, (closing, tag name) or None) pieces: one per tag, per
    entity and per character of plain text."""
    pieces: list[tuple[str, int, tuple[bool, str] | None]] = []
    position = 0
    for match in _MARKUP.finditer(text):
        pieces += [(c, 2 if ord(c) > 0xFFFF else 1, None) for c in text[position : match.start()]]
        raw = match.group(0)
        if raw.startswith("<"):
            pieces.append((raw, 0, (match.group(1) == "/", match.group(2).lower())))
        else:
            pieces.append((raw, max(1, telegram_length(html.unescape(raw))), None))
        position = match.end()
    pieces += [(c, 2 if ord(c) > 0xFFFF else 1, None) for c in text[position:]]
    return pieces


def fit_label(text: str, limit: int = MAX_BUTTON_BYTES) -> str:
    """A button's text cut to `limit` UTF-8 bytes, with "…" where it was cut."""
    if len(text.encode("utf-8", "surrogatepass")) <= limit:
        return text
    budget = limit - len(ELLIPSIS.encode())
    kept: list[str] = []
    for char in text:
        size = len(char.encode("utf-8", "surrogatepass"))
        if size > budget:
            break
        kept.append(char)
        budget -= size
    return "".join(kept).rstrip() + ELLIPSIS
