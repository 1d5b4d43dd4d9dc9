"""Export the user's decisions as the portal's save (and reset) requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ims_bot.db import Database
from ims_bot.domain import Status
from ims_bot.errors import NotFound
from ims_bot.models import Record, Taxpayer
from ims_bot.portal import save_request


def export_requests(
    db: Database, taxpayer_id: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The SAVE request for every record whose status differs from the portal's, and a
    RESET request for records taken back to no action (None when there are none)."""
    with db.begin() as session:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is None:
            raise NotFound("This GSTIN is not linked (any more).")
        rows = session.scalars(
            select(Record)
            .where(Record.taxpayer_id == taxpayer_id, Record.status != Record.portal_status)
            .order_by(Record.section, Record.id)
        ).all()
        to_save = [r for r in rows if r.status != Status.NO_ACTION.value]
        to_reset = [r for r in rows if r.status == Status.NO_ACTION.value]
        save = save_request(taxpayer.gstin, to_save)
        reset = save_request(taxpayer.gstin, to_reset, reset=True) if to_reset else None
        return save, reset
