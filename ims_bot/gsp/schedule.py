"""Scheduled portal sync: once a day on the days that matter — from the draft GSTR-2B (the
14th) to the GSTR-3B due date of the period before — for every GSTIN with an open portal
session. New records then reach the existing "new records" digest (ims_bot.reminders).

A day's sync is remembered as a `gsp_requests` row (kind "sync"), so replicas and restarts
do not repeat it; a failure is logged (one line) and tried again on the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from ims_bot.deadlines import draft_2b_date, gstr3b_due_date
from ims_bot.domain import Frequency, Period
from ims_bot.gsp.errors import GspError
from ims_bot.gsp.service import GspService
from ims_bot.models import GspRequest, GspSession, Taxpayer
from ims_bot.settings import india

logger = logging.getLogger(__name__)
JOB_NAME = "ims-bot-gsp-sync"
KIND = "sync"


def sync_day(today: date, frequency: Frequency, state_code: str) -> bool:
    """Whether `today` is a day to sync: draft GSTR-2B of last month's period is out and its
    GSTR-3B not yet due (for QRMP, only in the month after the quarter)."""
    period = Period.of(today).shift(-1)
    return draft_2b_date(period, frequency) <= today <= gstr3b_due_date(
        period, frequency, state_code)


def due(service: GspService, now: datetime) -> list[tuple[int, str]]:
    """(workspace id, GSTIN) of connected workspaces to sync now, not yet synced today."""
    today = india(now).date()
    start = datetime.combine(today, datetime.min.time(), tzinfo=india(now).tzinfo)
    with service.db.read() as session:
        rows = session.execute(
            select(Taxpayer.id, Taxpayer.gstin, Taxpayer.frequency, Taxpayer.state_code,
                   GspSession.expires_at)
            .join(GspSession, GspSession.taxpayer_id == Taxpayer.id)
            .where(GspSession.token_enc.is_not(None))
        ).all()
        done = set(session.scalars(
            select(GspRequest.taxpayer_id).where(GspRequest.kind == KIND,
                                                 GspRequest.created_at >= start)
        ))
    return [
        (tid, gstin) for tid, gstin, frequency, state, expires in rows
        if tid not in done and expires is not None and india(expires) > now
        and sync_day(today, Frequency(frequency), state)
    ]


def run(service: GspService, now: datetime) -> int:
    """Sync every due workspace; returns how many synced."""
    synced = 0
    for taxpayer_id, gstin in due(service, now):
        try:
            service.sync(taxpayer_id, gstin, actor="schedule", channel="system")
        except GspError as exc:
            logger.warning("Scheduled sync of workspace %s failed: %s", taxpayer_id, exc)
            continue
        with service.db.begin() as session:
            session.add(GspRequest(taxpayer_id=taxpayer_id, kind=KIND, reference="scheduled",
                                   status="done", created_at=now, finished_at=now))
        synced += 1
    return synced


def schedule(application: Any, service: GspService, now: Callable[[], datetime],
             *, interval_seconds: float = 900) -> None:
    """Run `run` on the application's JobQueue every `interval_seconds` (in a thread)."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("scheduled sync needs python-telegram-bot's job-queue extra")
    for job in job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()

    async def tick(_context: Any) -> None:
        import asyncio

        synced = await asyncio.to_thread(run, service, india(now()))
        if synced:
            logger.info("Scheduled portal sync: %d workspace(s)", synced)

    job_queue.run_repeating(tick, interval=interval_seconds, first=60, name=JOB_NAME,
                            job_kwargs={"coalesce": True, "max_instances": 1})
