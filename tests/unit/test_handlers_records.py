"""Records from Telegram: link, import, /pending, cards, actions, bulk, undo, reports.

Offline Bot API, real database (SQLite; the `database` tests also run on PostgreSQL).
Assertions are on the Bot API calls the bot made and on state read back through services.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from handlers import texts
from handlers.callbackdata import ConfirmAction, OpenRecord
from ims_bot.app import Core
from ims_bot.db import Database
from ims_bot.domain import Frequency, Period, Status
from ims_bot.offline import ApiCall, html_problem
from ims_bot.records import RecordFilter
from tests.botkit import OTHER_USER, USER, BotHarness, bot_harness, make_core, make_settings, only
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note, portal_file

TODAY = date(2025, 11, 10)  # before the Oct 2025 draft GSTR-2B (14 Nov)


def core_for(db: Database, today: date = TODAY) -> Core:
    return make_core(make_settings(today_override=today), db=db)


def sent(calls: list[ApiCall]) -> ApiCall:
    """The last message sent or edited."""
    return [c for c in calls if c.method in ("sendMessage", "editMessageText")][-1]


def answer(calls: list[ApiCall]) -> ApiCall:
    assert calls[0].method == "answerCallbackQuery", [c.method for c in calls]
    return calls[0]


def no_errors(calls: list[ApiCall]) -> None:
    assert [c.error for c in calls if c.error] == []
    for c in calls:
        if c.method in ("sendMessage", "editMessageText") and c.params.get("parse_mode"):
            assert html_problem(c.text or "") is None, c.text


STANDARD = dict(
    b2b=[
        invoice("INV-101", tax=900.0),
        invoice("INV-102", tax=45.0),
        invoice("GC-7", supplier=SUPPLIER_B, tax=25000.0),
    ],
    b2bcn=[note("CN-9", tax=90.0)],
)


async def linked_with_records(
    bot: BotHarness, user: int = USER, **sections: list[dict[str, Any]]
) -> list[ApiCall]:
    await bot.command(user, "link", RECIPIENT)
    data = portal_file(**(sections or STANDARD))
    return await bot.document(user, "ims.json", data, "application/json")


def workspace_id(core: Core, user: int = USER) -> int:
    assert core.access is not None
    return core.access.active(user).id


def status_of(core: Core, number: str, user: int = USER) -> Status:
    assert core.records is not None
    [record] = [r for r in core.records.iter_all(workspace_id(core, user)) if r.number == number]
    return record.status


async def open_card(bot: BotHarness, number: str, user: int = USER) -> int:
    listing = only(await bot.command(user, "pending"), "sendMessage")
    await bot.press(user, listing.message_id, number)
    return listing.message_id


# ------------------------------------------------------------------------ linking


async def test_commands_without_a_linked_gstin_explain_how_to_link(sqlite_db: Database) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        for command in ("pending", "history", "summary", "export", "recompute", "invite",
                        "unlink"):
            calls = await bot.command(USER, command)
            assert sent(calls).text == texts.NOT_LINKED, command
        text = only(await bot.document(USER, "ims.json", b"{}", "application/json"),
                    "sendMessage").text
        assert text == texts.NOT_LINKED


async def test_link_validates_the_gstin_and_names_the_problem(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        text = only(await bot.command(USER, "link", "27AAPFU0939F1ZA"), "sendMessage").text
        assert "check character" in text and "expected 'V'" in text
        assert "15 characters" in only(await bot.command(USER, "link", "27AAPF"),
                                       "sendMessage").text
        assert only(await bot.command(USER, "link"), "sendMessage").text == texts.LINK_USAGE
        assert core.access is not None and core.access.workspaces(USER) == []


async def test_link_creates_a_monthly_workspace_and_the_buttons_change_the_frequency(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        message = only(await bot.command(USER, "link", RECIPIENT.lower()), "sendMessage")
        assert RECIPIENT in message.text and "Maharashtra" in message.text
        assert core.access is not None
        assert core.access.active(USER).frequency is Frequency.MONTHLY
        calls = await bot.press(USER, message.message_id, "Quarterly")
        no_errors(calls)
        assert answer(calls).params.get("show_alert") is not True
        assert core.access.active(USER).frequency is Frequency.QUARTERLY
        assert ("✓ Quarterly (QRMP)", f"ws:freq:{workspace_id(core)}:q") in sent(calls).buttons()


async def test_gstin_lists_owned_and_shared_and_switches(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        await bot.command(USER, "link", SUPPLIER_B)
        assert core.access is not None
        assert core.access.active(USER).gstin == SUPPLIER_B
        listing = only(await bot.command(USER, "gstin"), "sendMessage")
        labels = [label for label, _ in listing.buttons()]
        assert any(label.startswith("✓ " + SUPPLIER_B) for label in labels)
        calls = await bot.press(USER, listing.message_id, RECIPIENT)
        no_errors(calls)
        assert core.access.active(USER).gstin == RECIPIENT


# ------------------------------------------------------------------------ importing


async def test_sending_the_portal_file_imports_it_and_summarises(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        calls = await linked_with_records(bot)
        no_errors(calls)
        methods = [c.method for c in calls]
        assert methods[:3] == ["sendMessage", "getFile", "download"]
        final = calls[-1]
        assert final.method == "editMessageText"
        assert final.message_id == calls[0].message_id  # progress and result in one message
        assert "Imported 4 record(s)" in final.text
        assert "Invoices 3" in final.text and "Credit notes 1" in final.text
        assert "ITC at stake" in final.text
        assert core.records is not None
        assert core.records.list(workspace_id(core)).total == 4


async def test_a_file_that_is_not_json_is_explained_and_changes_nothing(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        calls = await bot.document(USER, "invoice.pdf", b"%PDF-1.7", "application/pdf")
        assert [c.method for c in calls] == ["sendMessage"]
        assert "IMS JSON" in calls[0].text
        calls = await bot.document(USER, "ims.json", b"{not json", "application/json")
        assert "not an IMS file" in calls[-1].text and "JSON" in calls[-1].text
        calls = await bot.document(USER, "export", b'{"gstin": "x"}', "application/octet-stream")
        assert "no IMS sections found" in calls[-1].text
        assert core.records is not None and core.records.list(workspace_id(core)).total == 0


async def test_a_file_with_bad_records_is_refused_whole(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        bad = invoice("INV-BAD", stin="NOT-A-GSTIN")
        calls = await linked_with_records(bot, b2b=[invoice("INV-OK"), bad])
        no_errors(calls)
        assert "refused" in calls[-1].text and len(calls[-1].text) <= 4096
        assert core.records is not None and core.records.list(workspace_id(core)).total == 0


async def test_a_file_over_telegrams_download_limit_is_not_fetched(sqlite_db: Database) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await bot.command(USER, "link", RECIPIENT)
        big = b" " * (21 * 1024 * 1024)
        calls = await bot.document(USER, "ims.json", big, "application/json")
        assert [c.method for c in calls] == ["sendMessage"]
        assert "20 MB" in calls[0].text


# ------------------------------------------------------------------------ /pending and cards


async def test_pending_lists_records_as_buttons_and_opens_a_card(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        labels = [label for label, _ in listing.buttons()]
        assert any(label.startswith("INV-101 · Tata Steel · ₹") for label in labels)
        calls = await bot.press(USER, listing.message_id, "INV-101")
        no_errors(calls)
        card = sent(calls)
        assert "Invoice INV-101" in card.text and "CGST ₹900" in card.text
        assert "Nov 2025" in card.text and "Tata Steel Distributors" in card.text
        buttons = [label for label, _ in card.buttons()]
        assert {texts.BUTTON_ACCEPT, texts.BUTTON_REJECT, texts.BUTTON_PENDING} <= set(buttons)


async def test_pending_pages_and_filters_keep_their_state_in_the_buttons(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        many = [invoice(f"INV-{n:03d}", tax=100.0 + n) for n in range(11)]
        await linked_with_records(bot, b2b=[*many, invoice("GC-1", supplier=SUPPLIER_B)])
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        assert "page 1 of 2" in listing.text
        calls = await bot.press(USER, listing.message_id, "›")
        assert "page 2 of 2" in sent(calls).text
        calls = await bot.press(USER, listing.message_id, "Supplier…")
        calls = await bot.press(USER, listing.message_id, "Gujarat")
        no_errors(calls)
        page = sent(calls)
        assert "1 record(s)" in page.text and "Gujarat Chemicals" in page.text
        assert [label for label, _ in page.buttons() if label.startswith("GC-1")]
        # The same button again: "message is not modified" is not an error.
        again = await bot.callback(USER, listing.message_id, calls[-1].buttons()[0][1] or "")
        assert again[0].method == "answerCallbackQuery"


async def test_credit_notes_come_first_when_their_pending_window_is_closing(
    sqlite_db: Database,
) -> None:
    # Oct 2025 credit notes may stay pending until 20 Dec 2025: close on 15 Dec.
    core = core_for(sqlite_db, today=date(2025, 12, 15))
    async with bot_harness(core) as bot:
        await linked_with_records(
            bot, b2b=[invoice("INV-NEW", period="112025")], b2bcn=[note("CN-OLD", period="102025")]
        )
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        assert "Credit notes first" in listing.text and "20 Dec 2025" in listing.text
        assert listing.buttons()[0][0].startswith("CN-OLD")


# ------------------------------------------------------------------------ acting


async def test_accept_from_the_card_changes_the_record_and_offers_undo(
    database: Database,
) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "INV-101")
        calls = await bot.press(USER, card_id, texts.BUTTON_ACCEPT)
        no_errors(calls)
        assert answer(calls).params.get("text") == "✅ Accepted"
        assert status_of(core, "INV-101") is Status.ACCEPTED
        assert "Accepted" in sent(calls).text
        calls = await bot.press(USER, card_id, texts.BUTTON_UNDO)
        no_errors(calls)
        assert status_of(core, "INV-101") is Status.NO_ACTION
        assert "Undone" in sent(calls).text


async def test_a_double_tap_acts_once_and_says_so(database: Database) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "INV-101")
        accept = dict(bot.api.message(USER, card_id).buttons())[texts.BUTTON_ACCEPT]
        assert accept is not None
        first = await bot.callback(USER, card_id, accept)
        second = await bot.callback(USER, card_id, accept)  # the same, stale button
        no_errors(first + second)
        assert answer(second).params.get("text") == texts.ALREADY.format(status="accepted")
        assert core.records is not None
        history = core.records.history(workspace_id(core))
        assert [e.to_status for e in history if e.kind == "action"] == [Status.ACCEPTED]


async def test_an_outdated_card_says_the_record_changed_and_shows_it_afresh(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "INV-101")
        stale_pending = dict(bot.api.message(USER, card_id).buttons())[texts.BUTTON_PENDING]
        await bot.press(USER, card_id, texts.BUTTON_ACCEPT)
        calls = await bot.callback(USER, card_id, stale_pending or "")
        no_errors(calls)
        assert answer(calls).params["text"] == texts.CHANGED_SINCE
        assert answer(calls).params["show_alert"] is True
        assert status_of(core, "INV-101") is Status.ACCEPTED
        assert "Status: <b>Accepted</b>" in sent(calls).text


async def test_reject_asks_first_and_says_what_it_costs(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "CN-9")
        calls = await bot.press(USER, card_id, texts.BUTTON_REJECT)
        question = sent(calls).text
        assert "no ITC" in question and "supplier's liability rises" in question
        assert status_of(core, "CN-9") is Status.NO_ACTION  # nothing yet
        calls = await bot.press(USER, card_id, texts.BUTTON_CONFIRM_REJECT)
        no_errors(calls)
        assert status_of(core, "CN-9") is Status.REJECTED


async def test_reject_with_remarks_typed_in_reply_to_the_prompt(database: Database) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "INV-102")
        await bot.press(USER, card_id, texts.BUTTON_REJECT)
        calls = await bot.press(USER, card_id, texts.BUTTON_ADD_REMARKS)
        no_errors(calls)
        prompt = only(calls, "sendMessage")
        assert prompt.params["reply_markup"]["force_reply"] is True
        reply = await bot.feed(
            bot.api.text_update(USER, "Not our purchase", reply_to=prompt.message_id)
        )
        no_errors(reply)
        assert "Rejected" in sent(reply).text
        assert core.records is not None
        [record] = core.records.iter_all(workspace_id(core), RecordFilter(statuses=(
            Status.REJECTED,)))
        assert (record.number, record.remarks) == ("INV-102", "Not our purchase")


async def test_remarks_typed_without_reply_still_count_but_a_command_cancels_the_wait(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "INV-102")
        await bot.press(USER, card_id, texts.BUTTON_REJECT)
        await bot.press(USER, card_id, texts.BUTTON_ADD_REMARKS)
        await bot.text(USER, "Duplicate bill")
        assert status_of(core, "INV-102") is Status.REJECTED
        card_id = await open_card(bot, "INV-101")
        await bot.press(USER, card_id, texts.BUTTON_REJECT)
        await bot.press(USER, card_id, texts.BUTTON_ADD_REMARKS)
        await bot.command(USER, "help")
        await bot.text(USER, "what is IMS?")  # an FAQ question now, not a remark
        assert status_of(core, "INV-101") is Status.NO_ACTION


async def test_supplier_text_that_looks_like_a_prompt_reference_steers_nothing(
    sqlite_db: Database,
) -> None:
    """Issue 11: a document number `ref rej.1.1.1` was read as the bot's own prompt reference:
    replying to that card rejected another record."""
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot, b2b=[invoice("INV-1"), invoice("ref rej.1.1.1")])
        w = workspace_id(core)
        card_id = await open_card(bot, "ref rej.1.1.1")
        card = bot.api.message(USER, card_id)
        assert "ref rej.1.1.1" in (card.text or "")
        # A question typed in reply to the card is a question, not remarks, for any record.
        calls = await bot.feed(bot.api.text_update(USER, "is this the March order?",
                                                   reply_to=card_id))
        assert calls and all("Rejected" not in (c.text or "") for c in calls)
        assert {r.status for r in core.records.iter_all(w)} == {Status.NO_ACTION}


async def test_a_reply_to_a_card_while_a_prompt_waits_is_a_question(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        other = await open_card(bot, "INV-101")
        card_id = await open_card(bot, "INV-102")
        await bot.press(USER, card_id, texts.BUTTON_REJECT)
        prompt = only(await bot.press(USER, card_id, texts.BUTTON_ADD_REMARKS), "sendMessage")
        await bot.feed(bot.api.text_update(USER, "is this the March order?", reply_to=other))
        assert status_of(core, "INV-101") is Status.NO_ACTION
        assert status_of(core, "INV-102") is Status.NO_ACTION
        # The prompt still waits: its own reply rejects the record it was asked for.
        await bot.feed(bot.api.text_update(USER, "Duplicate bill", reply_to=prompt.message_id))
        assert status_of(core, "INV-102") is Status.REJECTED
        assert status_of(core, "INV-101") is Status.NO_ACTION


async def test_accepting_a_credit_note_asks_about_the_itc_reduction(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "CN-9")
        calls = await bot.press(USER, card_id, texts.BUTTON_ACCEPT)
        assert "Must your ITC be reduced" in sent(calls).text
        assert status_of(core, "CN-9") is Status.NO_ACTION
        calls = await bot.press(USER, card_id, texts.BUTTON_REDUCE_NIL)
        no_errors(calls)
        assert core.records is not None
        views = {r.number: r for r in core.records.iter_all(workspace_id(core))}
        assert views["CN-9"].status is Status.ACCEPTED and views["CN-9"].reduction == "nil"


async def test_a_partial_reduction_is_typed_as_amounts(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "CN-9")
        await bot.press(USER, card_id, texts.BUTTON_ACCEPT)
        calls = await bot.press(USER, card_id, "Partial")
        prompt = only(calls, "sendMessage")
        too_much = await bot.feed(
            bot.api.text_update(USER, "0,500,0,0", reply_to=prompt.message_id)
        )
        assert "cannot be more than" in sent(too_much).text
        assert status_of(core, "CN-9") is Status.NO_ACTION
        ok = await bot.feed(bot.api.text_update(USER, "0,45,45,0", reply_to=prompt.message_id))
        no_errors(ok)
        assert core.records is not None
        views = {r.number: r for r in core.records.iter_all(workspace_id(core))}
        assert views["CN-9"].reduction == "partial"


async def test_a_refused_action_explains_why_and_links_the_faq(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        # A credit note of the Sep 2025 period may not be kept pending.
        await linked_with_records(bot, b2bcn=[note("CN-SEP", period="092025")])
        card_id = await open_card(bot, "CN-SEP")
        card = bot.api.message(USER, card_id)
        assert texts.BUTTON_PENDING not in [label for label, _ in card.buttons()]
        assert "Pending not offered:" in (card.text or "")
        assert any(data and data.startswith("faq:ans:") for _, data in card.buttons())
        w = workspace_id(core)
        record = next(iter(core.records.iter_all(w))) if core.records else None
        assert record is not None
        forged = ConfirmAction(w, record.id, record.version, "P", "-").pack()
        calls = await bot.callback(USER, card_id, forged)
        no_errors(calls)
        assert answer(calls).params["show_alert"] is True
        assert "credit note" in answer(calls).params["text"].lower()
        assert any(data and data.startswith("faq:ans:") for _, data in sent(calls).buttons())
        assert status_of(core, "CN-SEP") is Status.NO_ACTION
        faq = await bot.press(USER, card_id, "Why? (FAQ)")
        no_errors(faq)


# ------------------------------------------------------------------------ access from buttons


async def test_buttons_forged_by_another_user_change_nothing(database: Database) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        w = workspace_id(core)
        assert core.records is not None
        record = core.records.iter_all(w)[0]
        await bot.command(OTHER_USER, "link", RECIPIENT)  # same GSTIN, own workspace
        theirs = only(await bot.command(OTHER_USER, "pending"), "sendMessage")
        assert "Nothing needs a decision" in theirs.text
        forged = ConfirmAction(w, record.id, record.version, "R", "-").pack()
        calls = await bot.callback(OTHER_USER, theirs.message_id, forged)
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["show_alert"] is True
        assert "no access" in calls[0].params["text"]
        # The other user's own workspace id with this user's record: not found there.
        own = workspace_id(core, OTHER_USER)
        calls = await bot.callback(OTHER_USER, theirs.message_id, OpenRecord(own, record.id).pack())
        assert calls[0].params["show_alert"] is True
        assert core.records.get(w, record.id).status is Status.NO_ACTION
        calls = await bot.callback(OTHER_USER, theirs.message_id, "rec:ok:1:2")
        assert calls[0].params["text"] == texts.BUTTON_NO_LONGER_VALID


async def test_invite_join_and_revoke(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        message = only(await bot.command(USER, "invite"), "sendMessage")
        code = message.text.split("<code>")[1].split("</code>")[0]
        joined = only(await bot.command(OTHER_USER, "join", code), "sendMessage")
        assert RECIPIENT in joined.text
        listing = only(await bot.command(OTHER_USER, "pending"), "sendMessage")
        assert "4 record(s)" in listing.text
        members = only(await bot.command(USER, "members"), "sendMessage")
        await bot.press(USER, members.message_id, texts.BUTTON_REVOKE_ACCESS)
        calls = await bot.press(USER, members.message_id, texts.BUTTON_CONFIRM_REVOKE)
        no_errors(calls)
        calls = await bot.press(OTHER_USER, listing.message_id, "INV-101")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert "no access" in calls[0].params["text"]
        assert sent(await bot.command(OTHER_USER, "pending")).text == texts.NOT_LINKED


async def test_unlink_asks_first_then_deletes_the_workspace(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        question = only(await bot.command(USER, "unlink"), "sendMessage")
        assert "deletes" in question.text
        await bot.press(USER, question.message_id, texts.BUTTON_CANCEL)
        assert core.access is not None and len(core.access.workspaces(USER)) == 1
        question = only(await bot.command(USER, "unlink"), "sendMessage")
        calls = await bot.press(USER, question.message_id, texts.BUTTON_UNLINK)
        no_errors(calls)
        assert core.access.workspaces(USER) == []
        assert sent(await bot.command(USER, "pending")).text == texts.NOT_LINKED


# ------------------------------------------------------------------------ bulk


async def test_bulk_accept_under_an_amount_previews_then_applies_once(database: Database) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        await bot.press(USER, listing.message_id, texts.BUTTON_BULK)
        calls = await bot.press(USER, listing.message_id, "Accept all under ₹50,000")
        preview = sent(calls).text
        # INV-101 (₹11,800), INV-102 (₹10,090) and CN-9 (₹10,180) are under ₹50,000;
        # GC-7 (₹60,000) is not.
        assert "Accept <b>3</b> record(s)" in preview
        assert status_of(core, "INV-101") is Status.NO_ACTION
        confirm = dict(bot.api.message(USER, listing.message_id).buttons())
        data = next(d for label, d in confirm.items() if label.startswith("✅ Yes, accept"))
        assert data is not None
        done = await bot.callback(USER, listing.message_id, data)
        twice = await bot.callback(USER, listing.message_id, data)
        no_errors(done + twice)
        assert "Accepted 3 record(s)" in sent(done).text
        assert [c.method for c in twice] == ["answerCallbackQuery"]
        assert "already done" in answer(twice).params["text"]
        assert status_of(core, "GC-7") is Status.NO_ACTION
        assert {status_of(core, n) for n in ("INV-101", "INV-102", "CN-9")} == {Status.ACCEPTED}
        calls = await bot.press(USER, listing.message_id, texts.BUTTON_UNDO_ALL)
        no_errors(calls)
        assert status_of(core, "INV-101") is Status.NO_ACTION


async def test_accept_all_from_a_supplier_from_the_card(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "GC-7")
        calls = await bot.press(USER, card_id, texts.BUTTON_SUPPLIER_ALL)
        assert "from Gujarat Chemicals" in sent(calls).text
        await bot.press(USER, card_id, "Yes, accept 1")
        assert status_of(core, "GC-7") is Status.ACCEPTED
        assert status_of(core, "INV-101") is Status.NO_ACTION


# ------------------------------------------------------------------------ reports


async def test_recompute_is_refused_before_the_draft_with_the_portals_reason(
    sqlite_db: Database,
) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot)
        text = only(await bot.command(USER, "recompute", "112025"), "sendMessage").text
        assert "generated on 14 Dec 2025" in text
        assert only(await bot.command(USER, "recompute", "13-2025"), "sendMessage").text == (
            texts.RECOMPUTE_USAGE
        )


async def test_recompute_shows_figures_per_head_and_the_change(sqlite_db: Database) -> None:
    core = core_for(sqlite_db, today=date(2025, 12, 15))
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        first = only(await bot.command(USER, "recompute"), "sendMessage").text
        assert "Nov 2025" in first and "CGST" in first and "Available" in first
        card_id = await open_card(bot, "INV-101")
        await bot.press(USER, card_id, texts.BUTTON_REJECT)
        await bot.press(USER, card_id, texts.BUTTON_CONFIRM_REJECT)
        second = only(await bot.command(USER, "recompute", "112025"), "sendMessage").text
        assert "Change since the last recompute" in second
        third = only(await bot.command(USER, "recompute", "112025"), "sendMessage").text
        assert "Nothing changed" in third


async def test_recompute_in_chat_shows_saved_and_time_barred_records_apart(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db, today=date(2025, 12, 15))
    async with bot_harness(core) as bot:
        await linked_with_records(bot, b2b=[
            invoice("INV-1"), invoice("INV-SAVED", srcfilstatus="Not Filed"),
            invoice("INV-OLD", idt="20-03-2025"),
        ])
        text = only(await bot.command(USER, "recompute", "112025"), "sendMessage").text
        assert "Not filed" in text and "Time-bar" in text
        assert "only saved by the supplier" in text and "Section 16(4)" in text
        await open_card(bot, "INV-OLD")
        card = sent(bot.api.calls)
        assert "time-barred under Section 16(4)" in card.text and "brings no ITC" in card.text
        assert texts.BUTTON_PENDING not in str(card.params.get("reply_markup"))


async def test_filed_and_annual_return_are_recorded_from_chat(sqlite_db: Database) -> None:
    core = core_for(sqlite_db, today=date(2025, 12, 15))
    async with bot_harness(core) as bot:
        await linked_with_records(bot, b2b=[invoice("INV-1", period="102025")])
        assert only(await bot.command(USER, "filed"), "sendMessage").text == texts.FILED_USAGE
        done = only(await bot.command(USER, "filed", "102025"), "sendMessage").text
        assert "Recorded GSTR-3B for Oct 2025 as filed" in done
        again = only(await bot.command(USER, "filed", "102025"), "sendMessage").text
        assert "already recorded" in again
        assert core.periods is not None
        assert core.periods.is_filed(workspace_id(core), Period(2025, 10))
        usage = only(await bot.command(USER, "annualreturn", "2024"), "sendMessage").text
        assert usage == texts.ANNUAL_RETURN_USAGE
        ok = only(await bot.command(USER, "annualreturn", "2024-25 01-10-2025"),
                  "sendMessage").text
        assert "FY 2024-25 filed on 01 Oct 2025" in ok
        future = only(await bot.command(USER, "annualreturn", "2024-25 01-01-2026"),
                      "sendMessage").text
        assert "in the future" in future


async def test_summary_sends_counts_and_a_png_chart(sqlite_db: Database) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot)
        calls = await bot.command(USER, "summary")
        no_errors(calls)
        assert "Needing a decision: <b>4</b>" in only(calls, "sendMessage").text
        photo = only(calls, "sendPhoto")
        assert photo.params["photo"].content.startswith(b"\x89PNG")


async def test_export_sends_the_save_request_with_upload_instructions(
    sqlite_db: Database,
) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot)
        assert "Nothing to upload" in sent(await bot.command(USER, "export")).text
        card_id = await open_card(bot, "INV-101")
        await bot.press(USER, card_id, texts.BUTTON_ACCEPT)
        document = only(await bot.command(USER, "export"), "sendDocument")
        request = json.loads(document.params["document"].content)
        assert request["rtin"] == RECIPIENT and request["reqtyp"] == "SAVE"
        assert [r["inum"] for r in request["invdata"]["b2b"]] == ["INV-101"]
        assert "offline tool" in document.text


async def test_history_lists_actions_with_undo(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        card_id = await open_card(bot, "INV-102")
        await bot.press(USER, card_id, texts.BUTTON_PENDING)
        listing = only(await bot.command(USER, "history"), "sendMessage")
        assert "INV-102: No action → Pending" in listing.text
        calls = await bot.press(USER, listing.message_id, "Undo")
        no_errors(calls)
        assert status_of(core, "INV-102") is Status.NO_ACTION


async def test_demo_creates_a_workspace_of_the_users_own(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        text = only(await bot.command(USER, "demo"), "sendMessage").text
        assert "Demo workspace ready" in text
        listing = only(await bot.command(USER, "pending"), "sendMessage")
        assert listing.buttons()
        assert sent(await bot.command(OTHER_USER, "pending")).text == texts.NOT_LINKED


@pytest.mark.parametrize("command", [c.name for c in texts.COMMANDS])
async def test_every_command_answers_without_error(sqlite_db: Database, command: str) -> None:
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot)
        calls = await bot.command(USER, command)
        no_errors(calls)
        assert calls and texts.ERROR_APOLOGY not in [c.text for c in calls]
