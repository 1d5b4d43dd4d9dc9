"""The GSP service: owns the transactions of connecting, syncing, uploading and regenerating.

Tokens are sealed (crypto.Vault) before they touch the database and opened only to make a
call; every token learnt is registered with the log redaction (ims_bot.logs).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from ims_bot.db import Database
from ims_bot.domain import PORTAL_SECTIONS, Section, Status
from ims_bot.export import unsaved
from ims_bot.gsp.crypto import Vault
from ims_bot.gsp.errors import (
    EXPLAINED,
    GspError,
    NotConfigured,
    NotConnected,
    ProviderRejected,
    SessionExpired,
)
from ims_bot.gsp.provider import Auth, Provider, RequestOutcome, Token
from ims_bot.importer import ImportReport, import_sections
from ims_bot.logs import register_secret
from ims_bot.models import ActionLog, GspPlatformToken, GspRequest, GspSession, Record
from ims_bot.portal import SAVE_SECTIONS, record_fingerprint, save_request
from ims_bot.settings import INDIA, Settings, india

#: A session with less than this left is refreshed before a call.
REFRESH_BEFORE = timedelta(hours=1)
#: Seconds between polls of a request's outcome (then it is reported as still pending).
POLL = (1.0, 2.0, 3.0, 5.0, 8.0)
STILL_CHANGED = "IMSSAV0010"
#: A return period as the portal writes it: MMYYYY.
PERIOD_RE = re.compile(r"^(0[1-9]|1[0-2])(20\d\d)$")
NO_CREDENTIALS = (
    "the GSP provider is not configured: the operator sets IMS_BOT_GSP_API_KEY and "
    "IMS_BOT_GSP_API_SECRET (README: Portal sync)"
)

Progress = Callable[[str, int, int], None]  # section, done, of


def make_provider(settings: Settings) -> Provider:
    if not settings.gsp_api_key or not settings.gsp_api_secret:
        raise NotConfigured(NO_CREDENTIALS)
    from ims_bot.gsp.sandbox import Sandbox

    register_secret(settings.gsp_api_key, settings.gsp_api_secret, settings.secret_key)
    return Sandbox(settings.gsp_url, settings.gsp_api_key, settings.gsp_api_secret)


@dataclass(frozen=True)
class SyncReport:
    report: ImportReport
    fetched: dict[str, int]


@dataclass
class RecordOutcome:
    record_id: int
    section: str
    supplier_gstin: str
    number: str
    kind: str  # save | reset
    saved: bool
    code: str = ""
    message: str = ""

    @property
    def explanation(self) -> str:
        return EXPLAINED.get(self.code, self.message)

    def to_json(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "section": self.section,
                "supplier_gstin": self.supplier_gstin, "number": self.number,
                "kind": self.kind, "saved": self.saved, "code": self.code or None,
                "message": self.message or None, "explanation": self.explanation or None}


@dataclass
class UploadReport:
    outcomes: list[RecordOutcome] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # references still being processed
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def saved(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.saved]

    @property
    def refused(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if not o.saved]

    def to_json(self) -> dict[str, Any]:
        return {"saved": len(self.saved), "refused": len(self.refused),
                "pending": self.pending, "left_out": self.left_out,
                "records": [o.to_json() for o in self.outcomes]}


@dataclass(frozen=True)
class _Sent:
    id: int
    version: int
    section: str
    stin: str
    number: str
    rtnprd: str
    status: str
    fingerprint: str | None


class GspService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        provider: Provider | None = None,
        *,
        poll: tuple[float, ...] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.settings = settings
        self._provider = provider
        self._poll = POLL if poll is None else poll
        self._sleep = sleep

    # --- plumbing -------------------------------------------------------------------------

    @property
    def vault(self) -> Vault:
        return Vault(self.settings.secret_key)

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = make_provider(self.settings)
        return self._provider

    def _now(self) -> datetime:
        return datetime.now(INDIA)

    def _platform(self, *, fresh: bool = False) -> str:
        vault, provider = self.vault, self.provider
        if not fresh:
            with self.db.read() as session:
                row = session.get(GspPlatformToken, provider.name)
                if row is not None and india(row.expires_at) > self._now() + timedelta(minutes=5):
                    token = vault.open(row.token_enc)
                    register_secret(token)
                    return token
        token = provider.authenticate()
        register_secret(token.value)
        with self.db.begin() as session:
            row = session.get(GspPlatformToken, provider.name)
            if row is None:
                row = GspPlatformToken(provider=provider.name)
                session.add(row)
            row.token_enc = vault.seal(token.value)
            row.expires_at = token.expires_at
        return token.value

    def _with_platform(self, call: Callable[[str], Any]) -> Any:
        """Run `call(platform token)`; a cached token the provider refuses is renewed once."""
        try:
            return call(self._platform())
        except ProviderRejected:
            return call(self._platform(fresh=True))

    def _auth(self, taxpayer_id: int) -> Auth:
        """The tokens of the taxpayer's open session, refreshed when it ends within the hour."""
        vault = self.vault
        with self.db.read() as session:
            row = session.get(GspSession, taxpayer_id)
            if row is None or row.token_enc is None:
                raise NotConnected(
                    "this GSTIN is not connected to the GST portal: connect first "
                    "(ims-bot gsp login, or /connect in chat)"
                )
            expires = india(row.expires_at) if row.expires_at else self._now()
            sealed = row.token_enc
        if expires <= self._now():
            raise SessionExpired(
                "the GST portal session has ended (sessions last 6 hours): connect again "
                "(ims-bot gsp login, or /connect in chat)"
            )
        token = vault.open(sealed)
        register_secret(token)
        platform = self._platform()
        auth = Auth(platform, token)
        if expires - self._now() < REFRESH_BEFORE:
            try:
                fresh = self.provider.refresh(auth, "")
            except GspError:
                return auth  # still valid for a while: refresh again on the next call
            self._store_session(taxpayer_id, fresh, refreshed=True)
            auth = Auth(platform, fresh.value)
        return auth

    def _store_session(
        self, taxpayer_id: int, token: Token, *, refreshed: bool = False,
        username: str | None = None, user_id: int = 0,
    ) -> None:
        register_secret(token.value)
        sealed = self.vault.seal(token.value)
        with self.db.begin() as session:
            row = session.get(GspSession, taxpayer_id)
            if row is None:
                row = GspSession(taxpayer_id=taxpayer_id, provider=self.provider.name,
                                 username=username or "", created_by=user_id,
                                 created_at=self._now())
                session.add(row)
            if username is not None:
                row.username = username
                row.created_by = user_id
                row.created_at = self._now()
            row.provider = self.provider.name
            row.token_enc = sealed
            row.expires_at = token.expires_at
            row.refreshed_at = self._now() if refreshed else None

    # --- connecting -----------------------------------------------------------------------

    def request_otp(self, gstin: str, username: str) -> None:
        """Ask the portal to send the OTP (checks the key first: nothing is sent without)."""
        self.vault  # noqa: B018 - refuses now, before an OTP goes out, when there is no key
        self._with_platform(
            lambda platform: self.provider.request_otp(Auth(platform), gstin, username)
        )

    def verify_otp(
        self, taxpayer_id: int, gstin: str, username: str, otp: str, *, user_id: int = 0
    ) -> datetime:
        """Open the session; returns when it ends."""
        register_secret(otp)
        token = self._with_platform(
            lambda platform: self.provider.verify_otp(Auth(platform), gstin, username, otp)
        )
        self._store_session(taxpayer_id, token, username=username, user_id=user_id)
        return token.expires_at

    def session_info(self, taxpayer_id: int) -> tuple[str, datetime | None] | None:
        with self.db.read() as session:
            row = session.get(GspSession, taxpayer_id)
            if row is None or row.token_enc is None:
                return None
            return row.username, india(row.expires_at) if row.expires_at else None

    def logout(self, taxpayer_id: int, gstin: str) -> bool:
        """Log out on the portal (best effort) and forget the session; False when there was
        none."""
        with self.db.read() as session:
            row = session.get(GspSession, taxpayer_id)
            username = row.username if row is not None else None
        if username is None:
            return False
        # An ended session or an unreachable provider: forgetting it is what counts.
        with contextlib.suppress(GspError):
            self.provider.logout(self._auth(taxpayer_id), gstin, username)
        with self.db.begin() as session:
            session.execute(delete(GspSession).where(GspSession.taxpayer_id == taxpayer_id))
        return True

    # --- sync -----------------------------------------------------------------------------

    def sync(
        self, taxpayer_id: int, gstin: str, *, actor: str, channel: str,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Fetch every section (one call each), then merge them as one file import: all or
        nothing (a failure half-way writes nothing)."""
        auth = self._auth(taxpayer_id)
        sections: dict[str, list[Any]] = {}
        for done, section in enumerate(PORTAL_SECTIONS, start=1):
            sections[section.value] = self.provider.fetch_section(auth, gstin, section.value)
            if progress is not None:
                progress(section.value, done, len(PORTAL_SECTIONS))
        report = import_sections(self.db, taxpayer_id, sections, actor=actor, channel=channel)
        return SyncReport(report, {k: len(v) for k, v in sections.items()})

    # --- upload ---------------------------------------------------------------------------

    def preview(self, taxpayer_id: int) -> tuple[list[_Sent], list[_Sent], dict[str, int]]:
        """What an upload would send now: (to save, to reset, left out by section)."""
        with self.db.read() as session:
            rows = session.scalars(
                select(Record).where(
                    Record.taxpayer_id == taxpayer_id,
                    or_(Record.status != Record.portal_status, Record.remarks.is_not(None),
                        Record.reduction.is_not(None), Record.portal_decision.is_not(None)),
                ).order_by(Record.section, Record.id)
            ).all()
            changed = [r for r in rows if unsaved(r)]
            left: dict[str, int] = {}
            save, reset = [], []
            for r in changed:
                if r.section not in SAVE_SECTIONS:
                    left[r.section] = left.get(r.section, 0) + 1
                    continue
                sent = _Sent(r.id, r.version, r.section, r.supplier_gstin, r.number,
                             r.supplier_period, r.status, record_fingerprint(r))
                if r.status != Status.NO_ACTION.value:
                    save.append(sent)
                elif r.portal_status != Status.NO_ACTION.value:
                    reset.append(sent)
        return save, reset, left

    def upload(self, taxpayer_id: int, gstin: str, *, actor: str, channel: str) -> UploadReport:
        auth = self._auth(taxpayer_id)
        report = UploadReport()
        # An earlier upload the portal was still processing: its outcome first, and its
        # records are not sent again while it is pending.
        waiting = self._resume(taxpayer_id, gstin, auth, report, actor=actor, channel=channel)
        save, reset, left = self.preview(taxpayer_id)
        report.left_out = left
        for kind, whole in (("save", save), ("reset", reset)):
            batch = [s for s in whole if s.id not in waiting]
            if not batch:
                continue
            with self.db.read() as session:
                records = session.scalars(
                    select(Record).where(Record.id.in_([s.id for s in batch]))
                    .order_by(Record.section, Record.id)
                ).all()
                request = save_request(gstin, records, reset=kind == "reset")
            reference = self.provider.send(auth, request)
            request_id = self._remember(taxpayer_id, kind, reference, batch)
            outcome = self._wait(lambda ref=reference: self.provider.request_status(
                auth, gstin, ref))
            self._finish(request_id, outcome)
            if outcome.state == "pending":
                report.pending.append(reference)
                continue
            report.outcomes.extend(
                self._apply(taxpayer_id, kind, batch, outcome, actor=actor, channel=channel)
            )
        return report

    def _wait(self, check: Callable[[], RequestOutcome]) -> RequestOutcome:
        outcome = check()
        for wait in self._poll:
            if outcome.state != "pending":
                break
            self._sleep(wait)
            outcome = check()
        return outcome

    def _resume(
        self, taxpayer_id: int, gstin: str, auth: Auth, report: UploadReport,
        *, actor: str, channel: str,
    ) -> set[int]:
        """Poll the save/reset requests still "sent"; apply those now done. Returns the ids
        of records in requests still pending."""
        with self.db.read() as session:
            rows = session.execute(
                select(GspRequest.id, GspRequest.kind, GspRequest.reference, GspRequest.result)
                .where(GspRequest.taxpayer_id == taxpayer_id, GspRequest.status == "sent",
                       GspRequest.kind.in_(("save", "reset")))
                .order_by(GspRequest.id)
            ).all()
        waiting: set[int] = set()
        for request_id, kind, reference, result in rows:
            batch = [_Sent(*item) for item in (result or {}).get("sent", [])]
            outcome = self.provider.request_status(auth, gstin, reference)
            if outcome.state == "pending":
                report.pending.append(reference)
                waiting.update(s.id for s in batch)
                continue
            self._finish(request_id, outcome)
            report.outcomes.extend(
                self._apply(taxpayer_id, kind, batch, outcome, actor=actor, channel=channel)
            )
        return waiting

    def _remember(
        self, taxpayer_id: int, kind: str, reference: str, batch: list[_Sent] | None = None
    ) -> int:
        sent = [list(astuple(s)) for s in batch or ()]
        with self.db.begin() as session:
            row = GspRequest(taxpayer_id=taxpayer_id, kind=kind, reference=reference[:100],
                             status="sent", created_at=self._now(),
                             result={"sent": sent} if sent else None)
            session.add(row)
            session.flush()
            return row.id

    def _finish(self, request_id: int, outcome: RequestOutcome) -> None:
        if outcome.state == "pending":
            return
        with self.db.begin() as session:
            row = session.get(GspRequest, request_id)
            if row is not None:
                row.status = "failed" if outcome.state == "failed" else "done"
                row.finished_at = self._now()
                row.result = {**(row.result or {}), "state": outcome.state,
                              "errors": outcome.errors, "code": outcome.code,
                              "message": outcome.message}

    def _apply(
        self, taxpayer_id: int, kind: str, batch: list[_Sent], outcome: RequestOutcome,
        *, actor: str, channel: str,
    ) -> list[RecordOutcome]:
        """Saved records take the sent decision as the portal's; a record the supplier
        changed (IMSSAV0010) goes back to no action for a fresh decision."""
        refused: dict[tuple[str, str, str], tuple[str, str]] = {
            (e["section"], e["stin"], e["number"]): (e["code"], e["message"])
            for e in outcome.errors
        }
        whole = outcome.state == "failed"
        now = self._now()
        out: list[RecordOutcome] = []
        with self.db.begin() as session:
            for sent in batch:
                problem = (outcome.code or "ERROR", outcome.message or "request failed") \
                    if whole else refused.get((sent.section, sent.stin, sent.number))
                if problem is None:
                    session.execute(
                        update(Record).where(Record.id == sent.id,
                                             Record.version == sent.version)
                        .values(portal_status=sent.status, portal_decision=sent.fingerprint,
                                updated_at=now, version=Record.version + 1)
                    )
                    out.append(RecordOutcome(sent.id, sent.section, sent.stin, sent.number,
                                             kind, True))
                    continue
                code, message = problem
                if code == STILL_CHANGED:
                    changed = session.execute(
                        update(Record).where(Record.id == sent.id,
                                             Record.version == sent.version)
                        .values(status=Status.NO_ACTION.value, reduction=None, decl_igst=None,
                                decl_cgst=None, decl_sgst=None, decl_cess=None,
                                updated_at=now, version=Record.version + 1)
                    ).rowcount
                    if changed:
                        session.add(ActionLog(
                            taxpayer_id=taxpayer_id, record_id=sent.id, at=now, actor=actor,
                            channel=channel, kind="supplier_edit", from_status=sent.status,
                            to_status=Status.NO_ACTION.value,
                            reason=f"{STILL_CHANGED}: {EXPLAINED[STILL_CHANGED]}", undone=True,
                        ))
                out.append(RecordOutcome(sent.id, sent.section, sent.stin, sent.number, kind,
                                         False, code, message))
        return out

    # --- GSTR-2B --------------------------------------------------------------------------

    def regenerate(self, taxpayer_id: int, gstin: str, period: str) -> RequestOutcome:
        auth = self._auth(taxpayer_id)
        reference = self.provider.regenerate(auth, gstin, period)
        request_id = self._remember(taxpayer_id, "regenerate", reference)
        outcome = self._wait(lambda: self.provider.regenerate_status(auth, gstin, reference))
        self._finish(request_id, outcome)
        return outcome


def section_label(section: str) -> str:
    try:
        return Section(section).label
    except ValueError:
        return section
