"""Identity and access: Telegram users, the GSTIN workspaces they may see, and sharing.

A user links a GSTIN and gets a workspace of their own (never someone else's data, even for
the same GSTIN); the owner can share it with invite codes, each good for one use, and revoke
access again. A used, cancelled or expired code is dead; revoking a member also kills every
code they used or made, so nobody walks back in with one.
Every other service trusts a workspace id only after `require()` has checked membership.
Each public method is one unit of work (one transaction).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
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
# Codes that still work, per workspace: every one stays listed (and cancellable) in /members.
MAX_LIVE_CODES = 10
# Telegram's limits are 64 + 64 characters for a name and 32 for a username; the columns
# allow a little more, and anything longer is cut rather than refused.
NAME_MAX = 150
USERNAME_MAX = 40


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
class Profile:
    """A Telegram user's names as Telegram gives them: untrusted text (escape to show)."""

    name: str
    username: str | None = None


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str
    since: datetime
    name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Sharing:
    """Who has access to a workspace, and the invite codes that still work."""

    workspace: Workspace
    members: list[Member]
    codes: list[InviteCode]

    def member(self, user_id: int) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)


def parse_gstin(text: str) -> str:
    try:
        return validate_gstin(text)
    except InvalidGstin as exc:
        raise InvalidInput(f"That is not a valid GSTIN: {exc}.") from None


_NO_ACCESS = (
    "You have no access to that GSTIN's records (it was unlinked, or it is not shared with "
    "you)."
)
_WORKSPACE_COLUMNS = (
    Taxpayer.id, Taxpayer.gstin, Taxpayer.name, Taxpayer.state_code, Taxpayer.frequency,
    Taxpayer.owner_id,
)


def _workspace(row: Any) -> Workspace:
    """A Workspace from a Core row of _WORKSPACE_COLUMNS (as Workspace.of from the ORM)."""
    return Workspace(row.id, row.gstin, row.name, row.state_code, Frequency(row.frequency),
                     row.owner_id)


def _aware(value: datetime, like: datetime) -> datetime:
    """SQLite returns naive datetimes; compare them in the zone of `like`."""
    return value.replace(tzinfo=like.tzinfo) if value.tzinfo is None else value


