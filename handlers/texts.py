"""Every user-facing string of the bot, in one place, so a domain expert can edit them.

Messages are Telegram HTML. Anything that embeds data goes through `html.escape` here;
the handlers never build text themselves.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ims_bot.money import rupees
from ims_bot.telegram_text import MAX_BUTTON_BYTES, MAX_MESSAGE, fit_label

if TYPE_CHECKING:
    from collections.abc import Sequence

    from faq.kb import FaqEntry, Source
    from ims_bot.domain import Tax
    from ims_bot.importer import ImportReport

BUTTON_LABEL_MAX = 60
QUERY_ECHO_MAX = 80


@dataclass(frozen=True)
class Command:
    """A command shown in /start, /help and Telegram's command menu."""

    name: str
    description: str


# The commands that exist. Add a line when a feature ships (the menu and /help follow).
COMMANDS: tuple[Command, ...] = (
    Command("start", "What this bot does and how to begin"),
    Command("link", "Link your GSTIN: /link 27AAPFU0939F1ZV"),
    Command("gstin", "Your GSTINs; switch the active one"),
    Command("pending", "Records waiting for your decision"),
    Command("recompute", "GSTR-2B figures for a period: /recompute 102025"),
    Command("summary", "Counts, ITC at stake and a chart"),
    Command("filed", "Record a filed GSTR-3B: /filed 102025"),
    Command("annualreturn", "Record a filed annual return: /annualreturn 2024-25 DATE"),
    Command("history", "Recent actions, with undo"),
    Command("supplier", "Name a supplier: /supplier GSTIN Name"),
    Command("export", "The save request to upload on the portal"),
    Command("connect", "Connect this GSTIN to the GST portal (OTP)"),
    Command("sync", "Fetch IMS records from the GST portal"),
    Command("upload", "Save your decisions on the GST portal"),
    Command("regenerate", "Regenerate GSTR-2B on the portal: /regenerate 102025"),
    Command("disconnect", "Log out of the GST portal"),
    Command("deadlines", "Coming due dates and what is still open"),
    Command("remind", "Reminder settings: /remind, /remind off"),
    Command("invite", "Share this GSTIN with your CA or staff"),
    Command("members", "Who has access to this GSTIN; revoke access, cancel codes"),
    Command("join", "Use an invite code: /join CODE"),
    Command("unlink", "Unlink the active GSTIN"),
    Command("demo", "Try it with demo records"),
    Command("faq", "Browse IMS questions by topic"),
    Command("help", "How to ask a question and the list of commands"),
)

# What the bot can do today, one line each, for /start. Extend along with COMMANDS.
FEATURES: tuple[str, ...] = (
    "Answer your questions about the GST portal's Invoice Management System (IMS): "
    "accept / reject / pending, credit notes, GSTR-2B and GSTR-3B, deadlines.",
    "Work your IMS records from the phone: link a GSTIN, send the portal's IMS JSON file, "
    "then accept, reject or keep pending with a tap, recompute GSTR-2B and export the "
    "save request for the portal.",
    "Remind you before the draft GSTR-2B, the GSTR-3B due date, pending windows and the "
    "s.16(4) limit, and list your coming deadlines.",
    "Reconcile with your purchase register: send it as CSV or Excel (Tally, Busy, Zoho) and "
    "accept what matches in one step, with a list of what to ask each supplier.",
)

WELCOME_TITLE = "<b>Namaste! I am IMS Bot.</b>"
WELCOME_BEGIN = (
    "To begin, just type your question, e.g. <i>Can I keep a credit note pending?</i>, "
    "or tap /faq to browse topics."
)
HELP_TITLE = "<b>How to use IMS Bot</b>"
HELP_BODY = (
    "Type a question in your own words (English or Hinglish is fine), for example:\n"
    "• <i>What happens if I take no action on an invoice?</i>\n"
    "• <i>When is draft GSTR-2B generated?</i>\n"
    "• <i>Can I reject a credit note?</i>\n\n"
    "I answer from a curated knowledge base with the official source of each answer. "
    "I am not a substitute for your tax adviser."
)
COMMANDS_TITLE = "<b>Commands</b>"

