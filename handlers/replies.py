"""`View` (what a screen shows) and sending/editing it, tolerating Telegram's harmless refusals."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

# Source links are for reading on demand; a preview card would bury the answer.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class View:
    """A message to send or to edit into: HTML text and optional inline keyboard."""

    text: str
    markup: InlineKeyboardMarkup | None = None


async def reply(message: Message, view: View) -> None:
    await message.reply_text(
        view.text,
        parse_mode=ParseMode.HTML,
        reply_markup=view.markup,
        link_preview_options=NO_PREVIEW,
    )


async def edit(query: CallbackQuery, view: View) -> None:
    """Show `view` in the pressed message; pressing the same button twice is not an error."""
    try:
        await query.edit_message_text(
            view.text,
            parse_mode=ParseMode.HTML,
            reply_markup=view.markup,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
