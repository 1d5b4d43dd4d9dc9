"""The GSTIN and record screens: each function takes primitives (who, what was typed or
pressed), calls the core, and returns what to show. Synchronous, no Telegram I/O: the
handlers stay three lines of parse → screen → render, and these are tested through them.

Every button names its workspace (`w`); before anything else the presser's membership of
that workspace is checked on the server, so forged or replayed data changes nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from handlers import callbackdata as cd
from handlers import texts, views
from handlers.replies import Attachment, Screen, View
from ims_bot import deadlines, suppliers
from ims_bot.access import OWNER, AccessService, NotLinked, Profile
from ims_bot.chart import chart_data, summary_chart
from ims_bot.demo import load_demo
from ims_bot.domain import (
    Action,
    Frequency,
    Period,
    Reduction,
    ReductionKind,
    Section,
    parse_day,
    parse_financial_year,
)
from ims_bot.errors import AccessDenied, Conflict, ImportRefused, ImsError, NotFound, Refused
from ims_bot.export import build_export
from ims_bot.importer import import_file
from ims_bot.portal import PortalFileError
from ims_bot.prompts import Awaited, PromptKind, PromptRequest, Step
from ims_bot.recompute import PeriodService
from ims_bot.records import RecordFilter, RecordService, RecordView, supplier_names

if TYPE_CHECKING:
    from ims_bot.app import Core
    from ims_bot.workspaces import Workspace

CHANNEL = "telegram"
PAGE_SIZE = 8
#: A pending window closing within this many days puts credit notes first in /pending.
URGENT_DAYS = 10
MAX_UPLOAD = 50 * 1024 * 1024
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024


def actor(user_id: int) -> str:
    return f"tg:{user_id}"


def _services(core: Core) -> tuple[AccessService, RecordService, PeriodService]:
    if core.access is None or core.records is None or core.periods is None:
        raise RuntimeError("the bot runs without a database")
    return core.access, core.records, core.periods


def _failure(exc: ImsError) -> View:
    if isinstance(exc, NotLinked):
        return View(texts.NOT_LINKED)
    return View(texts.refused(str(exc)))


# ============================================================================ commands


def link(
    core: Core, user_id: int, chat_id: int, args: list[str], profile: Profile | None = None
) -> View:
    access, _, _ = _services(core)
    if len(args) != 1:
        return View(texts.LINK_USAGE)
    try:
        outcome = access.link(user_id, chat_id, args[0], profile=profile)
    except ImsError as exc:
        return _failure(exc)
    return views.linked(outcome.workspace, outcome.created)


def gstins(core: Core, user_id: int) -> View:
    access, _, _ = _services(core)
    return views.gstin_list(access.workspaces(user_id))


def unlink(core: Core, user_id: int) -> View:
    access, _, _ = _services(core)
    try:
        ws = access.active(user_id)
    except ImsError as exc:
        return _failure(exc)
    return views.unlink_question(ws, ws.owner_id == user_id)


def invite(core: Core, user_id: int) -> View:
    """/invite: a new one-time code for the active GSTIN (its owner only)."""
    access, _, _ = _services(core)
    try:
        ws = access.active(user_id)
        return views.invite_created(access.invite(user_id, ws.id))
    except ImsError as exc:
        return _failure(exc)


def members(core: Core, user_id: int) -> View:
    """/members: who has access to the active GSTIN and which codes still work (owner)."""
    access, _, _ = _services(core)
    try:
        ws = access.active(user_id)
        return views.members(access.sharing(user_id, ws.id))
    except ImsError as exc:
        return _failure(exc)


def join(
    core: Core, user_id: int, chat_id: int, args: list[str], profile: Profile | None = None
) -> View:
    access, _, _ = _services(core)
    if len(args) != 1:
        return View(texts.JOIN_USAGE)
    try:
        ws = access.join(user_id, chat_id, args[0], profile=profile)
    except ImsError as exc:
        return _failure(exc)
    return View(texts.JOINED.format(gstin=ws.gstin))


def demo(core: Core, user_id: int, chat_id: int) -> View:
    access, _, _ = _services(core)
    assert core.db is not None
    ws, report = load_demo(core.db, owner_id=user_id)
    ws = access.adopt(user_id, chat_id, ws.id)
    return View(texts.DEMO_LOADED.format(gstin=ws.gstin, name=ws.name, total=report.total))


def pending(core: Core, user_id: int) -> View:
    access, _, _ = _services(core)
    try:
        ws = access.active(user_id)
        return _pending_page(core, ws, cd.PendingPage(ws.id))
    except ImsError as exc:
        return _failure(exc)


def from_reminder(
    core: Core, user_id: int, chat_id: int, workspace_id: int, period: Period | None
) -> View:
    """A reminder's button: that GSTIN's open records, or its recompute (after an access
    check, since the reminder may be old and the access revoked since)."""
    access, _, periods = _services(core)
    try:
        ws = access.switch(user_id, chat_id, workspace_id)
        if period is None:
            return _pending_page(core, ws, cd.PendingPage(ws.id))
        return views.recompute(ws, periods.recompute(ws.id, period))
    except ImsError as exc:
        return _failure(exc)


def history(core: Core, user_id: int) -> View:
    access, records, _ = _services(core)
    try:
        ws = access.active(user_id)
        return views.history(ws, records.history(ws.id, limit=15))
    except ImsError as exc:
        return _failure(exc)


def supplier(core: Core, user_id: int, args: list[str]) -> View:
    """/supplier GSTIN Name: the user's own name for a supplier of the active GSTIN."""
    access, _, _ = _services(core)
    assert core.db is not None
    if len(args) < 2:
        return View(texts.SUPPLIER_USAGE)
    try:
        ws = access.active(user_id)
        named = suppliers.rename(core.db, ws.id, args[0], " ".join(args[1:]))
    except ImsError as exc:
        return _failure(exc)
    return View(texts.supplier_named(named.name, named.gstin, named.previous))


