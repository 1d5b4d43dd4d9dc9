"""`View` (what a screen shows) and sending/editing it, tolerating Telegram's harmless refusals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from telegram import CallbackQuery, ForceReply, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

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
    #: The reference of a prompt waiting for the user's typed reply (see screens.for_typed).
    awaiting: str | None = None


async def reply(message: Message, view: View) -> Message:
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
        caption=attachment.caption,
        filename=attachment.file_name,
        parse_mode=ParseMode.HTML,
    )


async def edit(query: CallbackQuery, view: View) -> None:
    """Show `view` in the pressed message; pressing the same button twice is not an error."""
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


async def show(query: CallbackQuery, screen: Screen) -> None:
    """Render a button's screen after the query was answered."""
    if screen.view is not None:
        await edit(query, screen.view)
    if screen.follow_up is not None and isinstance(query.message, Message):
        await reply(query.message, screen.follow_up)


async def edit_message(message: Message, view: View) -> None:
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
