"""/remind and /deadlines: their strings, button payloads and screens (pure, no I/O).

Callback data `rm:<action>:…`; the reminder messages' own buttons
(`rm:pending:<workspace>`, `rm:recompute:<workspace>:<MMYYYY>`, see
`ims_bot.reminders.PENDING_CALLBACK`) are parsed here and shown by the records screens.
"""

from __future__ import annotations

import dataclasses
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbackdata import CallbackData, callback_data
from handlers.replies import View
from ims_bot.deadline_report import UserDeadlines, days_text
from ims_bot.reminders import DIGEST, Preferences

RM_PREFIX = "rm"
#: CallbackQueryHandler patterns: the /remind settings buttons, and the buttons under a
#: reminder message (for the records handlers; `handlers.reminders.from_reminder` meanwhile).
SETTINGS_PATTERN = r"^rm:(kind|days|time|clear|power)(:|$)"
REMINDER_BUTTONS_PATTERN = r"^rm:(pending|recompute)(:|$)"
KIND_LABELS: dict[str, str] = {
    "draft_2b": "Draft GSTR-2B (14th)",
    "gstr3b_due": "GSTR-3B due date",
    "pending_window": "Pending window of credit notes",
    "itc_time_limit": "ITC time limit (s.16(4), Oct return)",
    DIGEST: "Daily digest of new records",
}
#: Day sets offered as buttons: token (letters, digits, `.`) -> offsets.
DAY_SETS: dict[str, tuple[int, ...]] = {"3.1": (3, 1), "7.3.1": (7, 3, 1), "1": (1,), "0": (0,)}
TIMES: tuple[str, ...] = ("09:00", "12:00", "18:00")

BUTTON_NO_LONGER_VALID = "This button is no longer valid. Send /remind again."
NOT_LINKED = (
    "You have no GSTIN linked yet, so here is nothing to count. Link one first; "
    "meanwhile, the GSTR-3B calendar is the same for all monthly filers: 20th of each month."
)
DEADLINES_TITLE = "<b>Coming deadlines for {gstin}</b>{name}"
REMIND_TITLE = "<b>Reminders</b> (India time)"
REMIND_ON = "Reminders are <b>on</b>."
REMIND_OFF = "Reminders are <b>off</b>. Send /remind on to start them again."
DIGEST_AT = "Daily digest of newly imported records at {time}."
REMIND_HINT = (
    "Tap to change. You can also type e.g. <code>/remind 7,3,1</code>, "
    "<code>/remind 18:30</code>, <code>/remind off</code>."
)
INVALID_SETTING = "⚠️ {error}"


# ------------------------------------------------------------------------ callback data


@callback_data(RM_PREFIX, "kind")
@dataclasses.dataclass(frozen=True)
class ToggleKind(CallbackData):
    kind: str


@callback_data(RM_PREFIX, "days")
@dataclasses.dataclass(frozen=True)
class ChooseDays(CallbackData):
    days: str  # a DAY_SETS key


@callback_data(RM_PREFIX, "time")
@dataclasses.dataclass(frozen=True)
class ChooseTime(CallbackData):
    hhmm: str  # "0900"


@callback_data(RM_PREFIX, "clear")
@dataclasses.dataclass(frozen=True)
class ToggleAllClear(CallbackData):
    pass


@callback_data(RM_PREFIX, "power")
@dataclasses.dataclass(frozen=True)
class TogglePower(CallbackData):
    pass


@callback_data(RM_PREFIX, "pending")
@dataclasses.dataclass(frozen=True)
class ReviewPending(CallbackData):
    """Under a reminder: show the open records of workspace `w` (its GSTIN)."""

    w: int


@callback_data(RM_PREFIX, "recompute")
@dataclasses.dataclass(frozen=True)
class RecomputeFromReminder(CallbackData):
    """Under a reminder: recompute GSTR-2B of `period` (MMYYYY) for workspace `w`."""

    w: int
    period: str


# ------------------------------------------------------------------------ screens


def _button(label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.pack())


def _tick(on: bool) -> str:
    return "✅" if on else "▫️"


def remind_view(prefs: Preferences, note: str = "") -> View:
    days = ", ".join(str(d) for d in prefs.days) or "—"
    lines = [REMIND_TITLE, REMIND_ON if prefs.enabled else REMIND_OFF]
    if prefs.enabled:
        lines.append(f"{days} day(s) before, at {prefs.time}.")
        if DIGEST in prefs.kinds:
            lines.append(DIGEST_AT.format(time=prefs.time))
        lines.append(f"'All clear' messages: {'on' if prefs.all_clear else 'off'}.")
    if note:
        lines.append(note)
    lines.append(REMIND_HINT)
    rows = [[_button(f"{_tick(k in prefs.kinds)} {label}", ToggleKind(k))]
            for k, label in KIND_LABELS.items()]
    rows.append([
        _button(f"{_tick(prefs.days == offsets)} {' · '.join(map(str, offsets))} d", ChooseDays(t))
        for t, offsets in DAY_SETS.items()
    ])
    rows.append([_button(f"{_tick(prefs.time == t)} {t}", ChooseTime(t.replace(":", "")))
                 for t in TIMES])
    rows.append([
        _button(f"{_tick(prefs.all_clear)} All clear", ToggleAllClear()),
        _button("Turn off" if prefs.enabled else "Turn on", TogglePower()),
    ])
    return View("\n".join(lines), InlineKeyboardMarkup(rows))


def deadlines_view(report: UserDeadlines) -> View:
    if report.gstin is None:
        return View(NOT_LINKED)
    name = f" · {html.escape(report.name)}" if report.name else ""
    lines = [DEADLINES_TITLE.format(gstin=html.escape(report.gstin), name=name)]
    for item in report.items:
        lines.append(
            f"• <b>{item.date:%a %d %b}</b> ({days_text(item.days_left)}): "
            f"{html.escape(item.title)}\n  {html.escape(item.todo)}"
        )
    return View("\n".join(lines))


def invalid(error: Exception) -> str:
    return INVALID_SETTING.format(error=html.escape(str(error)))


def time_of(data: ChooseTime) -> str:
    return f"{data.hhmm[:2]}:{data.hhmm[2:]}"