def recompute(core: Core, user_id: int, args: list[str]) -> View:
    access, _, periods = _services(core)
    try:
        ws = access.active(user_id)
        period = Period.parse(args[0]) if args else default_period(core, ws)
        return views.recompute(ws, periods.recompute(ws.id, period))
    except ValueError:
        return View(texts.RECOMPUTE_USAGE)
    except ImsError as exc:
        return _failure(exc)


def default_period(core: Core, ws: Workspace) -> Period:
    """The latest period whose draft GSTR-2B exists and whose GSTR-3B is not yet filed;
    else the previous month (whose refusal then says when its draft comes)."""
    _, _, periods = _services(core)
    today = core.settings.today()
    step = deadlines.months_per_tax_period(ws.frequency)
    latest = deadlines.return_period(Period.of(today).shift(-step), ws.frequency)
    for candidate in (latest, latest.shift(-step)):
        ready = deadlines.draft_2b_date(candidate, ws.frequency) <= today
        if ready and not periods.is_filed(ws.id, candidate):
            return candidate
    return latest


def filed(core: Core, user_id: int, args: list[str]) -> View:
    """/filed MMYYYY: record that GSTR-3B of a period is filed (its records lock, pending
    ones carry forward; s.16(4) counts from the returns recorded filed)."""
    access, _, periods = _services(core)
    try:
        ws = access.active(user_id)
        period = Period.parse(args[0]) if len(args) == 1 else None
        if period is None:
            return View(texts.FILED_USAGE)
        if periods.is_filed(ws.id, period):
            return View(texts.FILED_ALREADY.format(period=period.label))
        carried = periods.mark_filed(ws.id, period, actor=actor(user_id), channel=CHANNEL)
        return View(texts.FILED_DONE.format(period=period.label, carried=carried))
    except ValueError:
        return View(texts.FILED_USAGE)
    except ImsError as exc:
        return _failure(exc)


def annual_return(core: Core, user_id: int, args: list[str]) -> View:
    """/annualreturn 2024-25 DD-MM-YYYY: the annual return's filing day (s.16(4))."""
    access, _, periods = _services(core)
    try:
        if len(args) != 2:
            return View(texts.ANNUAL_RETURN_USAGE)
        fy, filed_on = parse_financial_year(args[0]), parse_day(args[1])
        ws = access.active(user_id)
        periods.record_annual_return(ws.id, fy, filed_on, actor=actor(user_id), channel=CHANNEL)
        return View(texts.ANNUAL_RETURN_DONE.format(
            fy=f"{fy}-{(fy + 1) % 100:02d}", day=f"{filed_on:%d %b %Y}"))
    except ValueError:
        return View(texts.ANNUAL_RETURN_USAGE)
    except ImsError as exc:
        return _failure(exc)


