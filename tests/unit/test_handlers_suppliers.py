"""Naming suppliers from Telegram: /supplier, the card's ✏️ button, and names shown in lists
and cards (escaped). Offline Bot API on the production wiring, SQLite."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from handlers import texts
from handlers.callbackdata import NameSupplier
from ims_bot.db import Database
from ims_bot.deadline_report import NewRecords, SupplierItc
from ims_bot.domain import Section
from ims_bot.gstin import make_gstin
from ims_bot.records import RecordFilter
from ims_bot.reminders import digest_message
from ims_bot.settings import INDIA
from tests.botkit import OTHER_USER, USER, bot_harness, only
from tests.factories import RECIPIENT, SUPPLIER_A, SUPPLIER_B, invoice
from tests.unit.test_handlers_records import (
    answer,
    core_for,
    linked_with_records,
    no_errors,
    open_card,
    sent,
    workspace_id,
)

SUPPLIER_C = make_gstin("29", "AAACR5055K")
READABLE_C = f"{SUPPLIER_C[:2]} {SUPPLIER_C[2:12]} {SUPPLIER_C[12:]}"
RECORDS = dict(
    b2b=[invoice("INV-101"), invoice("GC-7", supplier=SUPPLIER_B),
         invoice("KA-1", supplier=SUPPLIER_C, trdnm="")],
)


def bill_of_entry(number: str) -> dict[str, object]:
    return {"rtnprd": "112025", "portcd": "INNSA1", "boenum": number, "boedt": "03-11-2025",
            "txval": 10000.0, "iamt": 1800.0, "cess": 0, "action": "N", "hash": f"h-{number}"}


async def test_an_unnamed_supplier_shows_its_readable_gstin_in_the_list_and_card(
    sqlite_db: Database,
) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot, **RECORDS)
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        labels = [label for label, _ in listing.buttons()]
        assert any(label.startswith(f"KA-1 · {READABLE_C} · ₹") for label in labels), labels
        assert not any(" · ? · " in label for label in labels)
        calls = await bot.press(USER, listing.message_id, "KA-1")
        no_errors(calls)
        assert f"Supplier: {READABLE_C}" in sent(calls).text


async def test_supplier_command_names_it_and_lists_and_cards_show_the_name_escaped(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot, **RECORDS)
        calls = await bot.command(USER, "supplier", f"{SUPPLIER_C.lower()} Rao <b>&</b> Sons")
        no_errors(calls)
        done = only(calls, "sendMessage").text
        assert f"<code>{SUPPLIER_C}</code>" in done and "Rao &lt;b&gt;&amp;&lt;/b&gt; Sons" in done
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        assert any(label.startswith("KA-1 · Rao <b>&</b> · ₹") for label, _ in listing.buttons())
        calls = await bot.press(USER, listing.message_id, "KA-1")
        no_errors(calls)
        assert f"Supplier: Rao &lt;b&gt;&amp;&lt;/b&gt; Sons (<code>{SUPPLIER_C}</code>)" in (
            sent(calls).text
        )
        assert core.records is not None
        found = core.records.list(workspace_id(core), RecordFilter(supplier="rao <b>")).items
        assert [r.number for r in found] == ["KA-1"]


async def test_supplier_command_explains_itself_and_refuses_a_stranger(
    sqlite_db: Database,
) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        assert only(await bot.command(USER, "supplier"), "sendMessage").text == (
            texts.SUPPLIER_USAGE
        )
        not_linked = only(await bot.command(USER, "supplier", f"{SUPPLIER_A} Tata"),
                          "sendMessage")
        assert not_linked.text == texts.NOT_LINKED
        await linked_with_records(bot, **RECORDS)
        assert only(await bot.command(USER, "supplier", SUPPLIER_A), "sendMessage").text == (
            texts.SUPPLIER_USAGE
        )
        stranger = make_gstin("07", "AAACD1234E")
        calls = await bot.command(USER, "supplier", f"{stranger} Delhi Traders")
        no_errors(calls)
        assert "not a supplier here" in only(calls, "sendMessage").text
        calls = await bot.command(USER, "supplier", f"{SUPPLIER_A} {'x' * 101}")
        assert "at most 100 characters" in only(calls, "sendMessage").text


async def test_the_card_button_hands_over_a_command_to_complete_and_waits_for_nothing(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot, **RECORDS)
        card_id = await open_card(bot, "KA-1")
        calls = await bot.press(USER, card_id, texts.BUTTON_NAME_SUPPLIER)
        no_errors(calls)
        assert answer(calls).params.get("show_alert") is not True
        hint = only(calls, "sendMessage")
        assert f"<code>/supplier {SUPPLIER_C} </code>" in hint.text and READABLE_C in hint.text
        assert "reply_markup" not in hint.params  # no ForceReply: no prompt state
        await bot.text(USER, "Shree Ganesh Traders")  # free text is a question, not a name
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        assert any(label.startswith(f"KA-1 · {READABLE_C}") for label, _ in listing.buttons())


async def test_a_forged_name_button_of_another_workspace_reveals_nothing(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot, **RECORDS)
        w = workspace_id(core)
        assert core.records is not None
        record = core.records.iter_all(w)[0]
        await bot.command(OTHER_USER, "link", RECIPIENT)
        theirs = only(await bot.command(OTHER_USER, "pending"), "sendMessage")
        calls = await bot.callback(OTHER_USER, theirs.message_id, NameSupplier(w, record.id).pack())
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["show_alert"] is True and "no access" in calls[0].params["text"]


async def test_a_bill_of_entry_without_a_supplier_gstin_opens_as_customs(
    sqlite_db: Database,
) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot, b2b=[invoice("INV-101")], impg=[bill_of_entry("BE-1")])
        card_id = await open_card(bot, "BE-1")
        card = bot.api.message(USER, card_id)
        assert "Supplier: Customs (import)" in (card.text or "")
        labels = [label for label, _ in card.buttons()]
        assert texts.BUTTON_NAME_SUPPLIER not in labels
        assert texts.BUTTON_SUPPLIER_ALL not in labels
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        calls = await bot.press(USER, listing.message_id, texts.BUTTON_FILTER_SUPPLIER)
        no_errors(calls)


def test_the_digest_names_a_bill_of_entry_customs_without_an_empty_gstin() -> None:
    news = NewRecords(records=1, open_records=1, itc=Decimal(1800),
                      by_section=((Section.IMPG, 1),),
                      top_suppliers=(SupplierItc("", "", 1, Decimal(1800)),))
    text, _ = digest_message(news, RECIPIENT, "", datetime(2025, 12, 1, 8, tzinfo=INDIA),
                             workspace=1)
    assert "1. Customs (import) ₹1,800" in text and "<code></code>" not in text