TOPICS_TITLE = "<b>IMS questions by topic</b>\nPick a topic:"
TOPICS_EMPTY = "The question list is empty right now. Please try again later."
CATEGORY_PAGE = "<b>{category}</b> (page {page} of {pages}). Pick a question:"
CATEGORY_SINGLE = "<b>{category}</b>. Pick a question:"
BUTTON_PREVIOUS = "‹ Previous"
BUTTON_NEXT = "Next ›"
BUTTON_ALL_TOPICS = "« All topics"
BUTTON_MORE_IN = "« More in {category}"
BUTTON_BROWSE = "Browse all topics"

SOURCE_ONE = "Source: {links}"
SOURCE_MANY = "Sources: {links}"
APPLIES_FROM = "<i>Applies from the {period} tax period.</i>"
SEE_ALSO = "Related questions:"

SUGGEST_TITLE = "I'm not sure I understood <i>{query}</i>. Did you mean:"
DECLINE = (
    "Sorry, I don't have an answer for <i>{query}</i>.\n\n"
    "I can answer questions about the GST Invoice Management System (IMS). Try rephrasing "
    "with IMS words (accept, reject, pending, credit note, GSTR-2B…), browse /faq, "
    "or see /help."
)
EMPTY_QUERY = "Please type your question about IMS, or tap /faq to browse topics."

BUTTON_NO_LONGER_VALID = (
    "This button is no longer valid. Please use /pending or /faq to start again."
)
UNKNOWN_COMMAND = "I don't know that command. See /help for what I can do."
DATABASE_UNAVAILABLE = (
    "Sorry, I cannot reach my records database right now, so nothing was changed. "
    "Please try again in a minute."
)
ERROR_APOLOGY = (
    "Sorry, something went wrong on my side while handling that. Please try again; "
    "if it keeps happening, the team has been told."
)
ERROR_REPORT_TITLE = "<b>IMS Bot error</b>"


def welcome() -> str:
    features = "\n".join(f"• {line}" for line in FEATURES)
    return f"{WELCOME_TITLE}\n\n{features}\n\n{command_list()}\n\n{WELCOME_BEGIN}"


def help_text() -> str:
    return f"{HELP_TITLE}\n\n{HELP_BODY}\n\n{command_list()}"


def command_list() -> str:
    lines = (f"/{c.name} — {html.escape(c.description)}" for c in COMMANDS)
    return f"{COMMANDS_TITLE}\n" + "\n".join(lines)


def category_page(category: str, page: int, pages: int, questions: list[str], first: int) -> str:
    """A category page: title, then the full questions numbered like their buttons."""
    name = html.escape(category)
    if pages <= 1:
        title = CATEGORY_SINGLE.format(category=name)
    else:
        title = CATEGORY_PAGE.format(category=name, page=page + 1, pages=pages)
    lines = (f"{n}. {html.escape(q)}" for n, q in enumerate(questions, start=first))
    return title + "\n\n" + "\n".join(lines)


def numbered_question_button(number: int, entry: FaqEntry) -> str:
    return clip(f"{number}. {entry.question}", BUTTON_LABEL_MAX)


def category_button(category: str, count: int) -> str:
    return clip(f"{category} ({count})", BUTTON_LABEL_MAX)


def more_in_button(category: str) -> str:
    return clip(BUTTON_MORE_IN.format(category=category), BUTTON_LABEL_MAX)


def question_button(entry: FaqEntry) -> str:
    return clip(entry.question, BUTTON_LABEL_MAX)


