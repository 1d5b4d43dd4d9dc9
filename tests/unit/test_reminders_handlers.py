"""The /remind and /deadlines screens and button parsing (pure parts of the handlers)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from handlers import callbackdata
from handlers import reminder_texts as rt
from handlers.reminders import settings_change
from ims_bot import reminders
from ims_bot.deadline_report import DeadlineItem, UserDeadlines
from ims_bot.deadlines import DeadlineKind
from ims_bot.domain import Period
from ims_bot.errors import InvalidInput
from ims_bot.reminders import Preferences, changes_from_words
from ims_bot.settings import INDIA

NOW = datetime(2025, 12, 1, 8, 0, tzinfo=INDIA)


def buttons_of(view: rt.View) -> list[str]:
    assert view.markup is not None
    return [b.callback_data for row in view.markup.inline_keyboard for b in row]


def test_every_settings_button_parses_back_and_changes_one_setting():
    prefs = Preferences()
    for data in buttons_of(rt.remind_view(prefs)):
        change = settings_change(prefs, callbackdata.parse(data))
        assert len(change) == 1


def test_toggling_a_kind_removes_it_and_adds_it_back():
    prefs = Preferences()
    off = settings_change(prefs, rt.ToggleKind("draft_2b"))
    assert "draft_2b" not in off["kinds"]
    on = settings_change(Preferences(kinds=tuple(off["kinds"])), rt.ToggleKind("draft_2b"))
    assert "draft_2b" in on["kinds"]


def test_the_digest_is_offered_off_by_default_and_every_button_fits_telegram():
    view = rt.remind_view(Preferences())
    data = buttons_of(view)
    assert "rm:kind:digest" in data
    assert all(len(d.encode()) <= callbackdata.MAX_BYTES for d in data)
    labels = [b.text for row in view.markup.inline_keyboard for b in row]
    assert "▫️ Daily digest of new records" in labels
    assert "Daily digest" not in view.text


def test_the_digest_toggle_round_trips_through_the_stored_preferences(sqlite_db):
    prefs = reminders.set_preferences(sqlite_db, 77, 770, now=NOW)
    toggle = callbackdata.parse(rt.ToggleKind(reminders.DIGEST).pack())

    on = reminders.set_preferences(sqlite_db, 77, 770, now=NOW, **settings_change(prefs, toggle))

    assert on.kinds == (*prefs.kinds, "digest")
    assert reminders.get_preferences(sqlite_db, 77) == on
    view = rt.remind_view(on)
    assert "Daily digest of newly imported records at 09:00." in view.text
    assert "✅ Daily digest of new records" in [
        b.text for row in view.markup.inline_keyboard for b in row
    ]
    off = reminders.set_preferences(sqlite_db, 77, 770, now=NOW, **settings_change(on, toggle))
    assert off == prefs


@pytest.mark.parametrize("raw", ["rm:kind:gstr9", "rm:days:99", "rm:pending", "rm:time:2500"])
def test_forged_or_foreign_buttons_are_refused(raw):
    with pytest.raises((InvalidInput, callbackdata.InvalidCallbackData)):
        settings_change(Preferences(), callbackdata.parse(raw))


def test_reminder_buttons_parse():
    pending = reminders.PENDING_CALLBACK.format(workspace=7)
    assert callbackdata.parse(pending) == rt.ReviewPending(7)
    raw = reminders.RECOMPUTE_CALLBACK.format(workspace=7, period=Period(2025, 11))
    assert callbackdata.parse(raw) == rt.RecomputeFromReminder(7, "112025")


def test_remind_words():
    assert changes_from_words(["off"]) == {"enabled": False}
    assert changes_from_words(["on", "7,3,1", "18:30"]) == {
        "enabled": True, "days": (7, 3, 1), "time": "18:30"
    }
    with pytest.raises(InvalidInput):
        changes_from_words(["sometimes"])


def test_deadlines_view_lists_items_and_escapes():
    item = DeadlineItem(
        DeadlineKind.GSTR3B_DUE, Period(2025, 11), date(2025, 12, 20), 4,
        "GSTR-3B for Nov 2025 due", "2 records need a decision, ₹10 ITC", 2, Decimal(10),
    )
    view = rt.deadlines_view(UserDeadlines("27AAPFU0939F1ZV", "A & B", [item]))
    assert "A &amp; B" in view.text and "Sat 20 Dec</b> (in 4 days)" in view.text
    assert rt.deadlines_view(UserDeadlines(None, "", [])).text == rt.NOT_LINKED


async def _reminder_on_screen(bot, user_id: int, buttons: list[tuple[str, str]]) -> int:
    """Send a reminder message through the production sender; its message id."""
    await reminders.BotSender(bot.app.bot).send(user_id, "⏰ reminder", buttons)
    return bot.last_message_id(user_id)


async def test_reminder_buttons_open_that_gstins_records_and_recompute(sqlite_db):
    from ims_bot.access import AccessService
    from ims_bot.demo import DEMO_GSTIN, DEMO_TODAY, load_demo
    from tests.botkit import USER, bot_harness, make_core, make_settings

    core = make_core(make_settings(today_override=DEMO_TODAY), db=sqlite_db)
    workspace, _ = load_demo(sqlite_db, owner_id=USER)
    AccessService(sqlite_db, core.settings.now).adopt(USER, USER, workspace.id)
    async with bot_harness(core) as bot:
        message_id = await _reminder_on_screen(bot, USER, [
            ("Review open records", reminders.PENDING_CALLBACK.format(workspace=workspace.id)),
            ("Recompute GSTR-2B", reminders.RECOMPUTE_CALLBACK.format(
                workspace=workspace.id, period="112025")),
        ])
        calls = await bot.press(USER, message_id, "Review open records")
        texts = [c.text or "" for c in calls if c.method == "sendMessage"]
        assert any(DEMO_GSTIN in t for t in texts)
        calls = await bot.press(USER, message_id, "Recompute GSTR-2B")
        assert any("GSTR-2B" in (c.text or "") for c in calls if c.method == "sendMessage")


async def test_reminder_button_of_someone_elses_gstin_shows_nothing(sqlite_db):
    from ims_bot.demo import DEMO_TODAY, load_demo
    from tests.botkit import OTHER_USER, USER, bot_harness, make_core, make_settings

    core = make_core(make_settings(today_override=DEMO_TODAY), db=sqlite_db)
    workspace, _ = load_demo(sqlite_db, owner_id=USER)
    async with bot_harness(core) as bot:
        forged = reminders.PENDING_CALLBACK.format(workspace=workspace.id)
        message_id = await _reminder_on_screen(bot, OTHER_USER, [("Review", forged)])
        calls = await bot.press(OTHER_USER, message_id, "Review")
        texts = " ".join(c.text or "" for c in calls if c.method == "sendMessage")
        assert "no access" in texts and "INV/" not in texts
