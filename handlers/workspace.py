"""GSTIN commands: /link, /gstin, /unlink, /invite, /members, /join, /demo."""

from __future__ import annotations

import asyncio

from telegram import Update, User
from telegram.ext import ContextTypes

from handlers import screens
from handlers.context import core
from handlers.replies import reply
from ims_bot.access import Profile


def _profile(user: User) -> Profile:
    """The names Telegram gives for the user, for the owner's /members list."""
    return Profile(user.full_name, user.username)


async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/link GSTIN: the user's own workspace for it, with filing-frequency buttons."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        args = list(context.args or [])
        view = await asyncio.to_thread(
            screens.link, core(context), user.id, message.chat_id, args, _profile(user)
        )
        await reply(message, view)


async def gstins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/gstin: the user's GSTINs (owned and shared); a tap switches the active one."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, await asyncio.to_thread(screens.gstins, core(context), user.id))


async def unlink(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, await asyncio.to_thread(screens.unlink, core(context), user.id))


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/invite: a new one-time code for the active GSTIN."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, await asyncio.to_thread(screens.invite, core(context), user.id))


async def members(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/members: who has access and the live codes, with Revoke access / Cancel code."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, await asyncio.to_thread(screens.members, core(context), user.id))


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        args = list(context.args or [])
        view = await asyncio.to_thread(
            screens.join, core(context), user.id, message.chat_id, args, _profile(user)
        )
        await reply(message, view)


async def demo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/demo: a demo workspace of the user's own (the import is slow: in a worker thread)."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        view = await asyncio.to_thread(screens.demo, core(context), user.id, message.chat_id)
        await reply(message, view)