def summary(core: Core, user_id: int) -> tuple[View, Workspace | None]:
    access, records, _ = _services(core)
    try:
        ws = access.active(user_id)
        return views.summary(ws, records.summary(ws.id)), ws
    except ImsError as exc:
        return _failure(exc), None


def summary_picture(core: Core, ws: Workspace) -> Attachment:
    """The chart of /summary (slow: run in a worker thread)."""
    assert core.db is not None
    by_status, top = chart_data(core.db, ws.id)
    png = summary_chart(by_status, top, title=ws.gstin)
    return Attachment(f"summary-{ws.gstin}.png", png, texts.SUMMARY_CAPTION, photo=True)


def export(core: Core, user_id: int) -> tuple[View | None, list[Attachment]]:
    access, _, _ = _services(core)
    assert core.db is not None
    try:
        ws = access.active(user_id)
    except ImsError as exc:
        return _failure(exc), []
    result = build_export(core.db, ws.id)
    save, reset, note = result.save, result.reset, result.left_out_note
    count = _count(save)
    files = []
    if count:
        caption = texts.EXPORT_CAPTION.format(gstin=ws.gstin, count=count)
        files.append(Attachment(f"ims-save-{ws.gstin}.json", _json(save), caption))
    if reset is not None:
        caption = texts.RESET_CAPTION.format(count=_count(reset))
        files.append(Attachment(f"ims-reset-{ws.gstin}.json", _json(reset), caption))
    if not files:
        nothing = texts.EXPORT_NOTHING.format(gstin=ws.gstin)
        return View(f"{nothing}\n{texts.escape_clipped(note, 1000)}" if note else nothing), []
    return (View(texts.escape_clipped(note, 1000)) if note else None), files


def _count(request: dict[str, object]) -> int:
    data = request.get("invdata")
    return sum(len(v) for v in data.values()) if isinstance(data, dict) else 0


def _json(request: dict[str, object]) -> bytes:
    return json.dumps(request, indent=1, ensure_ascii=False).encode()


# ============================================================================ uploads


def prepare_upload(
    core: Core, user_id: int, name: str, mime: str, size: int
) -> tuple[int | None, View]:
    """Whether to download a document: (workspace id, "importing…" view) or (None, why not)."""
    access, _, _ = _services(core)
    try:
        ws = access.active(user_id)
    except ImsError as exc:
        return None, _failure(exc)
    megabytes = f"{size / 1024 / 1024:.1f}"
    if size > MAX_UPLOAD:
        return None, View(texts.IMPORT_TOO_BIG.format(size=megabytes))
    if size > TELEGRAM_DOWNLOAD_LIMIT:
        return None, View(texts.IMPORT_TOO_BIG_FOR_TELEGRAM.format(size=megabytes))
    # Refuse up front only what is clearly something else (a PDF, a spreadsheet…); anything
    # else is read, and the parser explains what is wrong with it.
    _, dot, extension = name.lower().rpartition(".")
    other_extension = bool(dot) and extension not in ("json", "txt")
    if other_extension and "json" not in mime.lower():
        return None, View(texts.IMPORT_NOT_JSON.format(name=texts.echo(name or "that file")))
    return ws.id, View(texts.IMPORT_START.format(name=texts.echo(name)))


def import_upload(
    core: Core, user_id: int, w: int, data: bytes, progress: Callable[[int], None]
) -> View:
    """Import the downloaded file (slow: run in a worker thread)."""
    access, _, _ = _services(core)
    assert core.db is not None
    try:
        ws = access.require(user_id, w)
        report = import_file(
            core.db, w, io.BytesIO(data), actor=actor(user_id), channel=CHANNEL,
            progress=progress,
        )
    except PortalFileError as exc:
        return View(texts.IMPORT_NOT_IMS.format(detail=texts.escape_clipped(str(exc), 3000)))
    except ImportRefused as exc:
        return View(texts.import_refused(exc.errors, exc.total))
    except ImsError as exc:
        return _failure(exc)
    return View(texts.import_summary(ws.gstin, report))


