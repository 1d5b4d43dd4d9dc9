"""Identity and access: Telegram users, the GSTIN workspaces they may see, and sharing.

A user links a GSTIN and gets a workspace of their own (never someone else's data, even for
the same GSTIN); the owner can share it with a one-time invite code and revoke it again.
Every other service trusts a workspace id only after `require()` has checked membership.
Each public method is one unit of work (one transaction).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ims_bot.db import Database
from ims_bot.domain import Frequency
from ims_bot.errors import AccessDenied, ImsError, InvalidInput, NotFound
from ims_bot.gstin import InvalidGstin, state_code, validate_gstin
from ims_bot.models import (
    ActionLog,
    Invite,
    Membership,
    PeriodState,
    Record,
    Reminder,
    Taxpayer,
    User,
)
from ims_bot.workspaces import Workspace

Now = Callable[[], datetime]

OWNER = "owner"
MEMBER = "member"
INVITE_DAYS = 7
# Unambiguous letters and digits only: a code is read off one screen and typed on another.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class NotLinked(ImsError):
    """The user has no GSTIN linked (or selected) yet."""


@dataclass(frozen=True)
class Linked:
    """A workspace as one user sees it."""

    workspace: Workspace
    role: str
    active: bool

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


@dataclass(frozen=True)
class LinkOutcome:
    workspace: Workspace
    created: bool


@dataclass(frozen=True)
class InviteCode:
    code: str
    workspace: Workspace
    expires_at: datetime


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str
    since: datetime


def parse_gstin(text: str) -> str:
    try:
        return validate_gstin(text)
    except InvalidGstin as exc:
        raise InvalidInput(f"That is not a valid GSTIN: {exc}.") from None


def _aware(value: datetime, like: datetime) -> datetime:
    """SQLite returns naive datetimes; compare them in the zone of `like`."""
    return value.replace(tzinfo=like.tzinfo) if value.tzinfo is None else value


class AccessService:
    def __init__(self, db: Database, now: Now) -> None:
        self.db = db
        self.now = now

    # ------------------------------------------------------------------ helpers

    def _user(self, session: Session, user_id: int, chat_id: int | None) -> User:
        user = session.get(User, user_id)
        if user is None:
            user = User(id=user_id, chat_id=chat_id or user_id, created_at=self.now())
            session.add(user)
        elif chat_id is not None:
            user.chat_id = chat_id
        return user

    @staticmethod
    def _membership(session: Session, user_id: int, taxpayer_id: int) -> Membership | None:
        return session.get(Membership, (taxpayer_id, user_id))

    def _require(self, session: Session, user_id: int, taxpayer_id: int) -> Taxpayer:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is None or self._membership(session, user_id, taxpayer_id) is None:
            raise AccessDenied(
                "You have no access to that GSTIN's records (it was unlinked, or it is not "
                "shared with you)."
            )
        return taxpayer

    def _require_owner(self, session: Session, user_id: int, taxpayer_id: int) -> Taxpayer:
        taxpayer = self._require(session, user_id, taxpayer_id)
        if taxpayer.owner_id != user_id:
            raise AccessDenied("Only the owner of this GSTIN's workspace can do that.")
        return taxpayer

    # ------------------------------------------------------------------ linking

    def link(
        self, user_id: int, chat_id: int, gstin: str, *, frequency: Frequency | None = None
    ) -> LinkOutcome:
        """The user's own workspace for `gstin` (created monthly unless told), made active."""
        gstin = parse_gstin(gstin)
        for _attempt in range(2):
            try:
                with self.db.begin() as session:
                    row = session.scalar(
                        select(Taxpayer).where(
                            Taxpayer.gstin == gstin, Taxpayer.owner_id == user_id
                        )
                    )
                    created = row is None
                    if row is None:
                        row = Taxpayer(
                            gstin=gstin,
                            owner_id=user_id,
                            name="",
                            state_code=state_code(gstin),
                            frequency=(frequency or Frequency.MONTHLY).value,
                            created_at=self.now(),
                        )
                        session.add(row)
                        session.flush()
                        session.add(
                            Membership(
                                taxpayer_id=row.id, user_id=user_id, role=OWNER,
                                created_at=self.now(),
                            )
                        )
                    elif frequency is not None:
                        row.frequency = frequency.value
                    user = self._user(session, user_id, chat_id)
                    session.flush()
                    user.active_taxpayer_id = row.id
                    return LinkOutcome(Workspace.of(row), created)
            except IntegrityError:
                continue  # linked concurrently (a double tap): read it on the next try
        raise RuntimeError("could not link the GSTIN")  # pragma: no cover

    def adopt(self, user_id: int, chat_id: int, taxpayer_id: int) -> Workspace:
        """Make a workspace the user owns (e.g. the demo's) their active one."""
        with self.db.begin() as session:
            taxpayer = self._require(session, user_id, taxpayer_id)
            self._user(session, user_id, chat_id).active_taxpayer_id = taxpayer.id
            return Workspace.of(taxpayer)

    def set_frequency(self, user_id: int, taxpayer_id: int, frequency: Frequency) -> Workspace:
        with self.db.begin() as session:
            taxpayer = self._require(session, user_id, taxpayer_id)
            taxpayer.frequency = frequency.value
            return Workspace.of(taxpayer)

    def workspaces(self, user_id: int) -> list[Linked]:
        """The user's GSTINs, owned and shared, the active one marked."""
        with self.db.begin() as session:
            user = session.get(User, user_id)
            active = user.active_taxpayer_id if user else None
            rows = session.execute(
                select(Taxpayer, Membership.role)
                .join(Membership, Membership.taxpayer_id == Taxpayer.id)
                .where(Membership.user_id == user_id)
                .order_by(Taxpayer.gstin, Taxpayer.id)
            ).all()
            return [Linked(Workspace.of(t), role, t.id == active) for t, role in rows]

    def switch(self, user_id: int, chat_id: int, taxpayer_id: int) -> Workspace:
        return self.adopt(user_id, chat_id, taxpayer_id)

    def active(self, user_id: int) -> Workspace:
        """The workspace the user's commands apply to; NotLinked when there is none."""
        with self.db.begin() as session:
            user = session.get(User, user_id)
            if user is not None and user.active_taxpayer_id is not None:
                taxpayer = session.get(Taxpayer, user.active_taxpayer_id)
                if taxpayer and self._membership(session, user_id, taxpayer.id):
                    return Workspace.of(taxpayer)
            # Fall back to any workspace still shared with the user (after an unlink).
            row = session.scalar(
                select(Taxpayer)
                .join(Membership, Membership.taxpayer_id == Taxpayer.id)
                .where(Membership.user_id == user_id)
                .order_by(Taxpayer.id)
                .limit(1)
            )
            if row is None:
                raise NotLinked("No GSTIN linked yet.")
            if user is not None:
                user.active_taxpayer_id = row.id
            return Workspace.of(row)

    def require(self, user_id: int, taxpayer_id: int) -> Workspace:
        """The workspace, if `user_id` may see and act on it; AccessDenied otherwise."""
        with self.db.begin() as session:
            return Workspace.of(self._require(session, user_id, taxpayer_id))

    def unlink(self, user_id: int, taxpayer_id: int) -> tuple[Workspace, bool]:
        """Owner: delete the workspace and its records. Member: leave it.

        Returns the workspace and whether it was deleted."""
        with self.db.begin() as session:
            taxpayer = self._require(session, user_id, taxpayer_id)
            workspace = Workspace.of(taxpayer)
            if taxpayer.owner_id != user_id:
                session.execute(
                    delete(Membership).where(
                        Membership.taxpayer_id == taxpayer_id, Membership.user_id == user_id
                    )
                )
                session.execute(
                    update(User)
                    .where(User.id == user_id, User.active_taxpayer_id == taxpayer_id)
                    .values(active_taxpayer_id=None)
                )
                return workspace, False
            session.execute(
                update(User)
                .where(User.active_taxpayer_id == taxpayer_id)
                .values(active_taxpayer_id=None)
            )
            # Explicit deletes: SQLite enforces ON DELETE CASCADE only when told to.
            for model in (ActionLog, Record, PeriodState, Invite, Reminder, Membership):
                session.execute(delete(model).where(model.taxpayer_id == taxpayer_id))
            session.execute(delete(Taxpayer).where(Taxpayer.id == taxpayer_id))
            return workspace, True

    # ------------------------------------------------------------------ sharing

    def invite(self, user_id: int, taxpayer_id: int, *, days: int = INVITE_DAYS) -> InviteCode:
        """A one-time code that gives its first user access to the owner's workspace."""
        with self.db.begin() as session:
            taxpayer = self._require_owner(session, user_id, taxpayer_id)
            now = self.now()
            code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
            invite = Invite(
                code=code,
                taxpayer_id=taxpayer_id,
                created_by=user_id,
                created_at=now,
                expires_at=now + timedelta(days=days),
                revoked=False,
            )
            session.add(invite)
            return InviteCode(code, Workspace.of(taxpayer), invite.expires_at)

    def join(self, user_id: int, chat_id: int, code: str) -> Workspace:
        """Use an invite code: the user becomes a member and the workspace their active one."""
        text = code.strip().upper()
        with self.db.begin() as session:
            invite = session.get(Invite, text, with_for_update=True) if text else None
            now = self.now()
            if invite is None or invite.revoked:
                raise NotFound("That invite code is not valid. Ask the owner for a new one.")
            if invite.used_by is not None and invite.used_by != user_id:
                raise InvalidInput("That invite code was already used. Ask for a new one.")
            if _aware(invite.expires_at, now) < now:
                raise InvalidInput("That invite code has expired. Ask the owner for a new one.")
            taxpayer = session.get(Taxpayer, invite.taxpayer_id)
            if taxpayer is None:  # pragma: no cover - deleted with its invites
                raise NotFound("That GSTIN is no longer linked.")
            invite.used_by, invite.used_at = user_id, now
            if self._membership(session, user_id, taxpayer.id) is None:
                session.add(
                    Membership(
                        taxpayer_id=taxpayer.id, user_id=user_id, role=MEMBER, created_at=now
                    )
                )
            self._user(session, user_id, chat_id).active_taxpayer_id = taxpayer.id
            return Workspace.of(taxpayer)

    def members(self, user_id: int, taxpayer_id: int) -> list[Member]:
        with self.db.begin() as session:
            self._require_owner(session, user_id, taxpayer_id)
            rows = session.scalars(
                select(Membership)
                .where(Membership.taxpayer_id == taxpayer_id)
                .order_by(Membership.created_at, Membership.user_id)
            ).all()
            return [Member(m.user_id, m.role, m.created_at) for m in rows]

    def revoke(self, user_id: int, taxpayer_id: int, member_id: int) -> bool:
        """Remove a member's access; False if they were not a member."""
        with self.db.begin() as session:
            self._require_owner(session, user_id, taxpayer_id)
            if member_id == user_id:
                raise InvalidInput("You own this workspace; use /unlink to delete it.")
            removed = session.execute(
                delete(Membership).where(
                    Membership.taxpayer_id == taxpayer_id, Membership.user_id == member_id
                )
            ).rowcount
            session.execute(
                update(User)
                .where(User.id == member_id, User.active_taxpayer_id == taxpayer_id)
                .values(active_taxpayer_id=None)
            )
            return bool(removed)
