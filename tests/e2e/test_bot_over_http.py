"""Black box: the real `ims-bot run` process, over HTTP, against a stand-in Bot API server.

One bot process serves the whole module; each test plays its own users (distinct ids), so
the tests do not depend on each other's data. State is read back through the services on
a second connection to the bot's SQLite file.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from telegram.ext import CommandHandler

import ims_bot.app
from handlers import texts
from ims_bot.access import AccessService
from ims_bot.db import Database
from ims_bot.demo import DEMO_GSTIN, demo_bytes
from ims_bot.domain import Section, Status
from ims_bot.records import RecordFilter, RecordService
from ims_bot.settings import INDIA
from tests.e2e.conftest import TODAY, BotProcess
from tests.e2e.telegram_server import Message, TelegramServer

FIXED_DAY = date.fromisoformat(TODAY)


def registered_commands() -> set[str]:
    """Commands the composition root wires (the bot process runs this same code)."""
    return {
        command
        for handler, _ in ims_bot.app.handler_table()
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


def needs_command(name: str) -> None:
    if name not in registered_commands():
        pytest.skip(f"/{name} is not registered in ims_bot.app.handler_table() yet")


class Chat:
    """One user's private chat with the bot, through the server."""

    def __init__(self, server: TelegramServer, user_id: int) -> None:
        self.server = server
        self.user = user_id

    async def say(
        self, text: str, expect: Callable[[Message], bool] = lambda _: True, timeout: float = 20
    ) -> Message:
        """Send `text`; the first new bot message satisfying `expect`."""
        mark = self.server.user_sends(self.user, text)
        return await self.server.wait_for_message(self.user, expect, timeout, since=mark)

    async def upload(self, name: str, content: bytes, timeout: float = 60) -> Message:
        """Send a document; the import's final word (the status message, edited)."""
        mark = self.server.user_sends_document(self.user, name, content)

        def done(m: Message) -> bool:
            return not m.plain_text.startswith("📥")

        return await self.server.wait_for_message(self.user, done, timeout, since=mark)

    async def press(
        self, message_id: int, button: str, *, forged: bool = False
    ) -> tuple[str | None, bool]:
        """Press a button; the answer's (text, show_alert), once the query is answered."""
        if forged:
            mark = self.server.user_sends_callback(self.user, message_id, button)
        else:
            mark = self.server.user_presses(self.user, message_id, button)
        call = await self.server.wait_for_call("answerCallbackQuery", since=mark)
        return call.params.get("text"), str(call.params.get("show_alert")).lower() == "true"

    async def press_and_see(
        self, message_id: int, button: str, expect: Callable[[Message], bool]
    ) -> Message:
        """Press a button and wait for its message to be edited into what `expect` says."""
        mark = self.server.user_presses(self.user, message_id, button)
        return await self.server.wait_for_message(
            self.user, lambda m: m.message_id == message_id and expect(m), since=mark
        )

    def message(self, message_id: int) -> Message:
        return self.server.messages[(self.user, message_id)]


def services(db: Database) -> tuple[AccessService, RecordService]:
    def now() -> datetime:
        return datetime.combine(FIXED_DAY, datetime.now(INDIA).timetz())

    return AccessService(db, now), RecordService(db, lambda: FIXED_DAY)


def by_number(db: Database, user: int) -> dict[str, Any]:
    access, records = services(db)
    return {r.number: r for r in records.iter_all(access.active(user).id)}


async def linked_with_demo(chat: Chat) -> None:
    linked = await chat.say(f"/link {DEMO_GSTIN}")
    assert DEMO_GSTIN in linked.plain_text and "Linked" in linked.plain_text
    result = await chat.upload("ims.json", demo_bytes())
    assert "Imported 320 record(s)" in result.plain_text, result.plain_text


async def invoice_card(chat: Chat, nth: int = 0) -> tuple[Message, str]:
    """/pending filtered to invoices, then the `nth` invoice's card: (card, number)."""
    listing = await chat.say("/pending", lambda m: "Needs a decision" in m.plain_text)
    await chat.press_and_see(listing.message_id, texts.BUTTON_FILTER_SECTION,
                             lambda m: "Invoice" in m.labels())
    invoices = await chat.press_and_see(listing.message_id, "Invoice",
                                        lambda m: "(Invoices)" in m.plain_text)
    label = [label for label in invoices.labels() if label.startswith("INV/")][nth]
    number = label.split(" · ")[0]
    card = await chat.press_and_see(listing.message_id, label,
                                    lambda m: texts.BUTTON_ACCEPT in m.labels())
    return card, number


