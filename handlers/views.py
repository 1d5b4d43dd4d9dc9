"""What the GSTIN and record screens show: pure functions from core values to a `View`.

No Telegram I/O and no database here; `handlers.screens` fetches, these render.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from handlers import texts
from handlers.callbackdata import (
    AMOUNT_BANDS,
    ANY,
    AskPartial,
    AskRemarks,
    AskRevoke,
    BulkApply,
    BulkPreviewData,
    BulkUndo,
    CallbackData,
    Cancel,
    CancelCode,
    ChooseAction,
    ConfirmAction,
    ConfirmRevoke,
    ConfirmUnlink,
    FaqAnswer,
    NameSupplier,
    OpenRecord,
    PendingFilter,
    PendingPage,
    SetFrequency,
    UndoAction,
    UseWorkspace,
)
from handlers.replies import View
from ims_bot.domain import PORTAL_SECTIONS, Action, Frequency, Section
from ims_bot.gstin import state_name

if TYPE_CHECKING:
    from faq.kb import KnowledgeBase
    from ims_bot.access import InviteCode, Linked, Member, Sharing
    from ims_bot.domain import Tax
    from ims_bot.recompute import Figures, RecomputeResult
    from ims_bot.records import BulkOutcome, BulkPreview, LogView, Page, RecordView
    from ims_bot.workspaces import Workspace

ACTION_CODE = {Action.ACCEPT: "A", Action.REJECT: "R", Action.PENDING: "P"}
CODE_ACTION = {v: k for k, v in ACTION_CODE.items()}
# /members lists this many people at most: one message and its buttons must stay within
# Telegram's limits whatever names people chose.
MEMBERS_SHOWN = 30
ACTION_BUTTON = {
    Action.ACCEPT: texts.BUTTON_ACCEPT,
    Action.REJECT: texts.BUTTON_REJECT,
    Action.PENDING: texts.BUTTON_PENDING,
}


def button(label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.pack())


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    kept = [list(row) for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


# ------------------------------------------------------------------------ GSTINs and access


def linked(ws: Workspace, created: bool) -> View:
    text = texts.linked(ws.gstin, state_name(ws.state_code), ws.frequency.value, created)
    return View(text, keyboard([frequency_row(ws)]))


def frequency_row(ws: Workspace) -> list[InlineKeyboardButton]:
    def label(freq: Frequency, name: str) -> str:
        return ("✓ " if ws.frequency is freq else "") + name

    return [
        button(label(Frequency.MONTHLY, texts.BUTTON_MONTHLY), SetFrequency(ws.id, "m")),
        button(label(Frequency.QUARTERLY, texts.BUTTON_QUARTERLY), SetFrequency(ws.id, "q")),
    ]


def gstin_list(items: Sequence[Linked]) -> View:
    if not items:
        return View(texts.NOT_LINKED)
    rows = [
        [
            button(
                texts.workspace_button(i.workspace.gstin, i.workspace.name, i.role, i.active),
                UseWorkspace(i.workspace.id),
            )
        ]
        for i in items
    ]
    return View(texts.GSTIN_LIST_TITLE, keyboard(rows))


def unlink_question(ws: Workspace, owner: bool) -> View:
    gstin = html.escape(ws.gstin)
    if owner:
        text = texts.UNLINK_OWNER.format(gstin=gstin, records="records")
    else:
        text = texts.UNLINK_MEMBER.format(gstin=gstin)
    yes = texts.BUTTON_UNLINK if owner else texts.BUTTON_LEAVE
    return View(text, keyboard([[button(yes, ConfirmUnlink(ws.id)),
                                 button(texts.BUTTON_CANCEL, Cancel())]]))


def unlinked(ws: Workspace, deleted: bool) -> View:
    template = texts.UNLINKED if deleted else texts.LEFT
    return View(template.format(gstin=html.escape(ws.gstin)))


def invite_created(code: InviteCode) -> View:
    return View(
        texts.INVITE_CREATED.format(
            gstin=html.escape(code.workspace.gstin),
            code=html.escape(code.code),
            expires=texts.day(code.expires_at),
        )
    )


def members(sharing: Sharing) -> View:
    """/members: who has access and the live codes, each with its button (owner's view)."""
    ws = sharing.workspace
    shown = sharing.members[:MEMBERS_SHOWN]
    people = [(_who(m), m.role == "owner", m.since) for m in shown]
    codes = [(c.code, c.expires_at) for c in sharing.codes]
    text = texts.sharing(ws.gstin, people, codes, hidden=len(sharing.members) - len(shown))
    rows = [
        [button(_revoke_label(m), AskRevoke(ws.id, m.user_id))]
        for m in shown
        if m.role != "owner"
    ]
    rows += [
        [button(f"{texts.BUTTON_CANCEL_CODE} {c.code}", CancelCode(ws.id, c.code))]
        for c in sharing.codes
    ]
    return View(text, keyboard(rows))


def revoke_question(ws: Workspace, member: Member) -> View:
    text = texts.REVOKE_QUESTION.format(who=_who(member), gstin=html.escape(ws.gstin))
    yes = button(texts.BUTTON_CONFIRM_REVOKE, ConfirmRevoke(ws.id, member.user_id))
    return View(text, keyboard([[yes, button(texts.BUTTON_CANCEL, Cancel())]]))


def _who(member: Member) -> str:
    return texts.person(member.user_id, member.name, member.username)


def _revoke_label(member: Member) -> str:
    who = texts.person_plain(member.user_id, member.name, member.username)
    return texts.clip(f"{texts.BUTTON_REVOKE_ACCESS}: {who}", texts.BUTTON_LABEL_MAX)


# ------------------------------------------------------------------------ record list


def band(index: int) -> tuple[str, int | None, int | None]:
    return AMOUNT_BANDS[index] if 0 <= index < len(AMOUNT_BANDS) else AMOUNT_BANDS[0]


def filter_note(state: PendingPage, supplier_name: str | None) -> str:
    section = state.sec if state.sec != ANY else None
    amount = band(state.amt)[0] if state.amt else None
    return texts.filters_note(section, supplier_name, amount)


def pending_page(
    ws: Workspace, page: Page, state: PendingPage, urgent: date | None, supplier: str | None
) -> View:
    note = filter_note(state, supplier)
    filtered = state.sec != ANY or state.sup != ANY or state.amt != 0
    tools = [
        button(texts.BUTTON_FILTER_SECTION, _filter(state, "sec")),
        button(texts.BUTTON_FILTER_SUPPLIER, _filter(state, "sup")),
        button(texts.BUTTON_FILTER_AMOUNT, _filter(state, "amt")),
    ]
    clear = [button(texts.BUTTON_CLEAR_FILTERS, PendingPage(ws.id))] if filtered else []
    if page.total == 0:
        text = texts.PENDING_EMPTY.format(gstin=html.escape(ws.gstin), filters=note)
        return View(text, keyboard([clear]))
    text = texts.PENDING_TITLE.format(
        gstin=html.escape(ws.gstin), total=page.total_text, filters=note, page=page.page,
        pages=page.pages,
    )
    if urgent is not None:
        text += "\n" + texts.CREDIT_NOTES_FIRST.format(day=texts.day(urgent))
    rows = [
        [button(texts.list_button(r.number, r.supplier_name, r.supplier_label, r.doc_value),
                OpenRecord(ws.id, r.id))]
        for r in page.items
    ]
    nav = []
    if page.page > 1:
        nav.append(button("‹", _page(state, page.page - 1)))
    if page.page < page.pages:
        nav.append(button("›", _page(state, page.page + 1)))
    bulk = [button(texts.BUTTON_BULK, _filter(state, "bulk"))]
    return View(text, keyboard([*rows, nav, tools, bulk, clear]))


def _page(state: PendingPage, page: int) -> PendingPage:
    return PendingPage(state.w, page, state.sec, state.sup, state.amt)


def _filter(state: PendingPage, by: str) -> PendingFilter:
    return PendingFilter(state.w, by, state.sec, state.sup, state.amt)


def filter_menu(state: PendingFilter, suppliers: Sequence[tuple[str, str, int]]) -> View:
    base = PendingPage(state.w, 1, state.sec, state.sup, state.amt)
    if state.by == "sec":
        options = [(Section(s).label, PendingPage(state.w, 1, s.value, base.sup, base.amt))
                   for s in PORTAL_SECTIONS]
        what = "type"
        anything = PendingPage(state.w, 1, ANY, base.sup, base.amt)
    elif state.by == "sup":
        options = [(f"{name} ({count})", PendingPage(state.w, 1, base.sec, gstin, base.amt))
                   for gstin, name, count in suppliers]
        what = "supplier"
        anything = PendingPage(state.w, 1, base.sec, ANY, base.amt)
    else:
        options = [(label, PendingPage(state.w, 1, base.sec, base.sup, i))
                   for i, (label, _, _) in enumerate(AMOUNT_BANDS) if i]
        what = "amount"
        anything = PendingPage(state.w, 1, base.sec, base.sup, 0)
    rows = [[button(texts.clip(label, texts.BUTTON_LABEL_MAX), data)] for label, data in options]
    rows.append([button(texts.BUTTON_ANY, anything), button(texts.BUTTON_BACK_TO_LIST, base)])
    return View(texts.FILTER_TITLE.format(what=what), keyboard(rows))


def bulk_menu(w: int, suppliers: Sequence[tuple[str, str, int]]) -> View:
    rows = [[button(texts.BUTTON_BULK_ALL, BulkPreviewData(w, "all", "0"))]]
    rows += [
        [button(texts.BUTTON_BULK_UNDER.format(amount=texts.rupees(a)),
                BulkPreviewData(w, "under", str(a)))]
        for a in texts.BULK_UNDER_AMOUNTS
    ]
    rows += [
        [button(texts.clip(texts.BUTTON_BULK_SUPPLIER.format(supplier=name, count=count),
                           texts.BUTTON_LABEL_MAX), BulkPreviewData(w, "sup", gstin))]
        for gstin, name, count in suppliers[:5]
    ]
    rows.append([button(texts.BUTTON_BACK_TO_LIST, PendingPage(w))])
    return View(texts.BULK_TITLE, keyboard(rows))


def scope(kind: str, arg: str, supplier: str | None) -> str:
    if kind == "sup":
        return texts.SCOPE_SUPPLIER.format(supplier=html.escape(supplier or arg))
    if kind == "under":
        return texts.SCOPE_UNDER.format(amount=texts.rupees(int(arg)))
    return texts.SCOPE_ALL


def _refused_note(refused: dict[str, int]) -> str:
    if not refused:
        return ""
    lines = (f"• {count} not allowed: {html.escape(reason)}" for reason, count in refused.items())
    return "\n" + "\n".join(lines)


def bulk_preview(data: BulkPreviewData, preview: BulkPreview, supplier: str | None) -> View:
    where = scope(data.kind, data.arg, supplier)
    refused = _refused_note(preview.refused)
    back = button(texts.BUTTON_BACK_TO_LIST, PendingPage(data.w))
    if preview.eligible == 0:
        text = texts.BULK_NOTHING.format(unchanged=preview.unchanged, refused=refused)
        return View(text, keyboard([[back]]))
    unchanged = f"\n{preview.unchanged} already accepted." if preview.unchanged else ""
    text = texts.BULK_PREVIEW.format(
        count=preview.eligible, scope=where, itc=texts.rupees(preview.tax.total),
        heads=texts.heads(preview.tax), unchanged=unchanged, refused=refused,
    )
    confirm = button(texts.BUTTON_BULK_CONFIRM.format(count=preview.eligible),
                     BulkApply(data.w, data.kind, data.arg))
    return View(text, keyboard([[confirm], [button(texts.BUTTON_CANCEL, PendingPage(data.w))]]))


def bulk_done(data: BulkApply, outcome: BulkOutcome, supplier: str | None) -> View:
    where = scope(data.kind, data.arg, supplier)
    back = [button(texts.BUTTON_BACK_TO_LIST, PendingPage(data.w))]
    if outcome.changed == 0 or outcome.batch is None:
        return View(texts.BULK_NONE_LEFT.format(scope=where), keyboard([back]))
    text = texts.BULK_DONE.format(
        count=outcome.changed, scope=where, itc=texts.rupees(outcome.tax.total)
    ) + _refused_note(outcome.refused)
    undo = [button(texts.BUTTON_UNDO_ALL, BulkUndo(data.w, outcome.batch))]
    return View(text, keyboard([undo, back]))


# ------------------------------------------------------------------------ record card


def card_text(r: RecordView) -> str:
    supplier = html.escape(r.supplier_label)
    if r.supplier_name and r.supplier_gstin:
        supplier += f" (<code>{html.escape(r.supplier_gstin)}</code>)"
    lines = [
        f"<b>{html.escape(r.section.label)} {html.escape(r.number)}</b>",
        f"Supplier: {supplier}",
        f"Date: {texts.day(r.doc_date)} · GSTR-2B period: {r.period.label}",
    ]
    if r.original_number:
        lines.append(f"Amends: {html.escape(r.original_number)}")
    lines += [
        f"Taxable value {texts.rupees(r.taxable_value)} · document value "
        f"{texts.rupees(r.doc_value)}",
        texts.heads(r.tax) + f" · total tax <b>{texts.rupees(r.tax.total)}</b>",
        f"Status: <b>{texts.STATUS_NAMES[r.status.value]}</b>",
    ]
    if r.effective_status is not r.status:
        lines.append(f"Counts as: {texts.status_short(r.effective_status.value)}")
    if r.pending_window_end:
        lines.append(f"May stay pending until {texts.day(r.pending_window_end)}")
    if r.reduction:
        lines.append(f"Declared ITC reduction: {html.escape(r.reduction)}")
    if r.remarks:
        lines.append(f"Remarks: {html.escape(r.remarks)}")
    if not r.source_filed:
        lines.append(
            "The supplier has only saved it, not filed yet: you can act on it now, but it "
            "reaches GSTR-2B (and your ITC) only once they file it."
        )
    if r.time_barred:
        lines.append(f"⚠️ {html.escape(r.time_barred)} Accepting it brings no ITC.")
    if r.locked:
        lines.append("🔒 GSTR-3B of its period is filed: it can no longer change here.")
    return "\n".join(lines)


def card(
    w: int, r: RecordView, kb: KnowledgeBase, note: str | None = None,
    undo_log: int | None = None,
) -> View:
    """The record card: its data, the allowed actions, and why the others are not offered."""
    allowed = [a for a, v in r.verdicts.items() if v.allowed and a.status is not r.status]
    missing = [(a, v) for a, v in r.verdicts.items() if not v.allowed]
    lines = [card_text(r)]
    if missing and not r.locked:
        lines.append("")
        lines += [f"{texts.ACTION_NAMES[ACTION_CODE[a]]} not offered: {html.escape(v.reason)}"
                  for a, v in missing]
    if note:
        lines.insert(0, note + "\n")
    actions = [button(ACTION_BUTTON[a], ChooseAction(w, r.id, r.version, ACTION_CODE[a]))
               for a in allowed]
    why = [
        [button(texts.BUTTON_WHY.format(action=texts.ACTION_NAMES[ACTION_CODE[a]].lower()),
                FaqAnswer(v.faq_id))]
        for a, v in missing
        if v.faq_id and kb.get(v.faq_id) is not None and not r.locked
    ]
    undo = [button(texts.BUTTON_UNDO, UndoAction(w, undo_log))] if undo_log else []
    # A bill of entry may have no supplier GSTIN: nothing to accept in bulk or to name.
    supplier: list[InlineKeyboardButton] = []
    if r.supplier_gstin and not r.locked:
        supplier = [button(texts.BUTTON_SUPPLIER_ALL, BulkPreviewData(w, "sup", r.supplier_gstin))]
    name = [button(texts.BUTTON_NAME_SUPPLIER, NameSupplier(w, r.id))] if r.supplier_gstin else []
    back = [button(texts.BUTTON_BACK_TO_LIST, PendingPage(w))]
    rows = [undo, actions, *why, supplier, name, back]
    return View("\n".join(lines), keyboard(rows))  # replies fit it to Telegram, HTML-safe


def refusal(w: int, r: RecordView, kb: KnowledgeBase, reason: str, faq_id: str | None) -> View:
    view = card(w, r, kb, note=texts.refused(reason))
    if faq_id and kb.get(faq_id) is not None:
        rows = list(view.markup.inline_keyboard) if isinstance(view.markup,
                                                               InlineKeyboardMarkup) else []
        rows.insert(0, (button(texts.BUTTON_WHY_REFUSED, FaqAnswer(faq_id)),))
        return View(view.text, InlineKeyboardMarkup(rows))
    return view


def reject_question(w: int, r: RecordView) -> View:
    parts = [
        texts.REJECT_CONFIRM.format(
            label=html.escape(r.section.label.lower()), number=html.escape(r.number),
            itc=texts.rupees(r.tax.total),
        )
    ]
    if r.section.is_credit_note:
        parts.append(texts.REJECT_CREDIT_NOTE)
    parts.append(texts.REJECT_REMARKS)
    rows = [
        [button(texts.BUTTON_CONFIRM_REJECT, ConfirmAction(w, r.id, r.version, "R", "-"))],
        [button(texts.BUTTON_ADD_REMARKS, AskRemarks(w, r.id, r.version))],
        [button(texts.BUTTON_CANCEL, OpenRecord(w, r.id))],
    ]
    return View("\n".join(parts), keyboard(rows))


def reduction_question(w: int, r: RecordView) -> View:
    text = texts.REDUCTION_QUESTION.format(
        label=html.escape(r.section.label.lower()), number=html.escape(r.number),
        itc=texts.heads(r.tax),
    )
    rows = [
        [button(texts.BUTTON_REDUCE_FULL, ConfirmAction(w, r.id, r.version, "A", "full"))],
        [button(texts.BUTTON_REDUCE_NIL, ConfirmAction(w, r.id, r.version, "A", "nil"))],
        [button(texts.BUTTON_REDUCE_PARTIAL, AskPartial(w, r.id, r.version))],
        [button(texts.BUTTON_CANCEL, OpenRecord(w, r.id))],
    ]
    return View(text, keyboard(rows))


def supplier_hint(r: RecordView) -> View:
    """How to name a record's supplier: a tap-to-copy `/supplier GSTIN ` to complete. No
    prompt waits for a reply, so nothing typed later is taken for a name by mistake."""
    return View(texts.supplier_hint(r.supplier_label, r.supplier_gstin))


def prompt(template: str, number: str) -> View:
    text = template.format(number=html.escape(number))
    return View(text, ForceReply(selective=True, input_field_placeholder="Type here"))


# ------------------------------------------------------------------------ reports


def history(ws: Workspace, entries: Sequence[LogView]) -> View:
    if not entries:
        return View(texts.HISTORY_EMPTY.format(gstin=html.escape(ws.gstin)))
    lines = [texts.HISTORY_TITLE.format(gstin=html.escape(ws.gstin))]
    undo_rows = []
    for e in entries:
        what = html.escape(e.number or "—")
        change = ""
        if e.to_status is not None:
            old = texts.status_short(e.from_status.value) if e.from_status else "?"
            change = f": {old} → {texts.status_short(e.to_status.value)}"
        undone = " (undone)" if e.undone and e.kind in ("action", "bulk") else ""
        lines.append(f"#{e.id} {e.at:%d %b %H:%M} {html.escape(e.kind)} {what}{change}{undone}")
        if not e.undone and e.kind == "action" and len(undo_rows) < 3:
            label = f"{texts.BUTTON_UNDO} #{e.id} {e.number or ''}".strip()
            undo_rows.append([button(texts.clip(label, texts.BUTTON_LABEL_MAX),
                                     UndoAction(ws.id, e.id))])
    return View("\n".join(lines), keyboard(undo_rows))  # replies fit it to Telegram


def _row(name: str, tax: Tax, count: int) -> str:
    values = " ".join(f"{float(v):>10,.0f}" for v in tax.as_dict().values())
    return f"{name:<10}{values} {float(tax.total):>11,.0f} {count:>5}"


#: Recompute rows: label and Figures bucket; the last three only when they hold records.
_RECOMPUTE_ROWS = (
    ("Available", "available"), ("CN reduce", "credit_note_reduction"),
    ("Rejected", "rejected"), ("Pending", "pending"), ("Not filed", "not_filed"),
    ("Time-bar", "time_barred"), ("Not net", "not_netted"),
)
_ALWAYS_SHOWN = 4


def _recompute_rows(figures: Figures, shown: set[str]) -> list[str]:
    return [_row(label, getattr(figures, name).tax, getattr(figures, name).count)
            for label, name in _RECOMPUTE_ROWS if name in shown]


def recompute(ws: Workspace, result: RecomputeResult) -> View:
    f = result.figures
    header = f"{'':<10}{'IGST':>10} {'CGST':>10} {'SGST':>10} {'Cess':>10} {'Total':>11} {'#':>5}"
    c = result.change
    shown = {name for i, (_, name) in enumerate(_RECOMPUTE_ROWS)
             if i < _ALWAYS_SHOWN or getattr(f, name).count or (c and getattr(c, name).count)}
    table = [header, *_recompute_rows(f, shown)]
    lines = [
        f"<b>GSTR-2B recomputed — {html.escape(ws.gstin)}, {result.period.label}</b>",
        f"<pre>{html.escape(chr(10).join(table))}</pre>",
        "Available is net of credit-note reductions and amendments' changes; pending records "
        "are left for later.",
    ]
    lines += [f"• {html.escape(note)}" for note in result.notes]
    if result.unchanged and result.previous_at is not None:
        lines.append(texts.RECOMPUTE_UNCHANGED.format(at=f"{result.previous_at:%d %b %H:%M}"))
    elif c is not None:
        delta = _recompute_rows(c, shown)
        lines.append("Change since the last recompute:")
        lines.append(f"<pre>{html.escape(chr(10).join([header, *delta]))}</pre>")
    return View("\n".join(lines))


def summary(ws: Workspace, data: dict[str, object]) -> View:
    by_section = data["by_section"]
    assert isinstance(by_section, dict)
    lines = [f"<b>Summary — {html.escape(ws.gstin)}</b> ({ws.frequency.value})"]
    for section, statuses in sorted(by_section.items()):
        counts = ", ".join(f"{texts.status_short(s)} {n}" for s, n in sorted(statuses.items()))
        name = texts.SECTION_NAMES.get(section, section)
        lines.append(f"• {html.escape(name)}: {html.escape(counts)}")
    open_tax = data["open_tax"]
    lines.append(
        f"Needing a decision: <b>{data['open_count']}</b> record(s), ITC "
        f"<b>{texts.rupees(open_tax.total)}</b>"  # type: ignore[attr-defined]
    )
    if not by_section:
        lines.append(texts.NEXT_STEP)
    return View("\n".join(lines))
