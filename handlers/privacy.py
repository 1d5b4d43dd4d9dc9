"""Chats other than the user's private chat: there the bot shows no GSTIN data.

A group's members are not the GSTIN's members: whatever the bot answers in a group, everyone
in it reads. The composition root registers the GSTIN commands and buttons for private
chats only; these answer the same commands and buttons anywhere else with a pointer to the
private chat, and nothing more.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, ContextTypes

from handlers import texts
from handlers.replies import View, reply


class ButtonOutsidePrivateChat(CallbackQueryHandler[Any, None]):
    """A `CallbackQueryHandler` for presses under messages that are not in a private chat
    (groups, channels, and inline messages, which have no chat)."""

    def check_update(self, update: object) -> bool | object | None:
        if not isinstance(update, Update):
            return None
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            return None
        return super().check_update(update)


async def command_elsewhere(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A GSTIN command typed in a group: only a link to the private chat."""
    message = update.effective_message
    if message is not None:
        await reply(message, View(texts.private_only(context.bot.username)))


async def button_elsewhere(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    """A GSTIN button pressed outside a private chat: an alert, and nothing shown."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.PRIVATE_ONLY_ALERT, show_alert=True)
