"""The FAQ: /faq browsing by topic, its buttons, and answers to free-text questions."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers import callbackdata, faq_views, replies, texts
from handlers.context import core
from handlers.replies import View, edit, reply


async def browse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/faq: the list of topics."""
    if update.effective_message is not None:
        await reply(update.effective_message, faq_views.topics(core(context).kb))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on any `faq:` button: topics, a category page or an answer."""
    query = update.callback_query
    if query is None:
        return
    try:
        view = faq_views.for_button(core(context).kb, callbackdata.parse(query.data))
    except callbackdata.InvalidCallbackData:
        await replies.answer(query, texts.BUTTON_NO_LONGER_VALID, alert=True)
        return
    await replies.answer(query)
    await edit(query, view)


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text in a private chat: answer it, suggest close questions, or decline."""
    message = update.effective_message
    if message is None:
        return
    query = faq_views.query_text(message.text)
    if not query:
        await reply(message, View(texts.EMPTY_QUERY))
        return
    services = core(context)
    await reply(message, faq_views.for_match(services.kb, services.matcher.match(query)))
