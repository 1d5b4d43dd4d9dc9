"""Record commands and buttons: /pending, /history, /recompute, /summary, /export, document
uploads, every `ws:` / `rec:` / `pend:` / `bulk:` button, and typed replies to prompts."""

from __future__ import annotations

import asyncio

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers import screens
from handlers.context import core
from handlers.replies import Progress, reply, send_file, show

# The reference of the last prompt sent to a user, for a reply typed without "Reply to".
# The prompt itself carries the same reference (so any replica can read a real reply); this
# copy only helps when the user's client did not attach the prompt.
AWAITING = "awaiting"


async def pending(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/pending: records needing a decision, as buttons, with filters and pages."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, screens.pending(core(context), user.id))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        await reply(message, screens.history(core(context), user.id))


async def recompute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/recompute [MMYYYY]: GSTR-2B figures per tax head and what changed."""
    message, user = update.effective_message, update.effective_user
    if message is not None and user is not None:
        args = list(context.args or [])
        await reply(message, screens.recompute(core(context), user.id, args))


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/summary: counts and ITC at stake, then a chart drawn in a worker thread."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = core(context)
    view, workspace = screens.summary(services, user.id)
    await reply(message, view)
    if workspace is not None:
        picture = await asyncio.to_thread(screens.summary_picture, services, workspace)
        await send_file(message, picture)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export: the portal's save request (and reset request) as JSON documents."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    view, files = screens.export(core(context), user.id)
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
    w, view = screens.prepare_upload(services, user.id, name, mime, doc.file_size or 0)
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
    screen = screens.for_button(core(context), query.from_user.id, query.data)
    await query.answer(screen.alert or screen.toast, show_alert=screen.alert is not None)
    if context.user_data is not None:
        context.user_data[AWAITING] = screen.awaiting
    await show(query, screen)


async def typed_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text answering a prompt (remarks, partial reduction); other text goes to the FAQ."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    ref = _prompt_ref(message, context)
    if ref is None:
        return
    if context.user_data is not None:
        context.user_data[AWAITING] = None
    await reply(message, screens.for_typed(core(context), user.id, ref, message.text))
    raise ApplicationHandlerStop


def _prompt_ref(message: Message, context: ContextTypes.DEFAULT_TYPE) -> str | None:
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
        return screens.awaited_ref(replied.text)
    return (context.user_data or {}).get(AWAITING)


async def forget_prompt(_: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any command ends a wait for typed remarks, so later free text is not taken for them."""
    if context.user_data is not None and context.user_data.get(AWAITING):
        context.user_data[AWAITING] = None