def answer(entry: FaqEntry, *, has_related: bool = False) -> str:
    """The answer message: bold question, answer, period note, sources, related hint."""
    head = f"<b>{html.escape(entry.question)}</b>"
    tail: list[str] = []
    if entry.applies_from:
        tail.append(APPLIES_FROM.format(period=html.escape(_period(entry.applies_from))))
    if entry.citations:
        links = "; ".join(_citation(source) for source in entry.citations)
        template = SOURCE_ONE if len(entry.citations) == 1 else SOURCE_MANY
        tail.append(template.format(links=links))
    elif entry.sources:  # an entry built without the sources table (plain addresses)
        links = ", ".join(_link(source) for source in entry.sources)
        template = SOURCE_ONE if len(entry.sources) == 1 else SOURCE_MANY
        tail.append(template.format(links=links))
    if has_related:
        tail.append(SEE_ALSO)
    fixed = len(head) + sum(len(part) + 2 for part in tail) + 4
    body = escape_clipped(entry.answer, MAX_MESSAGE - 1 - fixed)
    return "\n\n".join([head, body, "\n".join(tail)]) if tail else f"{head}\n\n{body}"


def suggest(query: str) -> str:
    return SUGGEST_TITLE.format(query=echo(query))


def decline(query: str) -> str:
    return DECLINE.format(query=echo(query))


def echo(query: str) -> str:
    """The user's words, shortened and escaped, to quote back at them."""
    return html.escape(clip(" ".join(query.split()), QUERY_ECHO_MAX))


def error_report(error_line: str, update_summary: str, traceback_text: str) -> str:
    """An escaped report for the admin chat, always under Telegram's limit."""
    headline = escape_clipped(error_line, 300)
    summary = escape_clipped(update_summary, 900)
    # The end of a traceback names the failing line: keep the tail.
    trace = escape_clipped(traceback_text, 2600, keep_end=True)
    return (
        f"{ERROR_REPORT_TITLE}\n<code>{headline}</code>\n<pre>{summary}</pre>\n<pre>{trace}</pre>"
    )


def clip(text: str, limit: int, *, keep_end: bool = False) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis where it was cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    if keep_end:
        return "…" + text[len(text) - limit + 1 :].lstrip()
    return text[: limit - 1].rstrip() + "…"


