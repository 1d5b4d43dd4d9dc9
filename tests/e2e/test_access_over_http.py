"""Black box, over HTTP: who may see a GSTIN's data, and in which chats the bot shows it.

The real `ims-bot run` against the stand-in Bot API (one process for this module). Each test
plays its own users (and group); state is read back through the services on a second
connection to the bot's SQLite file.
"""

from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta

import pytest

from handlers import texts
from ims_bot.db import Database
from ims_bot.demo import DEMO_GSTIN, demo_bytes
from ims_bot.errors import AccessDenied
from ims_bot.importer import import_file
from ims_bot.reminders import set_preferences
from ims_bot.settings import INDIA
from tests.e2e.conftest import BotProcess
from tests.e2e.telegram_server import BOT_USERNAME, Message, TelegramServer
from tests.e2e.test_bot_over_http import Chat, no_bot_errors, services
from tests.e2e.test_faults import now_on_fixed_day

OWNER, CA, STRANGER = 7_200_001, 7_200_002, 7_200_003
GROUP_USER = 7_200_011
GROUP = -1_007_200_011  # a supergroup the user and the bot are both in
# Telegram hands names over as typed: markup in them is text, never formatting.
CA_NAME, CA_USERNAME = "<b>Ravi</b> & Co", "ravi_ca"
DEEP_LINK = f"https://t.me/{BOT_USERNAME}?start="


def plain(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", html_text))


def invite_code(message: Message) -> str:
    found = re.search(r"/join ([A-Z0-9]{8})\b", message.plain_text)
    assert found, message.plain_text
    return found.group(1)


async def test_a_revoked_member_cannot_walk_back_in_and_the_owner_sees_who_has_access(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    owner, ca, stranger = Chat(telegram, OWNER), Chat(telegram, CA), Chat(telegram, STRANGER)
    mark = telegram.mark()
    telegram.set_profile(CA, CA_NAME, username=CA_USERNAME)
    await owner.say(f"/link {DEMO_GSTIN}")
    code = invite_code(await owner.say("/invite"))
    joined = await ca.say(f"/join {code}")
    assert DEMO_GSTIN in joined.plain_text
    access, _ = services(bot_db)
    w = access.active(OWNER).id
    assert access.require(CA, w).id == w

    # A used code is dead at once, for anyone.
    used = await stranger.say(f"/join {code}")
    assert "already used" in used.plain_text
    spare = invite_code(await owner.say("/invite"))

    # /members: the CA's name as Telegram gave it (escaped, not formatting), live codes only.
    members = await owner.say("/members", lambda m: bool(m.buttons()))
    assert CA_NAME in members.plain_text and f"@{CA_USERNAME}" in members.plain_text
    assert html.escape(CA_NAME) in (members.text or "")
    assert spare in members.plain_text and code not in members.plain_text
    revoke = [label for label in members.labels() if label.startswith(texts.BUTTON_REVOKE_ACCESS)]
    assert len(revoke) == 1 and CA_NAME in revoke[0]
    assert any(spare in label and texts.BUTTON_CANCEL_CODE in label for label in members.labels())

    # Revoking asks first.
    question = await owner.press_and_see(members.message_id, revoke[0],
                                         lambda m: texts.BUTTON_CONFIRM_REVOKE in m.labels())
    assert CA_NAME in question.plain_text
    assert access.require(CA, w).id == w  # asked, not done
    confirm = dict(question.buttons())[texts.BUTTON_CONFIRM_REVOKE]
    assert confirm is not None

    # The member replaying the owner's button in their own chat changes nothing, and is told.
    theirs = await ca.say("/gstin")
    toast, alert = await ca.press(theirs.message_id, confirm, forged=True)
    assert alert and toast is not None and "owner" in toast and texts.NOTHING_CHANGED in toast
    assert access.require(CA, w).id == w

    toast, alert = await owner.press(question.message_id, texts.BUTTON_CONFIRM_REVOKE)
    assert (toast, alert) == (texts.REVOKED, False)
    with pytest.raises(AccessDenied):
        access.require(CA, w)

    # The revoked member sends the same code again: refused, still no access.
    again = await ca.say(f"/join {code}")
    assert DEMO_GSTIN not in again.plain_text and "Ask the owner" in again.plain_text
    pending = await ca.say("/pending")
    assert pending.plain_text == plain(texts.NOT_LINKED)
    with pytest.raises(AccessDenied):
        access.require(CA, w)

    # The owner's confirmation, replayed: nothing changes, and the answer says so.
    toast, alert = await owner.press(question.message_id, confirm, forged=True)
    assert alert and toast is not None and texts.NOTHING_CHANGED in toast

    # Cancelling the spare code kills it.
    members = await owner.say("/members", lambda m: spare in m.plain_text)
    assert CA_NAME not in members.plain_text
    toast, alert = await owner.press(members.message_id, spare)
    assert (toast, alert) == (texts.CODE_CANCELLED, False)
    refused = await stranger.say(f"/join {spare}")
    assert "not valid" in refused.plain_text
    assert access.workspaces(STRANGER) == []
    no_bot_errors(telegram, bot, mark)


async def test_gstin_commands_in_a_group_point_to_the_private_chat_and_reminders_stay_private(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user, mark = GROUP_USER, telegram.mark()
    access, _ = services(bot_db)
    for command in (f"/link {DEMO_GSTIN}", "/join ABCDEFGH", "/remind on", "/pending",
                    "/members", "/deadlines"):
        sent = telegram.user_sends(user, command, chat_id=GROUP)
        answer = await telegram.wait_for_message(GROUP, since=sent)
        assert DEEP_LINK in answer.plain_text, (command, answer.plain_text)
        assert DEMO_GSTIN not in answer.plain_text and not answer.buttons()
    assert access.workspaces(user) == []  # the /link in the group changed nothing

    # A record button pressed under a message of the group: an alert, and nothing shown.
    group_message = telegram.bot_messages(GROUP)[-1]
    seq = telegram.user_sends_callback(user, group_message.message_id, "rec:open:1:1",
                                       chat_id=GROUP)
    answered = await telegram.wait_for_call("answerCallbackQuery", since=seq)
    assert answered.params.get("text") == texts.PRIVATE_ONLY_ALERT
    assert telegram.calls_to("editMessageText", since=seq) == []

    # The FAQ still answers in the group.
    sent = telegram.user_sends(user, "/faq", chat_id=GROUP)
    topics = await telegram.wait_for_message(GROUP, since=sent)
    assert topics.buttons()

    # A reminder chat stored from a group (as /remind typed there used to store it): the
    # reminder, with the GSTIN and its open records, still goes to the private chat only.
    w = access.link(user, user, DEMO_GSTIN).workspace.id
    import_file(bot_db, w, io.BytesIO(demo_bytes(records=40)), actor="setup", channel="test")
    now = datetime.now(INDIA)
    at = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0))
    seq = telegram.mark()
    set_preferences(bot_db, user, GROUP, enabled=True, days=[4], time=f"{at:%H:%M}",
                    kinds=["gstr3b_due"], now=now_on_fixed_day())
    reminder = await telegram.wait_for_message(user, lambda m: "GSTR-3B" in m.plain_text,
                                               timeout=60, since=seq)
    assert DEMO_GSTIN in reminder.plain_text
    leaked = [m.plain_text for m in telegram.bot_messages(GROUP) if DEMO_GSTIN in m.plain_text]
    assert leaked == []
    assert [c for c in telegram.calls_to("sendMessage", since=mark)
            if int(c.params["chat_id"]) == GROUP and DEMO_GSTIN in (c.text or "")] == []
    no_bot_errors(telegram, bot, mark)