def progress_text(name: str) -> Callable[[int], str]:
    return lambda count: texts.IMPORT_PROGRESS.format(name=texts.echo(name), count=count)


# ============================================================================ buttons


def for_button(core: Core, user_id: int, raw: str | None) -> Screen:
    """The screen a press on a `ws:`, `rec:`, `pend:` or `bulk:` button leads to."""
    return dispatch(core, user_id, raw, _ROUTES)


def dispatch(
    core: Core, user_id: int, raw: str | None, routes: dict[type, Callable[..., Screen]]
) -> Screen:
    """Parse a button's data (forged data fails here), check the presser's membership of
    the workspace it names, then run its route from `routes`."""
    try:
        data = cd.parse(raw)
        route = routes.get(type(data))
        if route is None:
            raise cd.InvalidCallbackData(repr(raw))
        if isinstance(data, cd.Cancel):
            return Screen(View(texts.CANCELLED))
        _services(core)[0].require(user_id, data.w)  # type: ignore[attr-defined]
        return route(core, user_id, data)
    except (cd.InvalidCallbackData, ValueError):
        return Screen(alert=texts.BUTTON_NO_LONGER_VALID)
    except AccessDenied as exc:
        return Screen(alert=texts.alert(str(exc)))
    except ImsError as exc:
        return Screen(view=_failure(exc), alert=texts.alert(str(exc)))


def _set_frequency(core: Core, user_id: int, data: cd.SetFrequency) -> Screen:
    access, _, _ = _services(core)
    frequency = {"m": Frequency.MONTHLY, "q": Frequency.QUARTERLY}.get(data.freq)
    if frequency is None:
        raise cd.InvalidCallbackData(data.freq)
    ws = access.set_frequency(user_id, data.w, frequency)
    toast = texts.FREQUENCY_SET.format(frequency=frequency.value)
    return Screen(views.linked(ws, created=True), toast=toast)


def _use(core: Core, user_id: int, data: cd.UseWorkspace) -> Screen:
    access, _, _ = _services(core)
    ws = access.switch(user_id, user_id, data.w)
    toast = texts.ACTIVE_NOW.format(gstin=ws.gstin)
    return Screen(views.gstin_list(access.workspaces(user_id)), toast=toast)


def _ask_unlink(core: Core, user_id: int, data: cd.AskUnlink) -> Screen:
    ws = _services(core)[0].require(user_id, data.w)
    return Screen(views.unlink_question(ws, ws.owner_id == user_id))


def _unlink(core: Core, user_id: int, data: cd.ConfirmUnlink) -> Screen:
    ws, deleted = _services(core)[0].unlink(user_id, data.w)
    return Screen(views.unlinked(ws, deleted))


def _not_owner(exc: AccessDenied) -> Screen:
    return Screen(alert=texts.alert(f"{exc} {texts.NOTHING_CHANGED}"))


def _ask_revoke(core: Core, user_id: int, data: cd.AskRevoke) -> Screen:
    try:
        sharing = _services(core)[0].sharing(user_id, data.w)
    except AccessDenied as exc:
        return _not_owner(exc)
    member = sharing.member(data.u)
    if member is not None and member.role == OWNER:
        raise cd.InvalidCallbackData(repr(data))
    if member is None:  # an old list's button: show the list as it is now
        return Screen(views.members(sharing), alert=texts.NOT_A_MEMBER)
    return Screen(views.revoke_question(sharing.workspace, member))


def _revoke(core: Core, user_id: int, data: cd.ConfirmRevoke) -> Screen:
    access, _, _ = _services(core)
    try:
        removed = access.revoke(user_id, data.w, data.u)
    except AccessDenied as exc:
        return _not_owner(exc)
    if not removed:  # replayed, or revoked already from another message
        return Screen(alert=texts.NOT_A_MEMBER)
    return Screen(views.members(access.sharing(user_id, data.w)), toast=texts.REVOKED)


