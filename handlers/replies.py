"""`View` (what a screen shows) and sending/editing it, tolerating Telegram's harmless refusals.

Every text, caption, callback answer and button label a handler sends passes through here,
and is fitted to Telegram's limits here (`ims_bot.telegram_text`), HTML-safe: a message that
embeds a long word is shortened with "…" instead of being refused by Telegram.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from ims_bot.prompts import PromptRequest
from ims_bot.telegram_text import (
    MAX_CALLBACK_ANSWER,
    MAX_CAPTION,
    MAX_MESSAGE,
    fit_html,
    fit_label,
    fit_plain,
)

logger = logging.getLogger(__name__)

# Source links are for reading on demand; a preview card would bury the answer.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class View:
    """A message to send or to edit into: HTML text and optional keyboard (or a ForceReply)."""

    text: str
    markup: InlineKeyboardMarkup | ForceReply | None = None


@dataclass(frozen=True)
class Attachment:
    """A file to send: a document, or a photo when `photo` is set."""

    file_name: str
    content: bytes
    caption: str
    photo: bool = False


@dataclass(frozen=True)
class Screen:
    """What a button press leads to: an alert or a toast for the answer, a view to edit into
    the pressed message, and optionally a new message (e.g. a prompt to type something)."""

    view: View | None = None
    alert: str | None = None
    toast: str | None = None
    follow_up: View | None = None
    #: What the follow-up prompt waits for the user to type (see ims_bot.prompts).
    awaiting: PromptRequest | None = None


def fitted(view: View) -> View:
    """`view` within Telegram's limits: text at most 4,096 characters, labels 64 bytes."""
    text = fit_html(view.text, MAX_MESSAGE)
    markup = view.markup
    if isinstance(markup, InlineKeyboardMarkup):
        markup = _fitted_keyboard(markup)
    if text is view.text and markup is view.markup:
        return view
    return View(text, markup)


def _fitted_keyboard(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    rows = markup.inline_keyboard
    if all(fit_label(b.text) == b.text for row in rows for b in row):
        return markup
    return InlineKeyboardMarkup([[_fitted_button(b) for b in row] for row in rows])


def _fitted_button(button: InlineKeyboardButton) -> InlineKeyboardButton:
    label = fit_label(button.text)
    if label == button.text:
        return button
    fields = button.to_dict()
    fields["text"] = label
    return InlineKeyboardButton.de_json(fields)


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press: nothing, a toast, or (`alert`) a dialog the user dismisses."""
    shown = fit_plain(" ".join(text.split()), MAX_CALLBACK_ANSWER) if text else None
    await query.answer(shown, show_alert=True if alert else None)


async def reply(message: Message, view: View) -> Message:
    view = fitted(view)
    return await message.reply_text(
        view.text,
        parse_mode=ParseMode.HTML,
        reply_markup=view.markup,
        link_preview_options=NO_PREVIEW,
    )


async def send_file(message: Message, attachment: Attachment) -> None:
    send = message.reply_photo if attachment.photo else message.reply_document
    await send(
        attachment.content,
        caption=fit_html(attachment.caption, MAX_CAPTION),
        filename=attachment.file_name,
        parse_mode=ParseMode.HTML,
    )


async def edit(query: CallbackQuery, view: View) -> None:
    """Show `view` in the pressed message; pressing the same button twice is not an error."""
    view = fitted(view)
    markup = view.markup if isinstance(view.markup, InlineKeyboardMarkup) else None
    try:
        await query.edit_message_text(
            view.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def show(query: CallbackQuery, screen: Screen) -> Message | None:
    """Render a button's screen after the query was answered; the follow-up message sent."""
    if screen.view is not None:
        await edit(query, screen.view)
    if screen.follow_up is not None and isinstance(query.message, Message):
        return await reply(query.message, screen.follow_up)
    return None


async def edit_message(message: Message, view: View) -> None:
    view = fitted(view)
    markup = view.markup if isinstance(view.markup, InlineKeyboardMarkup) else None
    try:
        await message.edit_text(
            view.text, parse_mode=ParseMode.HTML, reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


class Progress:
    """Edits one status message from a worker thread (the importer's synchronous callback).

    `__call__` may run in any thread: it schedules the edit on the event loop and returns at
    once. `finish` waits for the scheduled edits, then shows the final view, so a late
    progress line never overwrites the result.
    """

    def __init__(
        self, message: Message, loop: asyncio.AbstractEventLoop, render: Callable[[int], str]
    ) -> None:
        self.message = message
        self.loop = loop
        self.render = render
        self.pending: list[Future[None]] = []

    def __call__(self, count: int) -> None:
        view = View(self.render(count))
        self.pending.append(
            asyncio.run_coroutine_threadsafe(self._edit_quietly(view), self.loop)
        )

    async def _edit_quietly(self, view: View) -> None:
        try:
            await edit_message(self.message, view)
        except TelegramError:
            # Progress is a courtesy; a failed edit must not fail the import.
            logger.warning("Could not show import progress", exc_info=True)

    async def finish(self, view: View) -> None:
        for future in self.pending:
            await asyncio.wrap_future(future)
        await edit_message(self.message, view)
