"""Fitting to Telegram's limits, generated: any valid Telegram HTML, cut to any limit, stays
valid HTML (the offline API's checker, as strict as Telegram), shows at most the limit, and
shows a prefix of what it would have shown, then "…"."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from ims_bot.offline import _html_plain_text, html_problem, telegram_length
from ims_bot.telegram_text import ELLIPSIS, fit_html, fit_label, fit_plain

plain = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
words = st.one_of(plain, st.sampled_from(["🧾" * 30, "क्ष" * 20, " ", "\n", "&", "<>", "a" * 300]))


@st.composite
def telegram_html(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "text", "tag", "link", "pre"] if depth < 3
                                    else ["text"]))
        if kind == "text":
            parts.append(html.escape(draw(words)))
        elif kind == "tag":
            tag = draw(st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler"]))
            parts.append(f"<{tag}>{draw(telegram_html(depth + 1))}</{tag}>")
        elif kind == "link":
            parts.append(f'<a href="https://x.in/?q={html.escape(draw(plain), quote=True)}">'
                         f"{draw(telegram_html(depth + 1))}</a>")
        else:
            parts.append(f"<pre>{html.escape(draw(words))}</pre>")
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(text=telegram_html(), limit=st.integers(min_value=2, max_value=400))
def test_fitted_html_is_valid_short_enough_and_a_prefix(text: str, limit: int) -> None:
    assert html_problem(text) is None  # the generator makes valid HTML
    fitted = fit_html(text, limit)
    assert html_problem(fitted) is None, fitted
    shown, full = _html_plain_text(fitted), _html_plain_text(text)
    assert telegram_length(shown) <= limit
    if fitted == text:
        assert telegram_length(full) <= limit
    else:
        assert shown.endswith(ELLIPSIS) and full.startswith(shown[:-1].rstrip())


@settings(max_examples=300, deadline=None)
@given(text=plain | words, limit=st.integers(min_value=2, max_value=300))
def test_fitted_plain_text_and_labels_fit(text: str, limit: int) -> None:
    assert telegram_length(fit_plain(text, limit)) <= limit
    label = fit_label(text)
    assert len(label.encode()) <= 64 and (label == text or label.endswith(ELLIPSIS))
