"""Catch-alls for what no feature handler claimed: stale buttons and unknown commands."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers import replies, texts
from handlers.replies import View, reply


async def unknown_button(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    """A button whose data no handler's pattern matched (old keyboard, forged data)."""
    if update.callback_query is not None:
        await replies.answer(update.callback_query, texts.BUTTON_NO_LONGER_VALID, alert=True)


async def unknown_command(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await reply(update.effective_message, View(texts.UNKNOWN_COMMAND))