def escape_clipped(text: str, budget: int, *, keep_end: bool = False) -> str:
    """`text` HTML-escaped and cut so that the *escaped* result has at most `budget` chars."""
    limit = len(text)
    escaped = html.escape(text)
    while len(escaped) > budget and limit > 0:
        # An escape is at most 6 characters for 1, so this never cuts more than needed.
        limit -= max(1, (len(escaped) - budget) // 6)
        escaped = html.escape(clip(text, max(limit, 0), keep_end=keep_end))
    return escaped


def _citation(source: Source) -> str:
    """Issuer, title and date, then the address as a link labelled with its host."""
    label = html.escape(source.label)
    return f"{label} ({_link(source.address)})" if source.address else label


def _link(source: str) -> str:
    """An <a> link labelled with the site's host; anything that is not a URL is shown as is."""
    parts = urlsplit(source.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        host = parts.netloc.removeprefix("www.")
        return f'<a href="{html.escape(source.strip(), quote=True)}">{html.escape(host)}</a>'
    return html.escape(source)


def _period(value: str) -> str:
    """A period such as 2025-10 as "Oct 2025"; other values are shown unchanged."""
    try:
        return date.fromisoformat(f"{value.strip()}-01").strftime("%b %Y")
    except ValueError:
        return value


# ==================================================================== GSTINs and access
LINK_EXAMPLE = "27AAPFU0939F1ZV"
NOT_LINKED = (
    f"You have no GSTIN linked yet. Link one first: <code>/link {LINK_EXAMPLE}</code>\n"
    "Or try the bot with demo records: /demo"
)
LINK_USAGE = (
    f"Send your GSTIN after the command, e.g. <code>/link {LINK_EXAMPLE}</code>"
)
JOIN_USAGE = "Send the invite code after the command, e.g. <code>/join K7M2QX9P</code>"
FREQUENCY_QUESTION = "How do you file GSTR-3B? (Monthly unless you change it.)"
BUTTON_MONTHLY = "Monthly"
BUTTON_QUARTERLY = "Quarterly (QRMP)"
NEXT_STEP = (
    "Next: download the IMS JSON file from the GST portal (IMS → Download) and send it to me "
    "here as a document. Then /pending shows what needs a decision."
)
GSTIN_LIST_TITLE = "<b>Your GSTINs</b> (✓ = active). Tap one to work on it:"
BUTTON_CANCEL = "Cancel"
CANCELLED = "Cancelled. Nothing changed."
UNLINK_OWNER = (
    "Unlink <b>{gstin}</b>? This deletes this workspace with all its {records} and your "
    "action history here. People you shared it with lose access. The GST portal is not "
    "affected."
)
UNLINK_MEMBER = (
    "Leave <b>{gstin}</b>? You will no longer see its records; the owner's data stays."
)
BUTTON_UNLINK = "Yes, unlink"
BUTTON_LEAVE = "Yes, leave"
UNLINKED = "Unlinked {gstin}: the workspace and its records are deleted."
LEFT = "You left {gstin}; the owner can invite you again."
INVITE_CREATED = (
    "Invite code for <b>{gstin}</b>: <code>{code}</code>\n"
    "It works once, until {expires}. The person you share with sends me "
    "<code>/join {code}</code>.\n/members shows who has access and the codes that still work."
)
MEMBERS_TITLE = "<b>Who has access to {gstin}</b>"
MEMBER_OWNER = "• {who}: owner (you)"
MEMBER_LINE = "• {who}: member since {since}"
NO_MEMBERS = "Nobody else has access yet."
MEMBERS_HIDDEN = "… and {count} more, not listed here."
CODES_TITLE = "<b>Invite codes that still work</b>"
CODE_LINE = "• <code>{code}</code> until {expires}"
NO_CODES = "None. /invite makes one; each works once."
BUTTON_REVOKE_ACCESS = "Revoke access"
BUTTON_CANCEL_CODE = "Cancel code"
REVOKE_QUESTION = (
    "Revoke the access of {who} to <b>{gstin}</b>? They will no longer see its records or "
    "get its reminders, and no code they used works again. You can invite them again later."
)
BUTTON_CONFIRM_REVOKE = "Yes, revoke access"
REVOKED = "Access revoked."
CODE_CANCELLED = "Code cancelled: it no longer works."
NOTHING_CHANGED = "Nothing changed."
NOT_A_MEMBER = f"That person has no access to this GSTIN any more. {NOTHING_CHANGED}"
CODE_NOT_LIVE = f"That code was already used, cancelled or has expired. {NOTHING_CHANGED}"
# In a group, GSTIN commands and buttons get only this: a group's members are not the
# GSTIN's members. The link opens the private chat (`/start from_group`).
PRIVATE_ONLY = "🔒 I keep GSTIN data out of groups. Talk to me privately: {link}"
PRIVATE_ONLY_NO_LINK = "🔒 I keep GSTIN data out of groups. Talk to me in a private chat."
PRIVATE_ONLY_ALERT = "I keep GSTIN data out of groups. Open a private chat with me."
DEEP_LINK_START = "from_group"
PERSON_NAME_MAX = 60
JOINED = (
    "You now have access to <b>{gstin}</b>, shared by its owner. It is your active GSTIN: "
    "/pending shows what needs a decision."
)
DEMO_LOADED = (
    "<b>Demo workspace ready</b>: {gstin} ({name}), {total} records imported, your active "
    "GSTIN now. Try /pending, /summary or /recompute. /unlink deletes it again."
)
ACCESS_REFUSED_SHORT = "You have no access to that record."


def linked(gstin: str, state: str, frequency: str, created: bool) -> str:
    head = "Linked" if created else "Already linked"
    return (
        f"✅ {head}: <b>{html.escape(gstin)}</b> ({html.escape(state)}). "
        f"Filing: <b>{html.escape(frequency)}</b>.\n{FREQUENCY_QUESTION}\n\n{NEXT_STEP}"
    )


def workspace_button(gstin: str, name: str, role: str, active: bool) -> str:
    mark = "✓ " if active else ""
    who = " (shared with you)" if role != "owner" else ""
    return clip(f"{mark}{gstin} {name}{who}".strip(), BUTTON_LABEL_MAX)


def person_plain(user_id: int, name: str | None, username: str | None) -> str:
    """A user as Telegram named them, as plain text (for a button label)."""
    name = " ".join((name or "").split())
    if name and username:
        return clip(f"{name} (@{username})", PERSON_NAME_MAX)
    if name or username:
        return clip(name or f"@{username}", PERSON_NAME_MAX)
    return f"user {user_id}"


def person(user_id: int, name: str | None, username: str | None) -> str:
    """The same in HTML: names are whatever the user typed, so always escaped."""
    return html.escape(person_plain(user_id, name, username))


def sharing(
    gstin: str,
    members: list[tuple[str, bool, date]],
    codes: list[tuple[str, date]],
    *,
    hidden: int = 0,
) -> str:
    """/members: (who in HTML, is owner, since) per person, then (code, expires) per code;
    `hidden` people were left out of the list."""
    lines = [MEMBERS_TITLE.format(gstin=html.escape(gstin))]
    for who, owner, since in members:
        template = MEMBER_OWNER if owner else MEMBER_LINE
        lines.append(template.format(who=who, since=day(since)))
    if hidden:
        lines.append(MEMBERS_HIDDEN.format(count=hidden))
    elif not any(not owner for _, owner, _ in members):
        lines.append(NO_MEMBERS)
    lines += ["", CODES_TITLE]
    lines += [CODE_LINE.format(code=html.escape(c), expires=day(e)) for c, e in codes]
    if not codes:
        lines.append(NO_CODES)
    return "\n".join(lines)


def private_only(bot_username: str | None) -> str:
    """The whole answer to a GSTIN command typed in a group: a link to the private chat."""
    if not bot_username:
        return PRIVATE_ONLY_NO_LINK
    link = f"https://t.me/{bot_username}?start={DEEP_LINK_START}"
    return PRIVATE_ONLY.format(link=html.escape(link))


def refused(message: str) -> str:
    return "⚠️ " + html.escape(clip(message, MAX_MESSAGE - 100), quote=False)


def alert(message: str) -> str:
    """A message for a callback answer (Telegram allows at most 200 characters)."""
    return clip(" ".join(message.split()), 200)


# ==================================================================== records
STATUS_NAMES = {
    "no_action": "No action (counts as accepted)",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "pending": "Pending",
}
ACTION_NAMES = {"A": "Accept", "R": "Reject", "P": "Pending"}
ACTION_DONE = {"A": "✅ Accepted", "R": "❌ Rejected", "P": "⏸ Kept pending"}
BUTTON_ACCEPT = "✅ Accept"
BUTTON_REJECT = "❌ Reject"
BUTTON_PENDING = "⏸ Pending"
BUTTON_WHY = "Why no {action}? (FAQ)"
BUTTON_WHY_REFUSED = "Why? (FAQ)"
FREQUENCY_SET = "Filing: {frequency}"
ACTIVE_NOW = "Active: {gstin}"
BUTTON_BACK_TO_LIST = "« Back to the list"
BUTTON_SUPPLIER_ALL = "Accept all from this supplier…"
BUTTON_NAME_SUPPLIER = "✏️ Name this supplier"
BUTTON_UNDO = "↩️ Undo"
BUTTON_UNDO_ALL = "↩️ Undo all"
BUTTON_CONFIRM_REJECT = "❌ Yes, reject"
BUTTON_ADD_REMARKS = "✍️ Add remarks and reject"
BUTTON_REDUCE_FULL = "Reduce in full (default)"
BUTTON_REDUCE_NIL = "Nil: already reversed / never taken"
BUTTON_REDUCE_PARTIAL = "Partial: I'll type the amounts"
BUTTON_FILTER_SECTION = "Type…"
BUTTON_FILTER_SUPPLIER = "Supplier…"
BUTTON_FILTER_AMOUNT = "Amount…"
BUTTON_BULK = "Accept in bulk…"
BUTTON_CLEAR_FILTERS = "Clear filters"
BUTTON_ANY = "Any"
BUTTON_BULK_ALL = "Accept everything left"
BUTTON_BULK_UNDER = "Accept all under {amount}"
BUTTON_BULK_SUPPLIER = "All from {supplier} ({count})"
BUTTON_BULK_CONFIRM = "✅ Yes, accept {count}"
BULK_UNDER_AMOUNTS = (1_000, 10_000, 50_000)

PENDING_EMPTY = "Nothing needs a decision for <b>{gstin}</b>{filters}. 🎉"
PENDING_TITLE = (
    "<b>Needs a decision — {gstin}</b>\n{total} record(s){filters}, page {page} of {pages}. "
    "Tap one to act on it."
)
CREDIT_NOTES_FIRST = (
    "Credit notes first: a pending window closes on {day}; after that they count as accepted."
)
FILTER_TITLE = "Show only records of this {what}:"
BULK_TITLE = (
    "Accept in bulk: I show what it would do (count and ITC) before anything changes."
)
BULK_NOTHING = "Nothing to accept there: {unchanged} already accepted.{refused}"
BULK_PREVIEW = (
    "Accept <b>{count}</b> record(s) {scope}?\nITC: <b>{itc}</b> ({heads})."
    "{unchanged}{refused}"
)
BULK_DONE = "✅ Accepted {count} record(s) {scope}. ITC {itc}."
BULK_NONE_LEFT = "Nothing left to accept {scope}: it was already done."
BULK_UNDONE = "↩️ Undone: {count} record(s) back to their earlier status."
SCOPE_SUPPLIER = "from {supplier}"
SCOPE_UNDER = "under {amount}"
SCOPE_ALL = "left needing a decision"

REJECT_CONFIRM = (
    "<b>Reject {label} {number}?</b>\nRejecting means <b>no ITC</b> for it ({itc}). "
    "Reject only what is not yours or wrong beyond what a credit/debit note can fix."
)
REJECT_CREDIT_NOTE = (
    "For a credit note: the supplier's liability rises by it in their next GSTR-3B."
)
REJECT_REMARKS = "You can add remarks for the supplier (at most 250 characters)."
REDUCTION_QUESTION = (
    "<b>Accept {label} {number}.</b> Must your ITC be reduced by it? "
    "(Tax on it: {itc}.)"
)
REMARKS_PROMPT = (
    "Type the remarks for rejecting {number} in reply to this message (at most 250 "
    "characters). Sending them rejects the record."
)
PARTIAL_PROMPT = (
    "Reply with the ITC to reduce for {number} as four amounts IGST,CGST,SGST,CESS "
    "(e.g. 0,450,450,0). Sending them accepts the record."
)
TYPE_IN_REPLY = "Type it in reply to my message."
# Naming a supplier: GSTN data carries no trade name, so the user's own name is shown.
SUPPLIER_USAGE = (
    "Name a supplier so that lists and cards show its name instead of its GSTIN:\n"
    "<code>/supplier 27AABCT1332L1ZE Tata Steel Distributors</code>\n"
    "Your name for it is kept, whatever later files say. The ✏️ button on a record's card "
    "gives you the command with its GSTIN filled in."
)
SUPPLIER_NAMED = "✅ <code>{gstin}</code> is now shown as <b>{name}</b>{was}."
SUPPLIER_HINT = (
    "To name <b>{supplier}</b>, tap the command below to copy it, paste it, add the name "
    "and send:\n<code>/supplier {gstin} </code>"
)
SUPPLIER_HINT_TOAST = "Copy the command below and add the name."
SUPPLIER_NO_GSTIN = "This record has no supplier GSTIN (a bill of entry): nothing to name."
ALREADY = "Already {status}: nothing changed."
CHANGED_SINCE = "This record changed since it was shown; here it is as it is now."
UNDONE = "↩️ Undone: back to {status}."
HISTORY_TITLE = "<b>Recent actions — {gstin}</b>"
HISTORY_EMPTY = "No actions yet for <b>{gstin}</b>."
EXPORT_CAPTION = (
    "Save request for {gstin}: {count} record(s). Upload it with the GST portal's IMS "
    "offline tool (Upload), or send it through your GSP. Then download IMS again and "
    "send me the file, so both sides agree."
)
RESET_CAPTION = "Reset request: {count} record(s) taken back to no action. Upload it too."
EXPORT_NOTHING = "Nothing to upload for {gstin}: every decision already matches the portal."
RECOMPUTE_USAGE = "Give the period as MMYYYY, e.g. <code>/recompute 102025</code>"
RECOMPUTE_UNCHANGED = (
    "Nothing changed since the last recompute ({at}); the portal would say IMS2005."
)
SUMMARY_CAPTION = "ITC by status and the suppliers with the most ITC awaiting a decision."

IMPORT_START = "📥 Importing {name}…"
IMPORT_PROGRESS = "📥 Importing {name}… {count} records read"
IMPORT_TOO_BIG = (
    "That file is {size} MB: I can take IMS files up to 50 MB, and Telegram lets bots "
    "download at most 20 MB. Download IMS for one period or section at a time."
)
IMPORT_TOO_BIG_FOR_TELEGRAM = (
    "That file is {size} MB; Telegram lets bots download at most 20 MB. Download IMS for "
    "one period or section at a time."
)
IMPORT_NOT_JSON = (
    "I can only read the IMS JSON file from the GST portal (IMS → Download, a .json file). "
    "<b>{name}</b> does not look like one; nothing was changed."
)
IMPORT_REFUSED = "The file was refused; nothing was imported.\n{detail}"
IMPORT_NOT_IMS = "That is not an IMS file from the portal: {detail}. Nothing was changed."
SECTION_NAMES = {
    "b2b": "Invoices",
    "b2ba": "Amended invoices",
    "b2bdn": "Debit notes",
    "b2bdna": "Amended debit notes",
    "b2bcn": "Credit notes",
    "b2bcna": "Amended credit notes",
    "ecom": "E-commerce documents",
    "ecoma": "Amended e-commerce documents",
    "impg": "Bills of Entry",
    "impga": "Amended Bills of Entry",
    "impgsez": "Bills of Entry (SEZ)",
    "impgseza": "Amended Bills of Entry (SEZ)",
}


def heads(tax: Tax) -> str:
    """`IGST ₹0 · CGST ₹450 · SGST ₹450 · cess ₹0` for a `Tax`."""
    values = tax.as_dict()
    return " · ".join(
        f"{'cess' if h == 'cess' else h.upper()} {rupees(v)}" for h, v in values.items()
    )


def day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"


def list_button(number: str, name: str, label: str, amount: object) -> str:
    """A list entry: number, the supplier's name (first two words) or else its whole
    label (the readable GSTIN), and the amount."""
    short = " ".join(name.split()[:2]) or label
    # Cut before the amount, never into it: a button holds at most 64 bytes.
    tail = f" · {rupees(amount)}"
    head = clip(f"{number} · {short}", BUTTON_LABEL_MAX - len(tail))
    return fit_label(head, MAX_BUTTON_BYTES - len(tail.encode())) + tail


def supplier_named(label: str, gstin: str, previous: str | None) -> str:
    was = f" (was <i>{html.escape(previous)}</i>)" if previous and previous != label else ""
    return SUPPLIER_NAMED.format(name=html.escape(label), gstin=html.escape(gstin), was=was)


def supplier_hint(label: str, gstin: str) -> str:
    return SUPPLIER_HINT.format(supplier=html.escape(label), gstin=html.escape(gstin))


def filters_note(section: str | None, supplier: str | None, amount: str | None) -> str:
    parts = [p for p in (SECTION_NAMES.get(section or ""), supplier, amount) if p]
    return f" ({html.escape(', '.join(parts))})" if parts else ""


def import_summary(gstin: str, report: ImportReport) -> str:
    """The reply after an import: counts per section and status, ITC awaiting a decision."""
    lines = [
        f"✅ <b>Imported {report.total} record(s)</b> for {html.escape(gstin)}: "
        f"{report.created} new, {report.updated} updated, {report.unchanged} unchanged."
    ]
    if report.reset_by_supplier:
        lines.append(
            f"⚠️ {report.reset_by_supplier} record(s) were changed by the supplier after you "
            "acted: they need a fresh decision."
        )
    sections = sorted(report.by_section.items())
    by_section = ", ".join(f"{SECTION_NAMES.get(k, k)} {v}" for k, v in sections)
    statuses = sorted(report.by_status.items())
    by_status = ", ".join(f"{status_short(k)} {v}" for k, v in statuses)
    if by_section:
        lines.append(f"By type: {html.escape(by_section)}")
    if by_status:
        lines.append(f"By status: {html.escape(by_status)}")
    if report.not_handled:
        left = ", ".join(f"{k} {n}" for k, n in sorted(report.not_handled.items()))
        lines.append(f"ℹ️ Not handled by IMS Bot (left out): {html.escape(left)} record(s).")
    lines.extend(f"⚠️ {html.escape(warning)}" for warning in report.warnings)
    lines.append(
        f"ITC at stake (awaiting a decision): <b>{rupees(report.open_tax.total)}</b>"
    )
    lines.append("Next: /pending")
    return "\n".join(lines)


def import_refused(problems: Sequence[object], total: int, budget: int = 3500) -> str:
    """A refused file's problems, one a line: as many whole lines as fit, then how many
    more (the CLI prints them all)."""
    lines = [f"{total} problem(s):"]
    used = len(IMPORT_REFUSED) + len(lines[0])
    for problem in problems:
        line = html.escape(str(problem))
        if used + len(line) + 40 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    more = total - (len(lines) - 1)
    if more > 0:
        lines.append(f"… and {more} more problem(s)")
    return IMPORT_REFUSED.format(detail="\n".join(lines))


def status_short(status: str) -> str:
    return STATUS_NAMES.get(status, status).split(" (")[0]

FILED_USAGE = (
    "Give the period whose GSTR-3B you filed as MMYYYY, e.g. <code>/filed 102025</code>."
)
FILED_ALREADY = "GSTR-3B for {period} was already recorded as filed: nothing changed."
FILED_DONE = (
    "Recorded GSTR-3B for {period} as filed. Its accepted and rejected records are locked; "
    "{carried} pending record(s) carried forward."
)
ANNUAL_RETURN_USAGE = (
    "Tell me when you filed the annual return of a year, e.g. "
    "<code>/annualreturn 2024-25 15-10-2025</code>. Filed before 30 Nov, it ends the s.16(4) "
    "time limit for that year's ITC earlier."
)
ANNUAL_RETURN_DONE = (
    "Recorded: annual return for FY {fy} filed on {day}. ITC of that year can no longer be "
    "claimed in a GSTR-3B filed after it (s.16(4))."
)