def no_bot_errors(server: TelegramServer, bot: BotProcess, since: int = 0) -> None:
    """Telegram refused nothing and the bot hit its error handler nowhere."""
    refused = [(c.method, c.error) for c in server.calls_to(since=since)
               if c.error and c.method != "getUpdates"]
    assert refused == []
    apologies = [c for c in server.calls_to("sendMessage", since=since)
                 if c.text in (texts.ERROR_APOLOGY, texts.DATABASE_UNAVAILABLE)]
    assert apologies == [], bot.log()


# ------------------------------------------------------------------------------ start and FAQ


async def test_start_help_and_a_free_text_question_are_answered(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    chat, mark = Chat(telegram, 7_100_001), telegram.mark()
    welcome = await chat.say("/start")
    assert "IMS Bot" in welcome.plain_text
    assert {c["command"] for c in telegram.commands} >= {"start", "help", "pending"}
    answer = await chat.say("what is IMS?")
    assert "Invoice Management System" in answer.plain_text
    topics = await chat.say("/faq", lambda m: bool(m.buttons()))
    pressed = telegram.user_presses(chat.user, topics.message_id, topics.labels()[0])
    shown = await telegram.wait_for_message(chat.user, since=pressed)  # an edit or a reply
    assert shown.plain_text
    unknown = await chat.say("/frobnicate")
    assert unknown.plain_text == texts.UNKNOWN_COMMAND
    no_bot_errors(telegram, bot, mark)


# ------------------------------------------------------------------------------ records


async def test_link_upload_and_act_on_cards_with_confirmations(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_100_002
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with_demo(chat)

    card, accepted = await invoice_card(chat, 0)
    toast, alert = await chat.press(card.message_id, texts.BUTTON_ACCEPT)
    assert (toast, alert) == (texts.ACTION_DONE["A"], False)
    card = await telegram.wait_for_message(
        user, lambda m: m.message_id == card.message_id and "Status: Accepted" in m.plain_text)
    assert texts.BUTTON_UNDO in card.labels()

    card, rejected = await invoice_card(chat, 0)
    assert rejected != accepted
    question = await chat.press_and_see(card.message_id, texts.BUTTON_REJECT,
                                        lambda m: texts.BUTTON_CONFIRM_REJECT in m.labels())
    assert by_number(bot_db, user)[rejected].status is Status.NO_ACTION  # asked, not done
    await chat.press_and_see(question.message_id, texts.BUTTON_CONFIRM_REJECT,
                             lambda m: "Status: Rejected" in m.plain_text)

    card, kept = await invoice_card(chat, 0)
    await chat.press_and_see(card.message_id, texts.BUTTON_PENDING,
                             lambda m: "Status: Pending" in m.plain_text)

    records = by_number(bot_db, user)
    assert records[accepted].status is Status.ACCEPTED
    assert records[rejected].status is Status.REJECTED
    assert records[kept].status is Status.PENDING
    access, service = services(bot_db)
    actions = [e for e in service.history(access.active(user).id, limit=50)
               if e.kind == "action"]
    assert sorted(e.number or "" for e in actions) == sorted([accepted, rejected, kept])
    no_bot_errors(telegram, bot, mark)


async def test_bulk_accept_previews_then_applies_once_and_logs_each_record(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_100_003
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with_demo(chat)
    listing = await chat.say("/pending", lambda m: "Needs a decision" in m.plain_text)
    await chat.press_and_see(listing.message_id, texts.BUTTON_BULK,
                             lambda m: any("under" in label for label in m.labels()))
    preview = await chat.press_and_see(
        listing.message_id, "Accept all under ₹50,000",
        lambda m: any(label.startswith("✅ Yes, accept") for label in m.labels()))
    confirm = next(label for label in preview.labels() if label.startswith("✅ Yes, accept"))
    count = int(re.sub(r"\D", "", confirm))
    assert by_number(bot_db, user) and all(
        r.status is not Status.ACCEPTED for r in by_number(bot_db, user).values()
    )  # a preview changes nothing
    data = dict(preview.buttons())[confirm]
    assert data is not None
    done = await chat.press_and_see(listing.message_id, confirm,
                                    lambda m: f"Accepted {count} record(s)" in m.plain_text)
    assert texts.BUTTON_UNDO_ALL in done.labels()
    toast, _ = await chat.press(listing.message_id, data, forged=True)  # a replayed tap
    assert toast is not None and "already done" in toast

    access, service = services(bot_db)
    w = access.active(user).id
    accepted = service.iter_all(w, RecordFilter(statuses=(Status.ACCEPTED,)))
    assert len(accepted) == count
    assert all(r.doc_value < 50_000 for r in accepted)
    logged = [e for e in service.history(w, limit=1000) if e.kind == "bulk"]
    assert sorted(e.record_id for e in logged) == sorted(r.id for r in accepted)
    assert len({e.batch for e in logged}) == 1
    no_bot_errors(telegram, bot, mark)


async def test_recompute_and_export_send_figures_and_the_save_request(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    user = 7_100_004
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with_demo(chat)
    figures = await chat.say("/recompute")
    assert "GSTR-2B" in figures.plain_text and "Nov 2025" in figures.plain_text
    nothing = await chat.say("/export")
    assert "Nothing to upload" in nothing.plain_text
    card, number = await invoice_card(chat, 0)
    await chat.press_and_see(card.message_id, texts.BUTTON_ACCEPT,
                             lambda m: "Status: Accepted" in m.plain_text)
    export = await chat.say("/export", lambda m: m.document is not None)
    assert DEMO_GSTIN in export.plain_text
    saved = json.loads(telegram.file_content(export.document["file_id"]))  # type: ignore[index]
    numbers = [r.get("inum") for records in saved["invdata"].values() for r in records]
    assert numbers == [number]
    no_bot_errors(telegram, bot, mark)


async def test_deadlines_lists_what_is_due_for_the_linked_gstin(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    needs_command("deadlines")
    user = 7_100_005
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with_demo(chat)
    report = await chat.say("/deadlines")
    assert "GSTR-3B" in report.plain_text and "20 Dec" in report.plain_text
    no_bot_errors(telegram, bot, mark)


async def test_two_users_of_the_same_gstin_never_see_each_others_records(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    owner, stranger = Chat(telegram, 7_100_006), Chat(telegram, 7_100_007)
    mark = telegram.mark()
    await linked_with_demo(owner)
    card, number = await invoice_card(owner, 0)
    accept = dict(card.buttons())[texts.BUTTON_ACCEPT]
    assert accept is not None

    await stranger.say(f"/link {DEMO_GSTIN}")  # the same GSTIN: a workspace of their own
    theirs = await stranger.say("/pending")
    assert "Nothing needs a decision" in theirs.plain_text
    # The owner's button data, replayed by the stranger under their own message.
    toast, alert = await stranger.press(theirs.message_id, accept, forged=True)
    assert alert and toast is not None and "no access" in toast
    assert by_number(bot_db, owner.user)[number].status is Status.NO_ACTION
    assert by_number(bot_db, stranger.user) == {}
    nothing = await stranger.say("/export")
    assert "Nothing to upload" in nothing.plain_text
    history = await stranger.say("/history")
    assert number not in history.plain_text
    no_bot_errors(telegram, bot, mark)


# ------------------------------------------------------------------------------ reminders


def _sweep_is_scheduled() -> bool:
    source = inspect.getsource(ims_bot.app)
    return "reminders.schedule" in source or ("schedule(" in source and "reminders" in source)


@pytest.mark.slow
async def test_a_due_reminder_is_sent_by_the_scheduled_sweep(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    if not _sweep_is_scheduled():
        pytest.skip("the reminder sweep is not scheduled in ims_bot.app's post_init yet")
    needs_command("remind")
    user = 7_100_008
    chat = Chat(telegram, user)
    await linked_with_demo(chat)
    # GSTR-3B of Nov 2025 is due 20 Dec: four days before is the fixed "today", at a time
    # already past, so the reminder is due at once (the sweep runs every minute).
    now = datetime.now(INDIA)
    at = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0))
    settings = await chat.say(f"/remind on 4 {at:%H:%M}")
    reminder = await telegram.wait_for_message(
        user, lambda m: m.message_id > settings.message_id, timeout=60, since=settings.seq
    )
    assert "GSTR-3B" in reminder.plain_text and "20 Dec" in reminder.plain_text


# ------------------------------------------------------------------------------ the process


async def test_uploads_of_other_files_are_refused_with_a_reason_and_change_nothing(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_100_009
    chat, mark = Chat(telegram, user), telegram.mark()
    await chat.say(f"/link {DEMO_GSTIN}")
    broken = await chat.upload("ims.json", b'{"b2b": [{"stin": 1}')
    assert "not an IMS file" in broken.plain_text
    bad = json.loads(demo_bytes(records=40))
    bad["imsDetails"]["b2b"][3]["idt"] = "31-02-2025"
    refused = await chat.upload("ims.json", json.dumps(bad).encode())
    assert "refused" in refused.plain_text and "nothing was imported" in refused.plain_text
    assert by_number(bot_db, user) == {}
    assert Section.B2B.value in refused.plain_text
    no_bot_errors(telegram, bot, mark)
