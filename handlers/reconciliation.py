"""The purchase register sent as a document (CSV or .xlsx), and the `rcn:` buttons of a
reconciliation; the screens (handlers.reconcile_screens) do the work in a worker thread."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from handlers import reconcile_screens as screens
from handlers import replies
from handlers.context import core
from handlers.replies import reply, send_file, show


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A register: summary with a button per group, then the chart."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.document is None:
        return
    doc, services = message.document, core(context)
    name = doc.file_name or "register.csv"
    w, view = await asyncio.to_thread(screens.prepare, services, user.id, name, doc.file_size or 0)
    status = await reply(message, view)
    if w is None:
        return
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    view, chart = await asyncio.to_thread(screens.run, services, user.id, w, data, name)
    await replies.edit_message(status, view)
    if chart is not None:
        await send_file(message, chart)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any `rcn:` button; the screen re-checks the presser's access to the workspace first."""
    query = update.callback_query
    if query is None:
        return
    screen = await asyncio.to_thread(screens.for_button, core(context), query.from_user.id,
                                     query.data)
    await replies.answer(query, screen.alert or screen.toast, alert=screen.alert is not None)
    await show(query, screen)