def _cancel_code(core: Core, user_id: int, data: cd.CancelCode) -> Screen:
    access, _, _ = _services(core)
    try:
        cancelled = access.cancel_invite(user_id, data.w, data.code)
    except AccessDenied as exc:
        return _not_owner(exc)
    if not cancelled:
        return Screen(alert=texts.CODE_NOT_LIVE)
    return Screen(views.members(access.sharing(user_id, data.w)), toast=texts.CODE_CANCELLED)


def _pending_page(core: Core, ws: Workspace, state: cd.PendingPage) -> View:
    _, records, _ = _services(core)
    sections = (Section(state.sec),) if state.sec != cd.ANY else ()
    _, low, high = views.band(state.amt)
    flt = RecordFilter(
        sections=sections,
        supplier=state.sup if state.sup != cd.ANY else None,
        min_value=Decimal(low) if low is not None else None,
        max_value=Decimal(high) if high is not None else None,
        needs_decision=True,
    )
    today = core.settings.today()
    page, urgent = records.open_page(
        ws.id, flt, lambda ends: _urgent_window(ends, today), page=max(1, state.page),
        page_size=PAGE_SIZE,
    )
    supplier = _supplier_name(core, ws.id, state.sup) if state.sup != cd.ANY else None
    return views.pending_page(ws, page, state, urgent, supplier)


def _urgent_window(window_ends: list[date], today: date) -> date | None:
    """The earliest pending window of an open record closing within URGENT_DAYS."""
    ends = [end for end in window_ends if 0 <= (end - today).days <= URGENT_DAYS]
    return min(ends, default=None)


def _supplier_name(core: Core, w: int, gstin: str) -> str:
    assert core.db is not None
    return suppliers.label(core.db, w, gstin)


def _list(core: Core, user_id: int, data: cd.PendingPage) -> Screen:
    ws = _services(core)[0].require(user_id, data.w)
    return Screen(_pending_page(core, ws, data))


def _filter(core: Core, _user_id: int, data: cd.PendingFilter) -> Screen:
    assert core.db is not None
    suppliers = supplier_names(core.db, data.w, limit=8)
    if data.by == "bulk":
        return Screen(views.bulk_menu(data.w, suppliers))
    if data.by not in ("sec", "sup", "amt"):
        raise cd.InvalidCallbackData(data.by)
    return Screen(views.filter_menu(data, suppliers))


def _open(core: Core, _user_id: int, data: cd.OpenRecord) -> Screen:
    record = _services(core)[1].get(data.w, data.r)
    return Screen(views.card(data.w, record, core.kb))


def _action(code: str) -> Action:
    action = views.CODE_ACTION.get(code)
    if action is None:
        raise cd.InvalidCallbackData(code)
    return action


def _choose(core: Core, user_id: int, data: cd.ChooseAction) -> Screen:
    action = _action(data.a)
    record = _services(core)[1].get(data.w, data.r)
    if record.version != data.v:
        return _stale(core, data.w, record, action)
    if action is Action.REJECT and record.verdicts[action].allowed:
        return Screen(views.reject_question(data.w, record))
    if action is Action.ACCEPT and record.reduction_applicable:
        return Screen(views.reduction_question(data.w, record))
    return _act(core, user_id, data.w, record, action, data.v)


def _confirm(core: Core, user_id: int, data: cd.ConfirmAction) -> Screen:
    action = _action(data.a)
    if data.red not in cd.REDUCTION_CODES:
        raise cd.InvalidCallbackData(data.red)
    reduction = Reduction(ReductionKind(data.red)) if data.red != "-" else None
    record = _services(core)[1].get(data.w, data.r)
    return _act(core, user_id, data.w, record, action, data.v, reduction=reduction)


