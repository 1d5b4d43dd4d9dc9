"""Portal sync in chat: what /connect, /sync, /upload, /regenerate and /disconnect show.

Synchronous functions over the Core (handlers run them in a worker thread); every failure
is a View with one plain sentence (GspError's message), never a traceback.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from handlers.replies import View
from ims_bot.access import NotLinked
from ims_bot.errors import ImsError
from ims_bot.gsp.service import PERIOD_RE, GspService
from ims_bot.prompts import PromptKind, Step

if TYPE_CHECKING:
    from ims_bot.app import Core

CHANNEL = "telegram"
SECTIONS = 8

ENABLE_API = (
    "Before the first connection, the taxpayer allows API access on the GST portal: log in "
    "at gst.gov.in → <b>My Profile</b> → <b>Manage API Access</b> → <b>Yes</b>, choose how "
    "long (up to 30 days) → <b>Confirm</b>."
)
ASK_USERNAME = "Type the GST portal <b>username</b> of {gstin} (not the password)."
OTP_SENT = (
    "The GST portal sent an OTP to the mobile registered for {gstin}. Type it here: the bot "
    "deletes your message. (Waits 30 minutes; any command cancels.)"
)
CONNECTED = (
    "✅ {gstin} is connected to the GST portal as {username} until {until} IST: sessions "
    "last 6 hours and are refreshed while they can be. Now: /sync, decide, /upload, "
    "/regenerate."
)
BAD_USERNAME = "That does not look like a GST portal username (1 to 100 characters, no spaces)."
BAD_OTP = "The OTP is the 6-digit number the portal sent: type just the digits."


def _actor(user_id: int) -> str:
    return f"tg:{user_id}"


def _gsp(core: Core) -> GspService:
    if core.gsp is None or core.access is None or core.prompts is None:
        raise RuntimeError("the bot runs without a database")
    return core.gsp


def _failed(exc: ImsError) -> View:
    if isinstance(exc, NotLinked):
        return View("Link a GSTIN first: /link GSTIN.")
    return View(f"⚠️ {html.escape(str(exc))}")


def connect(core: Core, user_id: int, chat_id: int) -> View:
    gsp = _gsp(core)
    try:
        ws = core.access.active(user_id)  # type: ignore[union-attr]
        gsp.vault  # noqa: B018 - refuses (and says why) without IMS_BOT_SECRET_KEY
        gsp.provider  # noqa: B018 - and without the provider's key and secret
    except ImsError as exc:
        return _failed(exc)
    core.prompts.open_step(user_id, chat_id, PromptKind.GSP_USERNAME, ws.id)  # type: ignore[union-attr]
    return View(f"{ENABLE_API}\n\n{ASK_USERNAME.format(gstin=ws.gstin)}")


def answer_step(core: Core, user_id: int, chat_id: int, step: Step, text: str) -> View:
    """The username or the OTP typed in answer to /connect."""
    gsp, prompts = _gsp(core), core.prompts
    assert prompts is not None
    try:
        ws = core.access.require(user_id, step.taxpayer_id)  # type: ignore[union-attr]
        if step.kind is PromptKind.GSP_USERNAME:
            username = text.strip()
            if not re.fullmatch(r"\S{1,100}", username):
                return View(BAD_USERNAME)
            gsp.request_otp(ws.gstin, username)
            prompts.open_step(user_id, chat_id, PromptKind.GSP_OTP, ws.id,
                              {"username": username})
            return View(OTP_SENT.format(gstin=ws.gstin))
        otp = text.strip()
        if not re.fullmatch(r"\d{4,8}", otp):
            return View(BAD_OTP)
        username = step.payload.get("username", "")
        until = gsp.verify_otp(ws.id, ws.gstin, username, otp, user_id=user_id)
    except ImsError as exc:
        return _failed(exc)
    prompts.clear(user_id)
    return View(CONNECTED.format(gstin=ws.gstin, username=html.escape(username),
                                 until=f"{until:%d %b %H:%M}"))


def sync(core: Core, user_id: int, progress: Callable[[int], None]) -> View:
    gsp = _gsp(core)
    try:
        ws = core.access.active(user_id)  # type: ignore[union-attr]
        result = gsp.sync(ws.id, ws.gstin, actor=_actor(user_id), channel=CHANNEL,
                          progress=lambda _section, done, _of: progress(done))
    except ImsError as exc:
        return _failed(exc)
    r = result.report
    lines = [f"🔄 Synced {ws.gstin} with the GST portal: {r.total} record(s), {r.created} "
             f"new, {r.updated} updated, {r.unchanged} unchanged."]
    if r.reset_by_supplier:
        lines.append(f"{r.reset_by_supplier} record(s) were changed by the supplier after you "
                     "acted: they are back to no action and need a fresh decision.")
    lines.extend(html.escape(w) for w in r.warnings)
    lines.append("See them: /pending")
    return View("\n".join(lines))


def sync_progress(done: int) -> str:
    return f"🔄 Fetching IMS records from the GST portal… {done}/{SECTIONS} sections"


def upload(core: Core, user_id: int, send: bool) -> View:
    gsp = _gsp(core)
    try:
        ws = core.access.active(user_id)  # type: ignore[union-attr]
        if not send:
            save, reset, left = gsp.preview(ws.id)
            if not save and not reset:
                return View(f"Nothing to upload for {ws.gstin}: the portal holds every "
                            "decision.")
            note = (f"\nNot sent (bills of entry: act on the portal): {sum(left.values())}."
                    if left else "")
            return View(f"Upload to the GST portal for {ws.gstin}: {len(save)} decision(s) to "
                        f"save, {len(reset)} record(s) back to no action.{note}\n"
                        "Send them: <code>/upload yes</code>")
        report = gsp.upload(ws.id, ws.gstin, actor=_actor(user_id), channel=CHANNEL)
    except ImsError as exc:
        return _failed(exc)
    lines = [f"📤 Saved on the GST portal: {len(report.saved)}; refused: "
             f"{len(report.refused)}."]
    for o in report.refused[:20]:
        lines.append(f"• {html.escape(o.number)} ({o.section}, {o.supplier_gstin}): "
                     f"{html.escape(o.code)} — {html.escape(o.explanation or o.message)}")
    if report.pending:
        lines.append("The portal is still processing: /upload again later for the outcome.")
    return View("\n".join(lines))


def regenerate(core: Core, user_id: int, period: str | None) -> View:
    gsp = _gsp(core)
    try:
        ws = core.access.active(user_id)  # type: ignore[union-attr]
    except ImsError as exc:
        return _failed(exc)
    if period is None:
        today = core.settings.today()
        month, year = (today.month - 1, today.year) if today.month > 1 else (12, today.year - 1)
        period = f"{month:02d}{year}"
    if not PERIOD_RE.match(period):
        return View("Give the period as MMYYYY, e.g. <code>/regenerate 102025</code>.")
    try:
        outcome = gsp.regenerate(ws.id, ws.gstin, period)
    except ImsError as exc:
        return _failed(exc)
    if outcome.state == "done":
        return View(f"✅ GSTR-2B of {period} for {ws.gstin} is regenerated on the portal.")
    if outcome.state == "pending":
        return View(f"The portal is regenerating GSTR-2B of {period}: check it there later.")
    return View(f"⚠️ The portal could not regenerate GSTR-2B of {period}: "
                f"{html.escape(outcome.code)} {html.escape(outcome.message)}")


def disconnect(core: Core, user_id: int) -> View:
    gsp = _gsp(core)
    try:
        ws = core.access.active(user_id)  # type: ignore[union-attr]
        done = gsp.logout(ws.id, ws.gstin)
    except ImsError as exc:
        return _failed(exc)
    if not done:
        return View(f"{ws.gstin} was not connected to the GST portal.")
    return View(f"Disconnected {ws.gstin}: the portal session is closed and forgotten.")
