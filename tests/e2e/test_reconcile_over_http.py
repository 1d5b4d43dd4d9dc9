"""Black box: the purchase register sent to the real bot process over HTTP → summary with a
chart → a group applied after its preview → Undo puts the records back."""

from __future__ import annotations

from handlers import reconcile_texts as rt
from ims_bot.db import Database
from ims_bot.domain import Section, Status
from tests.e2e.conftest import BotProcess
from tests.e2e.telegram_server import TelegramServer
from tests.e2e.test_bot_over_http import Chat, by_number, linked_with_demo, no_bot_errors


async def test_register_upload_summary_chart_apply_a_group_and_undo(
    telegram: TelegramServer, bot: BotProcess, bot_db: Database
) -> None:
    user = 7_130_001
    chat, mark = Chat(telegram, user), telegram.mark()
    await linked_with_demo(chat)
    open_invoices = [r for r in by_number(bot_db, user).values()
                     if r.section is Section.B2B and r.status is Status.NO_ACTION
                     and not r.locked][:3]
    assert len(open_invoices) == 3
    lines = ["GSTIN/UIN,Particulars,Supplier Invoice No.,Supplier Invoice Date,"
             "Integrated Tax Amount,Central Tax Amount,State Tax Amount,Cess Amount"]
    for r in open_invoices:
        day = f"{r.doc_date:%d-%m-%Y}" if r.doc_date else ""
        lines.append(f"{r.supplier_gstin},Supplier <i>One</i>,{r.number.lower()},{day},"
                     f"{r.tax.igst},{r.tax.cgst},{r.tax.sgst},{r.tax.cess}")
    lines.append(f"{open_invoices[0].supplier_gstin},Supplier One,NOT-ON-PORTAL-1,01-11-2025,"
                 "0,9,9,0")
    sent = telegram.mark()
    telegram.user_sends_document(user, "purchase-register.csv",
                                 ("\n".join(lines) + "\n").encode())
    summary = await telegram.wait_for_message(
        user, lambda m: "Purchase register vs IMS" in m.plain_text, 60, since=sent)
    assert "Matched: 3" in summary.plain_text, summary.plain_text
    assert "Not in IMS: 1" in summary.plain_text
    photo = await telegram.wait_for_call("sendPhoto", since=sent)
    assert photo.error is None

    preview = await chat.press_and_see(summary.message_id, "Accept matched (3)",
                                       lambda m: "Yes, accept 3" in m.labels())
    assert "Accept 3 record(s)" in preview.plain_text
    assert all(by_number(bot_db, user)[r.number].status is Status.NO_ACTION
               for r in open_invoices)  # a preview changes nothing
    done = await chat.press_and_see(summary.message_id, "Yes, accept 3",
                                    lambda m: "Accepted 3 record(s)" in m.plain_text)
    assert rt.BUTTON_UNDO in done.labels()
    assert all(by_number(bot_db, user)[r.number].status is Status.ACCEPTED
               for r in open_invoices)
    await chat.press_and_see(summary.message_id, rt.BUTTON_UNDO,
                             lambda m: "Undone: 3 record(s)" in m.plain_text)
    assert all(by_number(bot_db, user)[r.number].status is Status.NO_ACTION
               for r in open_invoices)
    no_bot_errors(telegram, bot, mark)
