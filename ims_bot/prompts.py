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

    def answered_by(
        self, user_id: int, chat_id: int, reply_to: int | None
    ) -> Awaited | Step | None:
        """What this text answers: a record's prompt, a flow's step, or nothing — read once
        (every free-text message asks this before it may be taken as an FAQ question)."""
        with self.db.read_rows() as connection:
            found = connection.execute(
                select(
                    Prompt.kind, Prompt.taxpayer_id, Prompt.record_id, Prompt.version,
                    Prompt.chat_id, Prompt.message_id, Prompt.expires_at, Prompt.payload,
                ).where(Prompt.user_id == user_id)
            ).first()
        if found is None or found.chat_id != chat_id or india(found.expires_at) < self.now():
            return None
        kind = PromptKind(found.kind)
        if kind in STEP_KINDS:
            return Step(kind, found.taxpayer_id, dict(found.payload or {}))
        if found.record_id is None or found.version is None:
            return None
        if reply_to is not None and reply_to != found.message_id:
            return None  # a reply to a card or an answer is a question, not the answer
        return Awaited(kind, found.taxpayer_id, found.record_id, found.version)

    def open_step(self, user_id: int, chat_id: int, kind: PromptKind, taxpayer_id: int,
                  payload: dict[str, str] | None = None) -> None:
        """Wait for the next answer of a flow without a record (replacing any prompt)."""
        now = self.now()
        with self.db.begin() as session:
            session.execute(delete(Prompt).where(Prompt.user_id == user_id))
            session.add(Prompt(user_id=user_id, chat_id=chat_id, message_id=None,
                               kind=kind.value, taxpayer_id=taxpayer_id, payload=payload,
                               created_at=now, expires_at=now + PROMPT_TTL))

    def clear(self, user_id: int) -> None:
        """Stop waiting (any command ends a wait). Writes only when a prompt is open."""
        # A Core read (this runs for every command); the write only when a prompt is open.
        with self.db.read_rows() as connection:
            waiting = connection.scalar(select(Prompt.user_id).where(Prompt.user_id == user_id))
        if waiting is not None:
            with self.db.begin() as session:
                session.execute(delete(Prompt).where(Prompt.user_id == user_id))
