"""Reconciling from Telegram, in process (offline Bot API, real database): the register sent
as a document → summary and chart → a group previewed, confirmed, applied → Undo; an
unknown column asked for with buttons and remembered; forged buttons change nothing."""

from __future__ import annotations

from handlers import reconcile_texts as rt
from handlers.callbackdata import ReconcileApply
from ims_bot.db import Database
from ims_bot.domain import Status
from ims_bot.offline import ApiCall
from tests.botkit import OTHER_USER, USER, only
from tests.factories import RECIPIENT, SUPPLIER_A
from tests.unit.test_handlers_records import (
    bot_harness,
    core_for,
    linked_with_records,
    no_errors,
    status_of,
    workspace_id,
)

REGISTER = (
    "gstin,invoice_no,invoice_date,igst,cgst,sgst,cess,supplier_name\n"
    f"{SUPPLIER_A},inv/101,05-11-2025,0,900,900,0,Tata <b>Steel</b> & Co\n"  # matched
    f"{SUPPLIER_A},INV-102,05-11-2025,0,50,45,0,Tata <b>Steel</b> & Co\n"  # amount mismatch
    f"{SUPPLIER_A},INV-555,06-11-2025,0,10,10,0,Tata <b>Steel</b> & Co\n"  # not in IMS
).encode()


def summary_of(calls: list[ApiCall]) -> ApiCall:
    return [c for c in calls if c.method == "editMessageText"][-1]


async def test_upload_summarises_with_a_chart_then_applies_a_group_with_undo(
    database: Database,
) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        calls = await bot.document(USER, "register.csv", REGISTER, "text/csv")
        no_errors(calls)
        summary = summary_of(calls)
        text = summary.text or ""
        assert "3 register row(s) read" in text
        assert "✅ Matched: <b>1</b>, ITC ₹1,800" in text
        assert "⚠️ Amount mismatch: <b>1</b>" in text
        assert "❓ Not in your books: <b>2</b>" in text  # GC-7 and the credit note CN-9
        assert "📨 Not in IMS: <b>1</b>" in text
        assert only(calls, "sendPhoto").params["photo"].content.startswith(b"\x89PNG")
        assert status_of(core, "INV-101") is Status.NO_ACTION  # nothing applied yet
        preview = await bot.press(USER, summary.message_id, "Accept matched (1)")
        no_errors(preview)
        assert "Accept <b>1</b> record(s)" in (summary_of(preview).text or "")
        assert status_of(core, "INV-101") is Status.NO_ACTION
        done = await bot.press(USER, summary.message_id, "Yes, accept 1")
        no_errors(done)
        assert "Accepted <b>1</b> record(s)" in (summary_of(done).text or "")
        assert status_of(core, "INV-101") is Status.ACCEPTED
        assert status_of(core, "INV-102") is Status.NO_ACTION  # another group
        undone = await bot.press(USER, summary.message_id, rt.BUTTON_UNDO)
        no_errors(undone)
        assert status_of(core, "INV-101") is Status.NO_ACTION


async def test_follow_up_message_names_the_missing_document_as_text(database: Database) -> None:
    async with bot_harness(core_for(database)) as bot:
        await linked_with_records(bot)
        summary = summary_of(await bot.document(USER, "register.csv", REGISTER, "text/csv"))
        calls = await bot.press(USER, summary.message_id, "Follow-up messages (1 suppliers)")
        no_errors(calls)
        message = only(calls, "sendMessage").text or ""
        assert "INV-555" in message
        # The register's supplier name is data: escaped, never markup.
        assert "Tata &lt;b&gt;Steel&lt;/b&gt; &amp; Co" in message


async def test_pending_for_mismatches_keeps_them_pending(database: Database) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        summary = summary_of(await bot.document(USER, "register.csv", REGISTER, "text/csv"))
        preview = await bot.press(USER, summary.message_id, "Keep mismatches pending (1)")
        assert "CGST +₹5.00" in (summary_of(preview).text or "")  # both sides shown
        await bot.press(USER, summary.message_id, "Yes, keep 1 pending")
        assert status_of(core, "INV-102") is Status.PENDING


async def test_an_unknown_column_is_asked_for_and_remembered(database: Database) -> None:
    async with bot_harness(core_for(database)) as bot:
        await linked_with_records(bot)
        odd = REGISTER.replace(b"invoice_no", b"Bill Ref")
        calls = await bot.document(USER, "register.csv", odd, "text/csv")
        question = summary_of(calls)
        assert "invoice / document number" in (question.text or "")
        answered = await bot.press(USER, question.message_id, "Bill Ref")
        assert rt.MAPPED in (summary_of(answered).text or "")
        again = await bot.document(USER, "register.csv", odd, "text/csv")
        assert "✅ Matched: <b>1</b>" in (summary_of(again).text or "")


async def test_a_bad_register_names_the_row(database: Database) -> None:
    async with bot_harness(core_for(database)) as bot:
        await linked_with_records(bot)
        bad = REGISTER.replace(b"0,50,45", b"0,<script>,45")
        calls = await bot.document(USER, "register.csv", bad, "text/csv")
        no_errors(calls)
        text = summary_of(calls).text or ""
        assert "row 2" in text and "&lt;script&gt;" in text


async def test_buttons_forged_by_another_user_or_for_another_run_change_nothing(
    database: Database,
) -> None:
    core = core_for(database)
    async with bot_harness(core) as bot:
        await linked_with_records(bot)
        await bot.document(USER, "register.csv", REGISTER, "text/csv")
        w = workspace_id(core)
        await bot.command(OTHER_USER, "link", RECIPIENT)  # the same GSTIN, their own workspace
        theirs = bot.last_message_id(OTHER_USER)
        forged = ReconcileApply(w, 1, "matched").pack()
        calls = await bot.callback(OTHER_USER, theirs, forged)
        assert calls[0].method == "answerCallbackQuery" and calls[0].params.get("show_alert")
        # Their own workspace with the first user's run id: not theirs, nothing applied.
        own = ReconcileApply(workspace_id(core, OTHER_USER), 1, "matched").pack()
        calls = await bot.callback(OTHER_USER, theirs, own)
        assert calls[0].method == "answerCallbackQuery"
        assert status_of(core, "INV-101") is Status.NO_ACTION


async def test_an_excel_register_is_read_like_a_csv(sqlite_db: Database) -> None:
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Supplier GSTIN", "Bill No", "Bill Date", "IGST", "CGST", "SGST"])
    sheet.append([SUPPLIER_A, "INV-101", "05-11-2025", 0, 900, 900])
    buffer = BytesIO()
    book.save(buffer)
    async with bot_harness(core_for(sqlite_db)) as bot:
        await linked_with_records(bot)
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        calls = await bot.document(USER, "Purchase Register.XLSX", buffer.getvalue(), xlsx)
        no_errors(calls)
        assert "✅ Matched: <b>1</b>" in (summary_of(calls).text or "")
