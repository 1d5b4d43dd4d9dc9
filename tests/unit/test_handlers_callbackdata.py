"""Callback data: packed in one typed module, forged data refused in one place."""

from __future__ import annotations

import pytest

from handlers.callbackdata import (
    MAX_BYTES,
    FaqAnswer,
    FaqCategory,
    FaqTopics,
    InvalidCallbackData,
    parse,
)
from tests.botkit import real_kb


@pytest.mark.parametrize(
    "data", [FaqTopics(), FaqCategory(3, 1), FaqCategory(0), FaqAnswer("credit-note-pending")]
)
def test_pack_then_parse_gives_the_same_value(data: object) -> None:
    assert parse(data.pack()) == data  # type: ignore[attr-defined]


def test_every_faq_entry_id_fits_in_a_button() -> None:
    for entry in real_kb().entries:
        raw = FaqAnswer(entry.id).pack()
        assert len(raw.encode()) <= MAX_BYTES
        assert parse(raw) == FaqAnswer(entry.id)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "faq",
        "faq:",
        "faq:zzz",
        "faq:cat",
        "faq:cat:x:0",
        "faq:cat:-1:0",
        "faq:cat:01:0",
        "faq:cat:1:2:3",
        "faq:ans:",
        "faq:ans:a:b",
        "faq:ans:bad id",
        "faq:topics:extra",
        "rec:accept:17",
        "\x00\xff\xfe garbage",
        "faq:ans:" + "a" * 100,
        "ＦＡＱ:topics",
    ],
)
def test_forged_data_is_refused(raw: str | None) -> None:
    with pytest.raises(InvalidCallbackData):
        parse(raw)


@pytest.mark.parametrize(
    "data", [FaqAnswer("has:colon"), FaqAnswer(""), FaqCategory(-1), FaqAnswer("x" * 60)]
)
def test_pack_refuses_what_could_not_be_read_back(data: object) -> None:
    with pytest.raises(ValueError):
        data.pack()  # type: ignore[attr-defined]
