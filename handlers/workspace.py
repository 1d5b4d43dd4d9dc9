"""GSTIN commands: /link, /gstin, /unlink, /invite, /join, /demo."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from handlers import screens
from handlers.context import core
from handlers.replies import reply


async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/link GSTIN: the user's own workspace for it, with filing-frequency buttons."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        view = screens.link(core(context), user.id, message.chat_id, list(context.args or []))
        await reply(message, view)


async def gstins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/gstin: the user's GSTINs (owned and shared); a tap switches the active one."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, screens.gstins(core(context), user.id))


async def unlink(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, screens.unlink(core(context), user.id))


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/invite: a one-time code for the active GSTIN, and who has access (with Revoke)."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, screens.invite(core(context), user.id))


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        view = screens.join(core(context), user.id, message.chat_id, list(context.args or []))
        await reply(message, view)


async def demo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/demo: a demo workspace of the user's own (the import is slow: in a worker thread)."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        view = await asyncio.to_thread(screens.demo, core(context), user.id, message.chat_id)
        await reply(message, view)
