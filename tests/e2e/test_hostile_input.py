"""Black box, issue 11: hostile input to the running bot (`ims-bot run` over HTTP, against the
stand-in Bot API, which refuses what Telegram refuses). Every input gets its answer, Telegram
refuses nothing, the error handler is never reached, and nothing changes that should not.

One bot process serves the module; each test plays its own user, linked to RECIPIENT (a
workspace of its own) with a file made for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from handlers import texts
from handlers.callbackdata import BulkApply, BulkPreviewData
from ims_bot.db import Database
from ims_bot.domain import Status
from ims_bot.gstin import make_gstin
from ims_bot.offline import MAX_TEXT_LENGTH, telegram_length
from tests.e2e.conftest import BotProcess
from tests.e2e.telegram_server import Message, TelegramServer
from tests.e2e.test_bot_over_http import Chat, by_number, no_bot_errors, services
from tests.factories import RECIPIENT, invoice, note, portal_file

PUNE = make_gstin("27", "AAACP1234C")
NASHIK = make_gstin("27", "AAACN1234C")
COST = make_gstin("24", "AAACC1234C")


def bill_of_entry(number: str) -> dict[str, object]:
    """Imported goods: the importer accepts a bill of entry without any supplier GSTIN."""
    return {"rtnprd": "112025", "portcd": "INNSA1", "boenum": number, "boedt": "03-11-2025",
            "txval": 10000.0, "iamt": 1800.0, "cess": 0, "action": "N", "hash": f"h-{number}"}


async def linked_with(chat: Chat, data: bytes) -> None:
    linked = await chat.say(f"/link {RECIPIENT}")
    assert "Linked" in linked.plain_text, linked.plain_text
    result = await chat.upload("ims.json", data)
    assert "Imported" in result.plain_text, result.plain_text


async def listing(chat: Chat) -> Message:
    return await chat.say("/pending", lambda m: "Needs a decision" in m.plain_text)


async def only_reply(chat: Chat, send: Callable[[], int]) -> list[Message]:
    """What the bot sent in answer to one input: everything since it, once a /help sent right
    after is answered (one user's updates are handled in order) and a moment more has passed
    (an error handler may answer late)."""
    mark = send()
    sentinel = chat.server.user_sends(chat.user, "/help")
    answer = await chat.server.wait_for_message(
        chat.user, lambda m: m.plain_text.startswith("How to use IMS Bot"), since=sentinel)
    await asyncio.sleep(1.0)
    return [m for m in chat.server.bot_messages(chat.user, mark)
            if m.message_id != answer.message_id]


# ------------------------------------------------------------------------------ item 6


async def test_a_bill_of_entry_without_a_supplier_gstin_breaks_no_menu(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    chat, mark = Chat(telegram, 7_200_001), telegram.mark()
    await linked_with(chat, portal_file(b2b=[invoice("INV-1")], impg=[bill_of_entry("BE-1")]))
    pending = await listing(chat)
    card = await chat.press_and_see(pending.message_id, "BE-1",
                                    lambda m: "Bill of Entry" in m.plain_text)
    assert "Supplier: Customs (import)" in card.plain_text
    assert texts.BUTTON_SUPPLIER_ALL not in card.labels()
    await chat.press_and_see(pending.message_id, texts.BUTTON_BACK_TO_LIST,
                             lambda m: "Needs a decision" in m.plain_text)
    menu = await chat.press_and_see(pending.message_id, texts.BUTTON_FILTER_SUPPLIER,
                                    lambda m: "this supplier" in m.plain_text)
    assert any(label.startswith("Tata Steel") for label in menu.labels())
    await chat.press_and_see(pending.message_id, texts.BUTTON_BACK_TO_LIST,
                             lambda m: "Needs a decision" in m.plain_text)
    bulk = await chat.press_and_see(pending.message_id, texts.BUTTON_BULK,
                                    lambda m: texts.BUTTON_BULK_ALL in m.labels())
    assert any(label.startswith("All from Tata Steel") for label in bulk.labels())
    await chat.press_and_see(pending.message_id, texts.BUTTON_BULK_ALL,
                             lambda m: "Accept <b>2</b>" in (m.text or ""))
    summary = await chat.say("/summary", lambda m: m.photo is not None)
    assert summary.photo
    no_bot_errors(telegram, bot, mark)


# ------------------------------------------------------------------------------ item 7


async def test_summary_draws_suppliers_named_like_maths_and_with_one_long_prefix(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    chat, mark = Chat(telegram, 7_200_002), telegram.mark()
    await linked_with(chat, portal_file(b2b=[
        invoice("M-1", supplier=COST, trdnm="Cost $\\frac{$ Traders", tax=500.0),
        invoice("P-1", supplier=PUNE, trdnm="Maharashtra Steel Distributors Pune"),
        invoice("N-1", supplier=NASHIK, trdnm="Maharashtra Steel Distributors Nashik"),
    ]))
    summary = await chat.say("/summary", lambda m: m.photo is not None)
    assert summary.photo
    no_bot_errors(telegram, bot, mark)


# ------------------------------------------------------------------------------ item 8


async def test_a_typed_partial_reduction_beyond_what_rupees_hold_gets_one_clear_reply(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_200_003
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with(chat, portal_file(b2bcn=[note("CN-1")]))
    pending = await listing(chat)
    await chat.press_and_see(pending.message_id, "CN-1",
                             lambda m: texts.BUTTON_ACCEPT in m.labels())
    await chat.press_and_see(pending.message_id, texts.BUTTON_ACCEPT,
                             lambda m: texts.BUTTON_REDUCE_PARTIAL in m.labels())
    for amounts in ("1e27,0,0,0", "0,0,0,1e400", "0,0.001,0,0", "0,999999999999999,0,0"):
        # A fresh prompt each time: the /help that ends `only_reply` closes the last one.
        since = telegram.mark()
        telegram.user_presses(user, pending.message_id, texts.BUTTON_REDUCE_PARTIAL)
        prompt = await telegram.wait_for_message(
            user, lambda m: m.plain_text.startswith("Reply with the ITC"), since=since)
        replies = await only_reply(chat, lambda a=amounts, p=prompt.message_id:
                                   telegram.user_sends(user, a, reply_to=p))
        assert len(replies) == 1, [m.plain_text for m in replies]
        assert "⚠️" in replies[0].plain_text and "999,999,999,999.99" in replies[0].plain_text
        assert by_number(bot_db, user)["CN-1"].status is Status.NO_ACTION
    no_bot_errors(telegram, bot, mark)


async def test_a_forged_bulk_amount_of_thirty_nines_changes_nothing_and_is_answered(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_200_004
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with(chat, portal_file(b2b=[invoice("INV-1"), invoice("INV-2")]))
    pending = await listing(chat)
    access, _ = services(bot_db)
    w = access.active(user).id
    # What the bot would pack, with the amount swapped (pack itself refuses such amounts).
    real = BulkApply(w, "under", "50000").pack()
    for forged in (real.replace("50000", "9" * 30),
                   BulkPreviewData(w, "under", "50000").pack().replace("50000", "9" * 30),
                   real.replace("50000", "1000000000000"), real.replace("50000", "50000.5")):
        text, alert = await chat.press(pending.message_id, forged, forged=True)
        assert alert and text == texts.BUTTON_NO_LONGER_VALID
        assert {r.status for r in by_number(bot_db, user).values()} == {Status.NO_ACTION}
    no_bot_errors(telegram, bot, mark)


# ------------------------------------------------------------------------------ item 9


async def test_remind_with_a_4000_character_word_is_answered_within_telegrams_limit(
    telegram: TelegramServer, bot: BotProcess
) -> None:
    chat, mark = Chat(telegram, 7_200_005), telegram.mark()
    for word in ("x" * 4000, "<&>" * 1400, "🧾" * 2100):
        replies = await only_reply(chat, lambda w=word: telegram.user_sends(chat.user,
                                                                            f"/remind {w}"))
        assert len(replies) == 1, [m.plain_text[:80] for m in replies]
        assert "Reminders" in replies[0].plain_text
        assert telegram_length(replies[0].plain_text) <= MAX_TEXT_LENGTH
    no_bot_errors(telegram, bot, mark)