def _act(
    core: Core,
    user_id: int,
    w: int,
    record: RecordView,
    action: Action,
    version: int,
    *,
    reduction: Reduction | None = None,
    remarks: str | None = None,
) -> Screen:
    _, records, _ = _services(core)
    try:
        outcome = records.act(
            w, record.id, action, actor=actor(user_id), channel=CHANNEL, remarks=remarks,
            reduction=reduction, expected_version=version,
        )
    except Refused as exc:
        fresh = records.get(w, record.id)
        view = views.refusal(w, fresh, core.kb, exc.verdict.reason, exc.verdict.faq_id)
        return Screen(view, alert=texts.alert(exc.verdict.reason))
    except Conflict:
        return _stale(core, w, records.get(w, record.id), action)
    done = texts.ACTION_DONE[views.ACTION_CODE[action]]
    if not outcome.changed:
        status = texts.status_short(outcome.record.status.value).lower()
        return Screen(views.card(w, outcome.record, core.kb),
                      toast=texts.ALREADY.format(status=status))
    view = views.card(w, outcome.record, core.kb, note=f"<b>{done}.</b>", undo_log=outcome.log_id)
    return Screen(view, toast=done)


def _stale(core: Core, w: int, fresh: RecordView, action: Action) -> Screen:
    """A button of an outdated card. A double tap (the record already has the status asked
    for) is harmless and says so; anything else shows the record afresh."""
    if fresh.status is action.status:
        status = texts.status_short(fresh.status.value).lower()
        return Screen(views.card(w, fresh, core.kb), toast=texts.ALREADY.format(status=status))
    view = views.card(w, fresh, core.kb, note=texts.refused(texts.CHANGED_SINCE))
    return Screen(view, alert=texts.CHANGED_SINCE)


def _name_supplier(core: Core, _user_id: int, data: cd.NameSupplier) -> Screen:
    record = _services(core)[1].get(data.w, data.r)
    if not record.supplier_gstin:
        return Screen(alert=texts.SUPPLIER_NO_GSTIN)
    return Screen(toast=texts.SUPPLIER_HINT_TOAST, follow_up=views.supplier_hint(record))


def _ask_remarks(core: Core, _user_id: int, data: cd.AskRemarks) -> Screen:
    record = _services(core)[1].get(data.w, data.r)
    prompt = views.prompt(texts.REMARKS_PROMPT, record.number)
    request = PromptRequest(PromptKind.REJECT_REMARKS, data.w, data.r, data.v)
    return Screen(toast=texts.TYPE_IN_REPLY, follow_up=prompt, awaiting=request)


def _ask_partial(core: Core, _user_id: int, data: cd.AskPartial) -> Screen:
    record = _services(core)[1].get(data.w, data.r)
    prompt = views.prompt(texts.PARTIAL_PROMPT, record.number)
    request = PromptRequest(PromptKind.PARTIAL_REDUCTION, data.w, data.r, data.v)
    return Screen(toast=texts.TYPE_IN_REPLY, follow_up=prompt, awaiting=request)


def _undo(core: Core, user_id: int, data: cd.UndoAction) -> Screen:
    _, records, _ = _services(core)
    # Read before the undo: the one entry asked for, not the last thousand.
    record_id = records.logged_record(data.w, data.log)
    try:
        records.undo(data.w, actor=actor(user_id), channel=CHANNEL, log_id=data.log)
    except Refused as exc:
        return Screen(alert=texts.alert(exc.verdict.reason))
    except NotFound as exc:
        return Screen(alert=texts.alert(str(exc)))
    if record_id is None:
        return Screen(View(texts.UNDONE.format(status="its earlier status")))
    record = records.get(data.w, record_id)
    note = texts.UNDONE.format(status=texts.status_short(record.status.value))
    return Screen(views.card(data.w, record, core.kb, note=note), toast=note)


def _bulk_filter(kind: str, arg: str) -> RecordFilter:
    """The records a bulk button means; the scope lives in the button, not in memory."""
    if kind == "sup" and len(arg) == 15:
        return RecordFilter(supplier=arg, needs_decision=True)
    if kind == "under" and arg.isdigit():
        return RecordFilter(max_value=Decimal(int(arg)), needs_decision=True)
    if kind == "all":
        return RecordFilter(needs_decision=True)
    raise cd.InvalidCallbackData(kind)


def _bulk_preview(core: Core, _user_id: int, data: cd.BulkPreviewData) -> Screen:
    flt = _bulk_filter(data.kind, data.arg)
    preview = _services(core)[1].preview_bulk(data.w, flt, Action.ACCEPT)
    supplier = _supplier_name(core, data.w, data.arg) if data.kind == "sup" else None
    return Screen(views.bulk_preview(data, preview, supplier))


