"""/start and /help: what the bot does and how to begin."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers import texts
from handlers.replies import View, reply


async def start(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await reply(update.effective_message, View(texts.welcome()))


async def help_command(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await reply(update.effective_message, View(texts.help_text()))
