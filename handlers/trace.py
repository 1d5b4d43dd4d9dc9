"""Cross-cutting: a debug line for every incoming update (ids and kind, never the text)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

logger = logging.getLogger("ims_bot.updates")


async def log_update(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    kind = "callback" if update.callback_query else "message" if update.message else "other"
    user = update.effective_user.id if update.effective_user else None
    chat = update.effective_chat.id if update.effective_chat else None
    logger.debug("update %s: %s from user %s in chat %s", update.update_id, kind, user, chat)


class TraceHandler(TypeHandler[Update, Any, None]):
    """Takes every update while the trace logger logs at DEBUG, none otherwise: at INFO,
    python-telegram-bot then builds no context and schedules no callback for it. The level
    is read per update, so turning DEBUG on at run time still works."""

    def __init__(self) -> None:
        super().__init__(Update, log_update)

    def check_update(self, update: object) -> bool:
        return logger.isEnabledFor(logging.DEBUG) and super().check_update(update)
