"""Access from Telegram: /members, revoking, cancelling codes, and GSTIN data kept out of
groups. Offline Bot API, real (SQLite) database; state read back through the services."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from handlers import texts, views
from handlers.callbackdata import AskRevoke, CancelCode, ConfirmRevoke
from ims_bot.access import Member, Sharing
from ims_bot.app import Core
from ims_bot.db import Database
from ims_bot.domain import Frequency
from ims_bot.errors import AccessDenied
from ims_bot.offline import ApiCall, html_problem
from ims_bot.settings import INDIA
from ims_bot.workspaces import Workspace
from tests.botkit import OTHER_USER, USER, BotHarness, bot_harness, make_core, make_settings, only
from tests.factories import RECIPIENT

GROUP = -1_001_555_000_111
STRANGER = 5_550_003
OFFLINE_LINK = "https://t.me/ims_offline_bot?start=from_group"
# Every command that reads or changes a GSTIN's data or the user's reminder chat.
GSTIN_COMMANDS = (
    "link", "gstin", "unlink", "invite", "join", "members", "pending", "history", "recompute",
    "summary", "export", "deadlines", "remind", "supplier", "filed", "annualreturn", "demo",
)  # fmt: skip


def core_for(db: Database) -> Core:
    return make_core(make_settings(), db=db)


def messages(calls: list[ApiCall]) -> list[ApiCall]:
    return [c for c in calls if c.method in ("sendMessage", "editMessageText")]


def code_in(text: str | None) -> str:
    found = re.search(r"/join ([A-Z0-9]{8})", text or "")
    assert found, text
    return found.group(1)


async def shared_with_other_user(bot: BotHarness) -> str:
    """USER links RECIPIENT and OTHER_USER joins it; returns the code used."""
    await bot.command(USER, "link", RECIPIENT)
    code = code_in(only(await bot.command(USER, "invite"), "sendMessage").text)
    await bot.command(OTHER_USER, "join", code)
    return code


# ------------------------------------------------------------------------ groups


@pytest.mark.parametrize("command", GSTIN_COMMANDS)
async def test_a_gstin_command_in_a_group_gets_only_a_link_to_the_private_chat(
    sqlite_db: Database, command: str
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        args = {"link": RECIPIENT, "join": "K7M2QX9P", "remind": "on 4 09:00"}.get(command, "")
        calls = await bot.feed(bot.api.command_update(USER, command, args, chat_id=GROUP))
        [message] = messages(calls)
        assert message.chat_id == GROUP
        assert message.text == texts.private_only("ims_offline_bot")
        assert OFFLINE_LINK in (message.text or "")
        assert message.params.get("reply_markup") is None
        assert core.access is not None and core.access.workspaces(USER) == []


async def test_a_group_command_does_not_touch_what_the_user_has_in_private(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        calls = await bot.feed(bot.api.command_update(USER, "pending", chat_id=GROUP))
        assert [c.text for c in messages(calls)] == [texts.private_only("ims_offline_bot")]
        assert RECIPIENT not in " ".join(c.text or "" for c in calls)


@pytest.mark.parametrize("data", ["rec:open:1:1", "ws:revokeok:1:2", "pend:page:1:1:-:-:0",
                                  "rm:power", "rm:pending:1", "anything"])
async def test_a_button_pressed_in_a_group_is_refused_with_an_alert(
    sqlite_db: Database, data: str
) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        shown = only(await bot.feed(bot.api.command_update(USER, "help", chat_id=GROUP)),
                     "sendMessage")
        calls = await bot.feed(bot.api.callback_update(USER, shown.message_id, data,
                                                       chat_id=GROUP))
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["text"] == texts.PRIVATE_ONLY_ALERT
        assert calls[0].params["show_alert"] is True


async def test_start_help_and_faq_still_answer_in_a_group() -> None:
    async with bot_harness() as bot:
        for command in ("start", "help", "faq"):
            calls = await bot.feed(bot.api.command_update(USER, command, chat_id=GROUP))
            [message] = messages(calls)
            assert message.text != texts.private_only("ims_offline_bot")
        topics = bot.api.last_message(GROUP)
        calls = await bot.feed(bot.api.press_update(USER, topics.message_id,
                                                    topics.buttons()[0][0], chat_id=GROUP))
        assert calls[0].method == "answerCallbackQuery"
        assert calls[0].params.get("show_alert") is not True


# ------------------------------------------------------------------------ /members


async def test_members_lists_people_and_live_codes_and_revoking_asks_first(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        used = await shared_with_other_user(bot)
        spare = code_in(only(await bot.command(USER, "invite"), "sendMessage").text)
        listing = only(await bot.command(USER, "members"), "sendMessage")
        assert html_problem(listing.text or "") is None
        assert spare in (listing.text or "") and used not in (listing.text or "")
        assert f"User {OTHER_USER}" in (listing.text or "")  # the name Telegram gave

        calls = await bot.press(USER, listing.message_id, texts.BUTTON_REVOKE_ACCESS)
        assert calls[0].method == "answerCallbackQuery"
        assert core.access is not None
        w = core.access.active(USER).id
        assert core.access.require(OTHER_USER, w).id == w  # asked, not done
        calls = await bot.press(USER, listing.message_id, texts.BUTTON_CONFIRM_REVOKE)
        assert calls[0].method == "answerCallbackQuery"
        assert calls[0].params["text"] == texts.REVOKED
        with pytest.raises(AccessDenied):
            core.access.require(OTHER_USER, w)
        again = only(await bot.command(OTHER_USER, "join", used), "sendMessage").text or ""
        assert "Ask the owner" in again and RECIPIENT not in again
        with pytest.raises(AccessDenied):
            core.access.require(OTHER_USER, w)

        # A replayed confirmation: an alert that nothing changed, no edit.
        calls = await bot.callback(USER, listing.message_id, ConfirmRevoke(w, OTHER_USER).pack())
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["text"] == texts.NOT_A_MEMBER

        calls = await bot.press(USER, listing.message_id, spare)
        assert calls[0].params["text"] == texts.CODE_CANCELLED
        assert "not valid" in only(await bot.command(STRANGER, "join", spare),
                                   "sendMessage").text
        calls = await bot.callback(USER, listing.message_id, CancelCode(w, spare).pack())
        assert calls[0].params["text"] == texts.CODE_NOT_LIVE


async def test_a_member_cannot_revoke_or_cancel_and_is_told_nothing_changed(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await shared_with_other_user(bot)
        assert core.access is not None
        w = core.access.active(USER).id
        spare = code_in(only(await bot.command(USER, "invite"), "sendMessage").text)
        own = only(await bot.command(OTHER_USER, "gstin"), "sendMessage")
        assert only(await bot.command(OTHER_USER, "members"), "sendMessage").text == (
            texts.refused("Only the owner of this GSTIN's workspace can do that.")
        )
        for data in (AskRevoke(w, OTHER_USER), ConfirmRevoke(w, USER), CancelCode(w, spare)):
            calls = await bot.callback(OTHER_USER, own.message_id, data.pack())
            assert [c.method for c in calls] == ["answerCallbackQuery"]
            assert calls[0].params["show_alert"] is True
            assert texts.NOTHING_CHANGED in calls[0].params["text"]
        assert [m.user_id for m in core.access.members(USER, w)] == [USER, OTHER_USER]
        assert [c.code for c in core.access.sharing(USER, w).codes] == [spare]
        # A stranger's forgery fails the membership check before anything else.
        stranger = only(await bot.command(STRANGER, "help"), "sendMessage")
        calls = await bot.callback(STRANGER, stranger.message_id, ConfirmRevoke(w, OTHER_USER)
                                   .pack())
        assert calls[0].params["show_alert"] is True and "no access" in calls[0].params["text"]


def test_the_members_view_escapes_names_and_labels_each_button() -> None:
    ws = Workspace(4, RECIPIENT, "", "27", Frequency.MONTHLY, USER)
    since = datetime(2025, 12, 1, tzinfo=INDIA)
    sharing = Sharing(ws, [
        Member(USER, "owner", since, "Asha", None),
        Member(OTHER_USER, "member", since, "<b>Ravi</b> & Co", "ravi_ca"),
        Member(STRANGER, "member", since, None, None),
    ], [])
    view = views.members(sharing)
    assert "&lt;b&gt;Ravi&lt;/b&gt; &amp; Co (@ravi_ca)" in view.text
    assert f"user {STRANGER}" in view.text and texts.NO_CODES in view.text
    assert html_problem(view.text) is None
    labels = [b.text for row in view.markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert labels == [f"{texts.BUTTON_REVOKE_ACCESS}: <b>Ravi</b> & Co (@ravi_ca)",
                      f"{texts.BUTTON_REVOKE_ACCESS}: user {STRANGER}"]
