"""What the bot says about reconciling with the purchase register (HTML; values that come
from files or suppliers are escaped by the caller)."""

from __future__ import annotations

GROUP_LABELS = {
    "matched": "✅ Matched",
    "near_match": "🔍 Near match",
    "amount_mismatch": "⚠️ Amount mismatch",
    "not_in_books": "❓ Not in your books",
    "not_in_ims": "📨 Not in IMS",
}
GROUP_HELP = {
    "matched": "same document and amounts: accept",
    "near_match": "probably the same document: look, then accept",
    "amount_mismatch": "amounts differ: keep pending, ask the supplier",
    "not_in_books": "not in your register: keep pending, ask the supplier",
    "not_in_ims": "in your books, not on the portal: follow up with the supplier",
}
BUTTON_APPLY = {
    "matched": "Accept matched ({count})",
    "near_match": "Look at near matches ({count})",
    "amount_mismatch": "Keep mismatches pending ({count})",
    "not_in_books": "Keep not-in-books pending ({count})",
}
BUTTON_FOLLOW_UPS = "Follow-up messages ({count} suppliers)"
BUTTON_CONFIRM = {"accept": "Yes, accept {count}", "pending": "Yes, keep {count} pending"}
BUTTON_UNDO = "Undo"
BUTTON_NEXT = "Next supplier ›"

START = "📥 Reading your purchase register <b>{name}</b>…"
TOO_BIG = ("That file is {size} MB: bots can download at most 20 MB from Telegram. Save the "
           "register for one period, or use <code>ims-bot reconcile</code>.")
SUMMARY = ("<b>Purchase register vs IMS</b> for <b>{gstin}</b>: {rows} register row(s) "
           "read{skipped}.")
SUMMARY_LINE = "{label}: <b>{count}</b>, ITC {itc} — {help}"
SUMMARY_FOOT = "Nothing is applied until you confirm a group."
SKIPPED = ", {count} row(s) without a supplier GSTIN left out"
NAMES_FILLED = "Supplier names taken from your register: {count}."
CHART_CAPTION = "Reconciliation of {gstin}: documents and ITC per group."
BAD_FILE = "I could not read that register: {detail}"
ASK_COLUMN = ("I could not find the column for <b>{field}</b> in your register. Which one is "
              "it? (I will remember it for this GSTIN.)")
MAPPED = ("Thanks, I will remember those columns for this GSTIN. Send the register again and "
          "I will reconcile it.")
FIELD_NAMES = {
    "gstin": "supplier GSTIN",
    "invoice_no": "invoice / document number",
    "invoice_date": "invoice date",
    "igst": "IGST amount",
    "cgst": "CGST amount",
    "sgst": "SGST/UTGST amount",
    "cess": "cess amount",
    "taxable_value": "taxable value",
    "supplier_name": "supplier name",
    "doc_type": "document type",
}
PREVIEW = {
    "accept": "Accept <b>{eligible}</b> record(s) of <b>{group}</b>, ITC {itc}?",
    "pending": "Keep <b>{eligible}</b> record(s) of <b>{group}</b> pending, ITC {itc}?",
}
PREVIEW_UNCHANGED = "{count} already {status}: left as they are."
PREVIEW_REFUSED = "{count} not allowed: {reason}"
PREVIEW_NOTHING = "Nothing left to apply in <b>{group}</b>."
LOOK = "Look at both sides first:"
DONE = {
    "accept": "Accepted <b>{count}</b> record(s) of <b>{group}</b>, ITC {itc}.",
    "pending": "Kept <b>{count}</b> record(s) of <b>{group}</b> pending, ITC {itc}.",
}
DONE_REFUSED = "{count} left alone: {reason}"
NONE_LEFT = "Nothing left to apply in that group."
FOLLOW_UP_HEAD = "Forward this to the supplier ({page} of {pages}):"
NO_FOLLOW_UPS = "Every document in your books is on the portal: nothing to follow up."
