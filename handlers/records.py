"""Record commands and buttons: /pending, /history, /recompute, /summary, /export,
/supplier, document uploads, every `ws:` / `rec:` / `pend:` / `bulk:` button, and typed
replies to prompts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers import gsp, replies, screens
from handlers.context import core
from handlers.replies import Progress, View, reply, send_file, show
from ims_bot.errors import is_database_unavailable
from ims_bot.prompts import Step

logger = logging.getLogger(__name__)


async def _reply_with(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    screen: Callable[..., View],
    *,
    with_args: bool = False,
) -> None:
    """The shape of a record command: the screen (with the command's arguments) computed in
    a worker thread, off the event loop, then the reply."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    args = (list(context.args or []),) if with_args else ()
    view = await asyncio.to_thread(screen, core(context), user.id, *args)
    await reply(message, view)


async def pending(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/pending: records needing a decision, as buttons, with filters and pages."""
    await _reply_with(update, context, screens.pending)


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply_with(update, context, screens.history)


async def recompute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/recompute [MMYYYY]: GSTR-2B figures per tax head and what changed."""
    await _reply_with(update, context, screens.recompute, with_args=True)


async def supplier(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/supplier GSTIN Name: name a supplier of the active GSTIN (shown instead of its GSTIN)."""
    await _reply_with(update, context, screens.supplier, with_args=True)


async def filed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/filed MMYYYY: record that GSTR-3B of a period is filed."""
    await _reply_with(update, context, screens.filed, with_args=True)


async def annual_return(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/annualreturn 2024-25 DD-MM-YYYY: when the annual return of a year was filed."""
    await _reply_with(update, context, screens.annual_return, with_args=True)


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/summary: counts and ITC at stake, then a chart drawn in a worker thread."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = core(context)
    view, workspace = await asyncio.to_thread(screens.summary, services, user.id)
    await reply(message, view)
    if workspace is not None:
        picture = await asyncio.to_thread(screens.summary_picture, services, workspace)
        await send_file(message, picture)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export: the portal's save request (and reset request) as JSON documents."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    view, files = await asyncio.to_thread(screens.export, core(context), user.id)
    if view is not None:
        await reply(message, view)
    for attachment in files:
        await send_file(message, attachment)


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document: the portal's IMS JSON, imported with progress shown in one message."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    doc, services = message.document, core(context)
    name, mime = doc.file_name or "", doc.mime_type or ""
    w, view = await asyncio.to_thread(
        screens.prepare_upload, services, user.id, name, mime, doc.file_size or 0
    )
    status = await reply(message, view)
    if w is None:
        return
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    progress = Progress(status, asyncio.get_running_loop(), screens.progress_text(name))
    result = await asyncio.to_thread(screens.import_upload, services, user.id, w, data, progress)
    await progress.finish(result)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any `ws:`, `rec:`, `pend:` or `bulk:` button; the screen re-checks access first."""
    query = update.callback_query
    if query is None:
        return
    services, user_id = core(context), query.from_user.id
    screen = await asyncio.to_thread(screens.for_button, services, user_id, query.data)
    await replies.answer(query, screen.alert or screen.toast, alert=screen.alert is not None)
    prompt = await show(query, screen)
    if screen.awaiting is not None and prompt is not None and services.prompts is not None:
        # Kept in the database, so the answer may reach any replica.
        await asyncio.to_thread(
            services.prompts.open, user_id, prompt.chat_id, prompt.message_id, screen.awaiting
        )


async def typed_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text answering a prompt (remarks, a partial reduction, a /connect step), found with
    one read of the prompts table; other text goes on to the FAQ."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    services = core(context)
    replied = message.reply_to_message
    reply_to = replied.message_id if replied is not None else None
    prompt = await asyncio.to_thread(
        screens.awaited, services, user.id, message.chat_id, reply_to
    )
    if prompt is None:
        return  # not an answer to a prompt: the FAQ takes it
    if isinstance(prompt, Step):
        await gsp.answer_step(message, services, user.id, prompt)
    else:
        view = await asyncio.to_thread(screens.for_typed, services, user.id, prompt, message.text)
        await reply(message, view)
    raise ApplicationHandlerStop


async def forget_prompt(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any command ends a wait for typed remarks, so later free text is not taken for them."""
    user, services = update.effective_user, core(context)
    if user is None or services.prompts is None:
        return
    try:
        await asyncio.to_thread(services.prompts.clear, user.id)
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        # The command itself meets the outage and says so: one apology, not two.
        logger.warning("Could not end a prompt (database unavailable): %s", exc)