def _bulk_apply(core: Core, user_id: int, data: cd.BulkApply) -> Screen:
    flt = _bulk_filter(data.kind, data.arg)
    outcome = _services(core)[1].act_bulk(
        data.w, flt, Action.ACCEPT, actor=actor(user_id), channel=CHANNEL
    )
    supplier = _supplier_name(core, data.w, data.arg) if data.kind == "sup" else None
    if outcome.changed == 0:
        # A double tap: keep the first tap's message (with its Undo), just say so.
        where = views.scope(data.kind, data.arg, supplier)
        return Screen(toast=texts.alert(texts.BULK_NONE_LEFT.format(scope=where)))
    return Screen(views.bulk_done(data, outcome, supplier), toast=texts.ACTION_DONE["A"])


def _bulk_undo(core: Core, user_id: int, data: cd.BulkUndo) -> Screen:
    try:
        count = _services(core)[1].undo(
            data.w, actor=actor(user_id), channel=CHANNEL, batch=data.batch
        )
    except (Refused, NotFound) as exc:
        reason = exc.verdict.reason if isinstance(exc, Refused) else str(exc)
        return Screen(alert=texts.alert(reason))
    back = views.keyboard([[views.button(texts.BUTTON_BACK_TO_LIST, cd.PendingPage(data.w))]])
    return Screen(View(texts.BULK_UNDONE.format(count=count), back))


_ROUTES: dict[type, Callable[..., Screen]] = {
    cd.SetFrequency: _set_frequency,
    cd.UseWorkspace: _use,
    cd.AskUnlink: _ask_unlink,
    cd.ConfirmUnlink: _unlink,
    cd.Cancel: lambda *_: Screen(View(texts.CANCELLED)),
    cd.AskRevoke: _ask_revoke,
    cd.ConfirmRevoke: _revoke,
    cd.CancelCode: _cancel_code,
    cd.PendingPage: _list,
    cd.PendingFilter: _filter,
    cd.OpenRecord: _open,
    cd.ChooseAction: _choose,
    cd.ConfirmAction: _confirm,
    cd.AskRemarks: _ask_remarks,
    cd.AskPartial: _ask_partial,
    cd.NameSupplier: _name_supplier,
    cd.UndoAction: _undo,
    cd.BulkPreviewData: _bulk_preview,
    cd.BulkApply: _bulk_apply,
    cd.BulkUndo: _bulk_undo,
}


# ============================================================================ typed replies


def awaited(
    core: Core, user_id: int, chat_id: int, reply_to: int | None
) -> Awaited | Step | None:
    """The open prompt or flow step this typed text answers, if any (see ims_bot.prompts)."""
    if core.prompts is None:
        return None
    return core.prompts.answered_by(user_id, chat_id, reply_to)


def for_typed(core: Core, user_id: int, prompt: Awaited, text: str) -> View:
    """The user's typed answer to a prompt: remarks (reject) or partial reduction amounts.

    The prompt stays open while the answer is refused (the user may type it again), and
    closes once it acted, or once acting is no longer possible."""
    access, records, _ = _services(core)
    w, r, v = prompt.taxpayer_id, prompt.record_id, prompt.version
    try:
        access.require(user_id, w)
        record = records.get(w, r)
        if prompt.kind is PromptKind.REJECT_REMARKS:
            screen = _act(core, user_id, w, record, Action.REJECT, v, remarks=text)
        else:
            reduction = Reduction.parse(text)
            if reduction.kind is not ReductionKind.PARTIAL:
                reduction = Reduction(reduction.kind)
            screen = _act(core, user_id, w, record, Action.ACCEPT, v, reduction=reduction)
    except ValueError as exc:
        return View(texts.refused(str(exc)))
    except ImsError as exc:
        _close_prompt(core, user_id)
        return _failure(exc)
    refused = screen.alert is not None and screen.alert != texts.CHANGED_SINCE
    if not refused:  # acted, or the record changed: this prompt has had its answer
        _close_prompt(core, user_id)
    return screen.view or View(texts.CANCELLED)


def _close_prompt(core: Core, user_id: int) -> None:
    if core.prompts is not None:
        core.prompts.clear(user_id)

