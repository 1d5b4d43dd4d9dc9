"""/connect, /sync, /upload, /regenerate, /disconnect: thin handlers over gsp_screens."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from handlers import gsp_screens as screens
from handlers.context import core
from handlers.replies import Progress, View, reply
from ims_bot.prompts import Step

if TYPE_CHECKING:
    from ims_bot.app import Core

logger = logging.getLogger(__name__)


async def connect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    view = await asyncio.to_thread(screens.connect, core(context), user.id, message.chat_id)
    await reply(message, view)


async def answer_step(message: Message, services: Core, user_id: int, step: Step) -> None:
    """The username or OTP typed after /connect (records.typed_text found the step)."""
    assert message.text is not None
    if step.kind is screens.PromptKind.GSP_OTP:
        try:  # the OTP does not stay in the chat
            await message.delete()
        except TelegramError:
            logger.info("Could not delete the OTP message (no right to)")
    view = await asyncio.to_thread(
        screens.answer_step, services, user_id, message.chat_id, step, message.text)
    await reply(message, view)  # a private chat: not quoted, so a deleted OTP is no matter


async def sync(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    status = await reply(message, View(screens.sync_progress(0)))
    progress = Progress(status, asyncio.get_running_loop(), screens.sync_progress)
    view = await asyncio.to_thread(screens.sync, core(context), user.id, progress)
    await progress.finish(view)


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    send = [a.lower() for a in context.args or []] == ["yes"]
    if send:
        await reply(message, View("📤 Sending to the GST portal…"))
    view = await asyncio.to_thread(screens.upload, core(context), user.id, send)
    await reply(message, view)


async def regenerate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    period = (context.args or [None])[0]
    view = await asyncio.to_thread(screens.regenerate, core(context), user.id, period)
    await reply(message, view)


async def disconnect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    view = await asyncio.to_thread(screens.disconnect, core(context), user.id)
    await reply(message, view)
