"""/deadlines and /remind: the coming deadlines of the active GSTIN, and reminder settings.

Thin: parse, call one core function of `ims_bot.deadline_report` / `ims_bot.reminders`,
render with `handlers.reminder_texts`. Buttons are `rm:…` (see reminder_texts).
"""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.ext import ContextTypes

from handlers import callbackdata, replies, screens
from handlers import reminder_texts as rt
from handlers.context import core
from handlers.replies import edit, reply
from ims_bot import deadline_report, reminders
from ims_bot.db import Database
from ims_bot.domain import Period
from ims_bot.errors import InvalidInput


def _db(context: ContextTypes.DEFAULT_TYPE) -> Database:
    db = core(context).db
    if db is None:
        raise RuntimeError("reminders need a database")
    return db


async def deadlines(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/deadlines: the coming deadlines of the user's active GSTIN with what is still open."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    today = core(context).settings.today()
    report = deadline_report.for_user(_db(context), user.id, today)
    await reply(message, rt.deadlines_view(report))


async def remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remind [on|off|HH:MM|7,3,1]: show or change the reminder settings."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    db, now = _db(context), core(context).settings.now()
    try:
        changes = reminders.changes_from_words(context.args or [])
        prefs = reminders.set_preferences(db, user.id, chat.id, now=now, **changes)
    except InvalidInput as exc:
        current = reminders.get_preferences(db, user.id)
        await reply(message, rt.remind_view(current, rt.invalid(exc)))
        return
    await reply(message, rt.remind_view(prefs))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on an `rm:` settings button: change one setting and redraw the screen."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    try:
        data = callbackdata.parse(query.data)
        changes = settings_change(reminders.get_preferences(_db(context), query.from_user.id), data)
    except (callbackdata.InvalidCallbackData, InvalidInput):
        await replies.answer(query, rt.BUTTON_NO_LONGER_VALID, alert=True)
        return
    await replies.answer(query)
    now = core(context).settings.now()
    prefs = reminders.set_preferences(_db(context), query.from_user.id, chat.id, now=now, **changes)
    await edit(query, rt.remind_view(prefs))


def settings_change(prefs: reminders.Preferences, data: object) -> dict[str, Any]:
    """The set_preferences keywords one settings button stands for (InvalidInput if none)."""
    if isinstance(data, rt.ToggleKind) and data.kind in rt.KIND_LABELS:
        kinds = set(prefs.kinds) ^ {data.kind}
        return {"kinds": [k for k in reminders.KINDS if k in kinds]}
    if isinstance(data, rt.ChooseDays) and data.days in rt.DAY_SETS:
        return {"days": rt.DAY_SETS[data.days]}
    if isinstance(data, rt.ChooseTime):
        return {"time": reminders.parse_time(rt.time_of(data))}
    if isinstance(data, rt.ToggleAllClear):
        return {"all_clear": not prefs.all_clear}
    if isinstance(data, rt.TogglePower):
        return {"enabled": not prefs.enabled}
    raise InvalidInput("not a settings button")


async def from_reminder(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`rm:pending:<ws>` / `rm:recompute:<ws>:<MMYYYY>` under a reminder message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    try:
        target = callbackdata.parse(query.data)
        period = (
            Period.parse(target.period) if isinstance(target, rt.RecomputeFromReminder) else None
        )
        if not isinstance(target, (rt.ReviewPending, rt.RecomputeFromReminder)):
            raise ValueError(target)
    except (callbackdata.InvalidCallbackData, ValueError):
        await replies.answer(query, rt.BUTTON_NO_LONGER_VALID, alert=True)
        return
    await replies.answer(query)
    chat_id = query.message.chat.id if query.message is not None else user.id
    view = screens.from_reminder(core(context), user.id, chat_id, target.w, period)
    if isinstance(query.message, Message):
        await reply(query.message, view)
