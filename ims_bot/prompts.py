"""What the bot waits for a user to type: kept in the database, written only by the bot.

A prompt (reject remarks, a partial reduction) names its workspace, record and the record
version it was shown at. It lives in the `prompts` table, so any replica can finish the flow,
and nothing the user or a supplier typed can point an answer at another record: the message
text is never parsed for a reference. One open prompt per user; it expires.

What counts as the answer: plain text in the private chat where the prompt was sent, either
in reply to the prompt message itself, or with no reply link at all. A reply to any other
message (a record card, an FAQ answer) is a question, not the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select

from ims_bot.db import Database
from ims_bot.models import Prompt
from ims_bot.settings import india

#: How long a prompt waits for its answer.
PROMPT_TTL = timedelta(minutes=30)


class PromptKind(StrEnum):
    REJECT_REMARKS = "reject_remarks"
    PARTIAL_REDUCTION = "partial_reduction"
    # /connect (ims_bot.gsp): the GST portal username, then the OTP (payload: the username;
    # the OTP itself is never stored).
    GSP_USERNAME = "gsp_username"
    GSP_OTP = "gsp_otp"


#: Steps of a flow with no record: answered by their own handler (handlers/gsp.py).
STEP_KINDS = frozenset({PromptKind.GSP_USERNAME, PromptKind.GSP_OTP})


@dataclass(frozen=True)
class Step:
    """An open step of a flow without a record (/connect): what it waits for."""

    kind: PromptKind
    taxpayer_id: int
    payload: dict[str, str]


@dataclass(frozen=True)
class PromptRequest:
    """What a screen asks the user to type, before the prompt message exists."""

    kind: PromptKind
    taxpayer_id: int
    record_id: int
    version: int


@dataclass(frozen=True)
class Awaited:
    """An open prompt that the user's text answers."""

    kind: PromptKind
    taxpayer_id: int
    record_id: int
    version: int


class PromptService:
    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def open(self, user_id: int, chat_id: int, message_id: int | None,
             request: PromptRequest) -> None:
        """Wait for the user's answer to the prompt just sent (replacing any earlier one)."""
        now = self.now()
        with self.db.begin() as session:
            session.execute(delete(Prompt).where(Prompt.user_id == user_id))
            session.add(
                Prompt(
                    user_id=user_id,
                    chat_id=chat_id,
                    message_id=message_id,
                    kind=request.kind.value,
                    taxpayer_id=request.taxpayer_id,
                    record_id=request.record_id,
                    version=request.version,
                    created_at=now,
                    expires_at=now + PROMPT_TTL,
                )
            )

    def take(self, user_id: int, chat_id: int, reply_to: int | None) -> Awaited | None:
        """The open prompt this text answers; None when the text answers none.

        `reply_to` is the id of the message the text replies to (None without a reply link).
        The prompt stays open until `clear`: a refused answer may be typed again.
        """
        # One Core row, no ORM session: this runs for every free-text message.
        with self.db.read_rows() as connection:
            found = connection.execute(
                select(
                    Prompt.kind, Prompt.taxpayer_id, Prompt.record_id, Prompt.version,
                    Prompt.chat_id, Prompt.message_id, Prompt.expires_at,
                ).where(Prompt.user_id == user_id)
            ).first()
        if found is None or found.record_id is None or found.version is None:
            return None
        where, message, expires = found.chat_id, found.message_id, found.expires_at
        awaited = Awaited(
            PromptKind(found.kind), found.taxpayer_id, found.record_id, found.version
        )
        if where != chat_id or india(expires) < self.now():
            return None
        if reply_to is not None and reply_to != message:
            return None  # a reply to a card or an answer is a question, not the answer
        return awaited

    def open_step(self, user_id: int, chat_id: int, kind: PromptKind, taxpayer_id: int,
                  payload: dict[str, str] | None = None) -> None:
        """Wait for the next answer of a flow without a record (replacing any prompt)."""
        now = self.now()
        with self.db.begin() as session:
            session.execute(delete(Prompt).where(Prompt.user_id == user_id))
            session.add(Prompt(user_id=user_id, chat_id=chat_id, message_id=None,
                               kind=kind.value, taxpayer_id=taxpayer_id, payload=payload,
                               created_at=now, expires_at=now + PROMPT_TTL))

    def take_step(self, user_id: int, chat_id: int) -> Step | None:
        """The open step (STEP_KINDS) this chat's text answers; None when there is none."""
        with self.db.read_rows() as connection:
            found = connection.execute(
                select(Prompt.kind, Prompt.taxpayer_id, Prompt.payload, Prompt.chat_id,
                       Prompt.expires_at).where(Prompt.user_id == user_id)
            ).first()
        if found is None or found.kind not in STEP_KINDS or found.chat_id != chat_id:
            return None
        if india(found.expires_at) < self.now():
            return None
        return Step(PromptKind(found.kind), found.taxpayer_id, dict(found.payload or {}))

    def clear(self, user_id: int) -> None:
        """Stop waiting (any command ends a wait). Writes only when a prompt is open."""
        # A Core read (this runs for every command); the write only when a prompt is open.
        with self.db.read_rows() as connection:
            waiting = connection.scalar(select(Prompt.user_id).where(Prompt.user_id == user_id))
        if waiting is not None:
            with self.db.begin() as session:
                session.execute(delete(Prompt).where(Prompt.user_id == user_id))
