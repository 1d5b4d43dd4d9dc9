"""The error handler: log first, then tell the user and the admin chat, best effort."""

from __future__ import annotations

import json
import logging
import traceback

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from handlers import texts
from handlers.context import core
from ims_bot.errors import is_database_unavailable

logger = logging.getLogger("ims_bot.errors")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    unavailable = is_database_unavailable(context.error)
    if unavailable:
        logger.warning("Database unavailable while handling an update: %s", context.error)
    else:
        logger.error("Unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        text = texts.DATABASE_UNAVAILABLE if unavailable else texts.ERROR_APOLOGY
        try:
            await context.bot.send_message(update.effective_chat.id, text)
        except Exception:
            logger.warning("Could not send the apology to the user", exc_info=True)
    if unavailable:
        return  # an outage, not a bug: the log line is enough
    try:
        admin_chat_id = core(context).settings.admin_chat_id
        if admin_chat_id is not None:
            report = texts.error_report(
                _headline(context.error), _summary(update), _traceback(context.error)
            )
            await context.bot.send_message(admin_chat_id, report, parse_mode=ParseMode.HTML)
    except Exception:
        logger.warning("Could not send the error report to the admin chat", exc_info=True)


def _summary(update: object) -> str:
    if isinstance(update, Update):
        return json.dumps(update.to_dict(), indent=1, ensure_ascii=False, default=str)
    return repr(update)


def _headline(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}" if error is not None else "(no exception)"


def _traceback(error: BaseException | None) -> str:
    if error is None:
        return "(no exception)"
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))
