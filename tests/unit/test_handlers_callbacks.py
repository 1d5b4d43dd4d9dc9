"""Forged, stale or foreign button data is refused with a clear alert, and nothing else."""

from __future__ import annotations

import pytest

from handlers import texts
from handlers.callbackdata import FaqAnswer, FaqCategory
from tests.botkit import USER, bot_harness, only

FORGED = [
    "faq:zzz",
    "faq:ans:no-such-entry",
    "faq:cat:99:0",
    "faq:cat:0:99",
    "faq:cat:-1:0",
    "faq:cat:0",
    "faq:ans:a:b",
    "\x00\x7f\x1b[31m",
    "ÿþ random bytes ♥",
    "rec:accept:17",
    "admin:drop",
    "x" * 64,
]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_button_gets_an_alert_and_changes_nothing(data: str) -> None:
    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        before = bot.api.message(USER, topics.message_id)
        snapshot = (before.text, before.reply_markup)
        calls = await bot.callback(USER, topics.message_id, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].error is None
        assert calls[0].params["text"] == texts.BUTTON_NO_LONGER_VALID
        assert calls[0].params["show_alert"] is True
        after = bot.api.message(USER, topics.message_id)
        assert (after.text, after.reply_markup) == snapshot


async def test_valid_buttons_still_work_after_a_forged_one() -> None:
    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        await bot.callback(USER, topics.message_id, "faq:zzz")
        calls = await bot.callback(USER, topics.message_id, FaqCategory(0, 0).pack())
        assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
        assert calls[0].params.get("show_alert") is None


async def test_button_text_limits_hold_for_every_answer() -> None:
    from tests.botkit import real_kb

    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        for entry in real_kb().entries:
            calls = await bot.callback(USER, topics.message_id, FaqAnswer(entry.id).pack())
            assert [c.error for c in calls] == [None, None], entry.id
