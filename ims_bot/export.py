"""Export the user's decisions as the portal's save (and reset) requests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from ims_bot.db import Database
from ims_bot.domain import Status
from ims_bot.errors import NotFound
from ims_bot.models import Record, Taxpayer
from ims_bot.portal import SAVE_SECTIONS, record_fingerprint, save_request


@dataclass(frozen=True)
class Export:
    """What to upload: the SAVE request, the RESET request (None when nothing went back to
    no action), and decisions no request can carry, by section (bills of entry: no
    provider publishes a save schema for them; act on those on the portal)."""

    save: dict[str, Any]
    reset: dict[str, Any] | None
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def left_out_note(self) -> str | None:
        if not self.left_out:
            return None
        parts = ", ".join(f"{section} {n}" for section, n in sorted(self.left_out.items()))
        return (
            f"Not in the request: decisions on bills of entry ({parts}). The providers' save "
            "schemas have no import-of-goods sections: take those actions on the GST portal."
        )


def unsaved(r: Any) -> bool:
    """Whether the portal does not hold this record's decision yet: another status, or the
    same status with another declaration (ITC reduction, remarks: A → A is saved again)."""
    return r.status != r.portal_status or record_fingerprint(r) != r.portal_decision


def build_export(db: Database, taxpayer_id: int) -> Export:
    """The SAVE request for every record whose decision the portal does not hold yet, and a
    RESET request for records taken back to no action."""
    with db.begin() as session:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is None:
            raise NotFound("This GSTIN is not linked (any more).")
        # Candidates in SQL: another status, or a declaration on either side (most records
        # have none, and then nothing else can differ). The exact test is `unsaved`.
        rows = session.scalars(
            select(Record)
            .where(
                Record.taxpayer_id == taxpayer_id,
                or_(
                    Record.status != Record.portal_status,
                    Record.remarks.is_not(None),
                    Record.reduction.is_not(None),
                    Record.portal_decision.is_not(None),
                ),
            )
            .order_by(Record.section, Record.id)
        ).all()
        changed = [r for r in rows if unsaved(r)]
        no_action = Status.NO_ACTION.value
        to_save = [r for r in changed if r.status != no_action]
        to_reset = [r for r in changed if r.status == no_action and r.portal_status != no_action]
        left_out = Counter(r.section for r in to_save + to_reset if r.section not in SAVE_SECTIONS)
        save = save_request(taxpayer.gstin, to_save)
        reset = save_request(taxpayer.gstin, to_reset, reset=True)
        return Export(save, reset if reset["invdata"] else None, dict(left_out))


def export_requests(
    db: Database, taxpayer_id: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The SAVE request and the RESET request (None when there is none): `build_export`."""
    result = build_export(db, taxpayer_id)
    return result.save, result.reset
