"""Workspaces: a GSTIN as one owner sees it (CLI workspaces have the local owner 0)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ims_bot.db import Database
from ims_bot.domain import Frequency
from ims_bot.errors import InvalidInput, NotFound
from ims_bot.gstin import InvalidGstin, state_code, validate_gstin
from ims_bot.models import LOCAL_OWNER, Membership, Taxpayer
from ims_bot.settings import INDIA


@dataclass(frozen=True)
class Workspace:
    id: int
    gstin: str
    name: str
    state_code: str
    frequency: Frequency
    owner_id: int

    @classmethod
    def of(cls, row: Taxpayer) -> Workspace:
        return cls(row.id, row.gstin, row.name, row.state_code, Frequency(row.frequency),
                   row.owner_id)


def parse_gstin(text: str) -> str:
    try:
        return validate_gstin(text)
    except InvalidGstin as exc:
        raise InvalidInput(str(exc)) from None


def find_workspace(db: Database, gstin: str, owner_id: int = LOCAL_OWNER) -> Workspace | None:
    gstin = parse_gstin(gstin)
    with db.begin() as session:
        row = session.scalar(
            select(Taxpayer).where(Taxpayer.gstin == gstin, Taxpayer.owner_id == owner_id)
        )
        return Workspace.of(row) if row else None


def get_workspace(db: Database, gstin: str, owner_id: int = LOCAL_OWNER) -> Workspace:
    workspace = find_workspace(db, gstin, owner_id)
    if workspace is None:
        raise NotFound(f"No records for GSTIN {gstin.strip().upper()} yet: import a file first.")
    return workspace


def ensure_workspace(
    db: Database,
    gstin: str,
    owner_id: int = LOCAL_OWNER,
    *,
    frequency: Frequency | None = None,
    name: str = "",
) -> Workspace:
    """The owner's workspace for `gstin`, created (monthly unless told) when missing.

    A given frequency updates an existing workspace, so a user can correct it."""
    gstin = parse_gstin(gstin)
    for _attempt in range(2):
        try:
            with db.begin() as session:
                row = session.scalar(
                    select(Taxpayer).where(Taxpayer.gstin == gstin, Taxpayer.owner_id == owner_id)
                )
                if row is None:
                    now = datetime.now(INDIA)
                    row = Taxpayer(
                        gstin=gstin,
                        owner_id=owner_id,
                        name=name,
                        state_code=state_code(gstin),
                        frequency=(frequency or Frequency.MONTHLY).value,
                        created_at=now,
                    )
                    session.add(row)
                    session.flush()
                    if owner_id != LOCAL_OWNER:
                        session.add(
                            Membership(
                                taxpayer_id=row.id, user_id=owner_id, role="owner", created_at=now
                            )
                        )
                else:
                    if frequency is not None:
                        row.frequency = frequency.value
                    if name:
                        row.name = name
                session.flush()
                return Workspace.of(row)
        except IntegrityError:
            continue  # created concurrently by another process: read it on the next try
    raise RuntimeError("could not create the workspace")  # pragma: no cover