class AccessService:
    def __init__(self, db: Database, now: Now) -> None:
        self.db = db
        self.now = now

    # ------------------------------------------------------------------ helpers

    def _user(
        self, session: Session, user_id: int, chat_id: int | None, profile: Profile | None = None
    ) -> User:
        user = session.get(User, user_id)
        if user is None:
            user = User(id=user_id, chat_id=chat_id or user_id, created_at=self.now())
            session.add(user)
        elif chat_id is not None:
            user.chat_id = chat_id
        if profile is not None:
            user.name = profile.name[:NAME_MAX] or None
            user.username = (profile.username or "")[:USERNAME_MAX] or None
        return user

    @staticmethod
    def _membership(session: Session, user_id: int, taxpayer_id: int) -> Membership | None:
        return session.get(Membership, (taxpayer_id, user_id))

    def _require(self, session: Session, user_id: int, taxpayer_id: int) -> Taxpayer:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is None or self._membership(session, user_id, taxpayer_id) is None:
            raise AccessDenied(_NO_ACCESS)
        return taxpayer

    def _require_owner(self, session: Session, user_id: int, taxpayer_id: int) -> Taxpayer:
        taxpayer = self._require(session, user_id, taxpayer_id)
        if taxpayer.owner_id != user_id:
            raise AccessDenied("Only the owner of this GSTIN's workspace can do that.")
        return taxpayer

    # ------------------------------------------------------------------ linking

    def link(
        self,
        user_id: int,
        chat_id: int,
        gstin: str,
        *,
        frequency: Frequency | None = None,
        profile: Profile | None = None,
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
                    user = self._user(session, user_id, chat_id, profile)
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
        with self.db.read() as session:
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
        # The common case only reads: one Core row (user → active workspace, if still a
        # member), instead of an ORM session loading user, taxpayer and membership apart.
        with self.db.read_rows() as connection:
            row = connection.execute(
                select(*_WORKSPACE_COLUMNS)
                .join(User, User.active_taxpayer_id == Taxpayer.id)
                .join(
                    Membership,
                    (Membership.taxpayer_id == Taxpayer.id) & (Membership.user_id == User.id),
                )
                .where(User.id == user_id)
            ).first()
        if row is not None:
            return _workspace(row)
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
        # One Core row: the workspace, joined with the user's membership of it.
        with self.db.read_rows() as connection:
            row = connection.execute(
                select(*_WORKSPACE_COLUMNS)
                .join(Membership, Membership.taxpayer_id == Taxpayer.id)
                .where(Taxpayer.id == taxpayer_id, Membership.user_id == user_id)
            ).first()
        if row is None:
            raise AccessDenied(_NO_ACCESS)
        return _workspace(row)

    def unlink(self, user_id: int, taxpayer_id: int) -> tuple[Workspace, bool]:
        """Owner: delete the workspace and its records. Member: leave it.

        Returns the workspace and whether it was deleted."""
        with self.db.begin() as session:
            taxpayer = self._require(session, user_id, taxpayer_id)
            workspace = Workspace.of(taxpayer)
            if taxpayer.owner_id != user_id:
                self._remove_member(session, taxpayer_id, user_id)
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
            if len(self._live_invites(session, taxpayer_id, now)) >= MAX_LIVE_CODES:
                raise InvalidInput(
                    f"This GSTIN already has {MAX_LIVE_CODES} invite codes that still work. "
                    "Cancel one in /members first."
                )
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

    def join(
        self, user_id: int, chat_id: int, code: str, *, profile: Profile | None = None
    ) -> Workspace:
        """Use an invite code: the user becomes a member and the workspace their active one.

        A code works once. Sent again by the member it admitted (a double send), it changes
        nothing; sent by anyone else, or by that member once they left or were revoked, it
        is refused."""
        text = code.strip().upper()
        with self.db.begin() as session:
            invite = session.get(Invite, text, with_for_update=True) if text else None
            now = self.now()
            if invite is None or invite.revoked:
                raise NotFound("That invite code is not valid. Ask the owner for a new one.")
            taxpayer = session.get(Taxpayer, invite.taxpayer_id)
            if taxpayer is None:  # pragma: no cover - deleted with its invites
                raise NotFound("That GSTIN is no longer linked.")
            if invite.used_by is not None:
                admitted = invite.used_by == user_id
                if not (admitted and self._membership(session, user_id, taxpayer.id)):
                    raise InvalidInput(
                        "That invite code was already used; a code works once. "
                        "Ask the owner for a new one."
                    )
                return Workspace.of(taxpayer)
            if _aware(invite.expires_at, now) < now:
                raise InvalidInput("That invite code has expired. Ask the owner for a new one.")
            invite.used_by, invite.used_at = user_id, now
            if self._membership(session, user_id, taxpayer.id) is None:
                session.add(
                    Membership(
                        taxpayer_id=taxpayer.id, user_id=user_id, role=MEMBER, created_at=now
                    )
                )
            self._user(session, user_id, chat_id, profile).active_taxpayer_id = taxpayer.id
            return Workspace.of(taxpayer)

    def members(self, user_id: int, taxpayer_id: int) -> list[Member]:
        return self.sharing(user_id, taxpayer_id).members

    def sharing(self, user_id: int, taxpayer_id: int) -> Sharing:
        """Owner only: who has access (with their names) and which codes still work."""
        with self.db.begin() as session:
            taxpayer = self._require_owner(session, user_id, taxpayer_id)
            rows = session.execute(
                select(Membership, User.name, User.username)
                .outerjoin(User, User.id == Membership.user_id)
                .where(Membership.taxpayer_id == taxpayer_id)
                .order_by(Membership.created_at, Membership.user_id)
            ).all()
            members = [
                Member(m.user_id, m.role, m.created_at, name, username)
                for m, name, username in rows
            ]
            workspace = Workspace.of(taxpayer)
            now = self.now()
            codes = [
                InviteCode(i.code, workspace, _aware(i.expires_at, now))
                for i in self._live_invites(session, taxpayer_id, now)
            ]
            return Sharing(workspace, members, codes)

    def revoke(self, user_id: int, taxpayer_id: int, member_id: int) -> bool:
        """Owner only: remove a member's access, and kill every code they used or made.

        False if they were not a member (a replayed tap): then nothing changes."""
        with self.db.begin() as session:
            self._require_owner(session, user_id, taxpayer_id)
            if member_id == user_id:
                raise InvalidInput("You own this workspace; use /unlink to delete it.")
            if self._membership(session, member_id, taxpayer_id) is None:
                return False
            self._remove_member(session, taxpayer_id, member_id)
            return True

    def cancel_invite(self, user_id: int, taxpayer_id: int, code: str) -> bool:
        """Owner only: make a code of this workspace unusable. False if it was not live
        (used, cancelled, expired, or not this workspace's): then nothing changes."""
        with self.db.begin() as session:
            self._require_owner(session, user_id, taxpayer_id)
            invite = session.get(Invite, code, with_for_update=True)
            now = self.now()
            live = (
                invite is not None
                and invite.taxpayer_id == taxpayer_id
                and invite.used_by is None
                and not invite.revoked
                and _aware(invite.expires_at, now) >= now
            )
            if invite is None or not live:
                return False
            invite.revoked = True
            return True

    @staticmethod
    def _live_invites(session: Session, taxpayer_id: int, now: datetime) -> list[Invite]:
        """The workspace's codes that still work: unused, not cancelled, not expired."""
        invites = session.scalars(
            select(Invite)
            .where(
                Invite.taxpayer_id == taxpayer_id,
                Invite.used_by.is_(None),
                Invite.revoked.is_(False),
            )
            .order_by(Invite.created_at, Invite.code)
        ).all()
        return [i for i in invites if _aware(i.expires_at, now) >= now]

    @staticmethod
    def _remove_member(session: Session, taxpayer_id: int, member_id: int) -> None:
        """Take a member out of a workspace: membership, the codes they used or made, their
        planned reminders about it, and it as their active GSTIN."""
        session.execute(
            delete(Membership).where(
                Membership.taxpayer_id == taxpayer_id, Membership.user_id == member_id
            )
        )
        session.execute(
            update(Invite)
            .where(
                Invite.taxpayer_id == taxpayer_id,
                or_(Invite.used_by == member_id, Invite.created_by == member_id),
            )
            .values(revoked=True)
        )
        session.execute(
            delete(Reminder).where(
                Reminder.taxpayer_id == taxpayer_id,
                Reminder.user_id == member_id,
                Reminder.status == "planned",
            )
        )
        session.execute(
            update(User)
            .where(User.id == member_id, User.active_taxpayer_id == taxpayer_id)
            .values(active_taxpayer_id=None)
        )
