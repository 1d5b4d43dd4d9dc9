"""Reconciliation screens: the register sent as a document → summary with a chart and a
button per group → preview → confirm → applied, with Undo (the bulk batch's).

Synchronous, no Telegram I/O. Every button names its workspace and run; the presser's
membership of the workspace is checked first, and the run must belong to it, so forged or
replayed data changes nothing. The group's record ids live in the database (ReconcileRun).
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from handlers import callbackdata as cd
from handlers import reconcile_texts as rt
from handlers import screens, texts, views
from handlers.replies import Attachment, Screen, View
from ims_bot.access import NotLinked
from ims_bot.errors import ImsError
from ims_bot.money import rupees
from ims_bot.reconcile import Group
from ims_bot.reconcile_chart import reconcile_chart
from ims_bot.reconciliation import ReconcileService
from ims_bot.register import MappingNeeded, RegisterError

if TYPE_CHECKING:
    from ims_bot.app import Core

CHANNEL = "telegram"
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
HEADS = ("igst", "cgst", "sgst", "cess")


def _service(core: Core) -> ReconcileService:
    if core.db is None or core.access is None:
        raise RuntimeError("the bot runs without a database")
    return ReconcileService(core.db, core.settings.today)


def _itc(totals: dict[str, Any]) -> Decimal:
    return sum((Decimal(str(totals[h])) for h in HEADS), Decimal(0))


def _failure(exc: ImsError) -> View:
    return View(texts.refused(str(exc)))


# ============================================================================ the upload


def prepare(core: Core, user_id: int, name: str, size: int) -> tuple[int | None, View]:
    """Whether to download the register: (workspace id, "reading…") or (None, why not)."""
    assert core.access is not None
    try:
        ws = core.access.active(user_id)
    except ImsError as exc:
        return None, View(texts.NOT_LINKED) if isinstance(exc, NotLinked) else _failure(exc)
    if size > TELEGRAM_DOWNLOAD_LIMIT:
        return None, View(rt.TOO_BIG.format(size=f"{size / 1024 / 1024:.1f}"))
    return ws.id, View(rt.START.format(name=texts.echo(name or "register")))


def run(
    core: Core, user_id: int, w: int, data: bytes, name: str
) -> tuple[View, Attachment | None]:
    """Reconcile the downloaded register (slow: run in a worker thread)."""
    assert core.access is not None
    service = _service(core)
    try:
        ws = core.access.require(user_id, w)
        done = service.run(w, data, name, user_id=user_id)
    except MappingNeeded as exc:
        run_id = service.ask_mapping(w, user_id, exc.missing, exc.headers)
        return _question(w, run_id, exc.missing[0], list(exc.headers[:30])), None
    except RegisterError as exc:
        return View(rt.BAD_FILE.format(detail=texts.escape_clipped(str(exc), 1000))), None
    except ImsError as exc:
        return _failure(exc), None
    assert done.run_id is not None
    summary = done.result.summary()
    view = summary_view(w, done.run_id, ws.gstin, summary, len(done.register.rows),
                        done.register.skipped, len(done.follow_ups), done.names_filled)
    png = reconcile_chart(summary, title=ws.gstin)
    caption = rt.CHART_CAPTION.format(gstin=ws.gstin)
    return view, Attachment(f"reconcile-{ws.gstin}.png", png, caption, photo=True)


def summary_view(
    w: int, run_id: int, gstin: str, summary: dict[str, dict[str, Any]], rows: int,
    skipped: int, suppliers: int, names: int,
) -> View:
    left_out = rt.SKIPPED.format(count=skipped) if skipped else ""
    lines = [rt.SUMMARY.format(gstin=gstin, rows=rows, skipped=left_out), ""]
    for group, totals in summary.items():
        lines.append(rt.SUMMARY_LINE.format(
            label=rt.GROUP_LABELS[group], count=totals["count"], itc=rupees(_itc(totals)),
            help=rt.GROUP_HELP[group]))
    if names:
        lines += ["", rt.NAMES_FILLED.format(count=names)]
    lines += ["", rt.SUMMARY_FOOT]
    buttons = [
        [views.button(label.format(count=summary[group]["count"]),
                      cd.ReconcilePreview(w, run_id, group))]
        for group, label in rt.BUTTON_APPLY.items() if summary[group]["count"]
    ]
    if suppliers:
        buttons.append([views.button(rt.BUTTON_FOLLOW_UPS.format(count=suppliers),
                                     cd.ReconcileFollowUp(w, run_id, 0))])
    return View("\n".join(lines), views.keyboard(buttons))


def _question(w: int, run_id: int, field: str, headers: list[str]) -> View:
    text = rt.ASK_COLUMN.format(field=html.escape(rt.FIELD_NAMES.get(field, field)))
    # Header text is the file's: a button label is plain text, never markup.
    rows = [[views.button(header[:40] or "(empty)", cd.ReconcileMap(w, run_id, i))]
            for i, header in enumerate(headers)]
    return View(text, views.keyboard(rows))


# ============================================================================ buttons


def for_button(core: Core, user_id: int, raw: str | None) -> Screen:
    """The screen a press on an `rcn:` button leads to (access checked first)."""
    return screens.dispatch(core, user_id, raw, _ROUTES)


def _preview(core: Core, _user_id: int, data: cd.ReconcilePreview) -> Screen:
    service, group = _service(core), Group(data.group)
    stored = service.stored(data.w, data.run)
    ids = [int(i) for i in stored.get("groups", {}).get(group.value, [])]
    preview = service.preview(data.w, group, ids)
    name = rt.GROUP_LABELS[group.value]
    kind = preview.action.value
    if not preview.eligible:
        return Screen(View(rt.PREVIEW_NOTHING.format(group=name)))
    lines = [rt.PREVIEW[kind].format(eligible=preview.eligible, group=name,
                                     itc=rupees(preview.tax.total))]
    if preview.unchanged:
        lines.append(rt.PREVIEW_UNCHANGED.format(count=preview.unchanged,
                                                 status=preview.action.status.value))
    for reason, count in preview.refused.items():
        lines.append(rt.PREVIEW_REFUSED.format(count=count, reason=html.escape(reason)))
    looks = stored.get("looks", {}).get(group.value, [])
    if looks:
        # Both sides, as the reasons name them: numbers from files, escaped.
        lines += ["", rt.LOOK, *(f"• {texts.escape_clipped(r, 300)}" for r in looks)]
    confirm = rt.BUTTON_CONFIRM[kind].format(count=preview.eligible)
    markup = views.keyboard([[views.button(confirm, cd.ReconcileApply(data.w, data.run,
                                                                      data.group)),
                              views.button(texts.BUTTON_CANCEL, cd.Cancel())]])
    return Screen(View("\n".join(lines), markup))


def _apply(core: Core, user_id: int, data: cd.ReconcileApply) -> Screen:
    service, group = _service(core), Group(data.group)
    ids = service.group_ids(data.w, data.run, group)
    outcome = service.apply(data.w, group, ids, actor=f"tg:{user_id}", channel=CHANNEL)
    if outcome.changed == 0 or outcome.batch is None:
        return Screen(toast=texts.alert(rt.NONE_LEFT))  # a double tap: keep the first reply
    kind = outcome.action.value
    lines = [rt.DONE[kind].format(count=outcome.changed, group=rt.GROUP_LABELS[group.value],
                                  itc=rupees(outcome.tax.total))]
    for reason, count in outcome.refused.items():
        lines.append(rt.DONE_REFUSED.format(count=count, reason=html.escape(reason)))
    undo = views.keyboard([[views.button(rt.BUTTON_UNDO, cd.BulkUndo(data.w, outcome.batch))]])
    return Screen(View("\n".join(lines), undo), toast=texts.alert(rt.BUTTON_UNDO + " available"))


def _follow_up(core: Core, _user_id: int, data: cd.ReconcileFollowUp) -> Screen:
    messages = list(_service(core).stored(data.w, data.run).get("follow_ups", {}).values())
    if not messages:
        return Screen(View(rt.NO_FOLLOW_UPS))
    page = data.page % len(messages)
    head = rt.FOLLOW_UP_HEAD.format(page=page + 1, pages=len(messages))
    text = f"{head}\n\n{texts.escape_clipped(messages[page], 3500)}"
    more = [[views.button(rt.BUTTON_NEXT, cd.ReconcileFollowUp(data.w, data.run, page + 1))]]
    return Screen(follow_up=View(text, views.keyboard(more if len(messages) > 1 else [])))


def _map(core: Core, _user_id: int, data: cd.ReconcileMap) -> Screen:
    question = _service(core).answer_mapping(data.w, data.run, data.column)
    answered, missing = question["answers"], question["missing"]
    if len(answered) < len(missing):
        return Screen(_question(data.w, data.run, missing[len(answered)], question["headers"]))
    return Screen(View(rt.MAPPED))


_ROUTES: dict[type, Any] = {
    cd.ReconcilePreview: _preview,
    cd.ReconcileApply: _apply,
    cd.ReconcileFollowUp: _follow_up,
    cd.ReconcileMap: _map,
}
