"""Deadline reminders: planned into the `reminders` table, swept from it, never sent twice.

The table is the source of truth, so reminders survive restarts and several processes:

* `plan` inserts one row per (user, workspace, deadline kind, deadline, days before) with
  INSERT ... ON CONFLICT DO NOTHING on the unique key, so planning twice — or in two
  processes at once — adds nothing.
* `sweep` reads the due rows (`status='planned' and send_at <= now`) and composes their
  messages in one short transaction; then, one reminder at a time, it claims the row
  (`planned` -> `sending`, a conditional UPDATE that only one sweeper can win), sends the
  message, and records the outcome (`sent`, or back to `planned` for a retry) in a short
  transaction of its own. No transaction is open while a message goes out, so a slow
  Telegram never holds the database (SQLite's single write lock above all).

Delivery guarantee. A Telegram message is a side effect outside the database, so exactly-once
is impossible; what we promise is:
  - never twice: a row is sent only by the sweeper that moved it from `planned` to
    `sending`, and it never returns to `planned` once its message may have gone out;
  - none lost: rows not yet claimed stay `planned` whatever happens to a sweeper, so a
    restart, a crash between two sends, or a late sweep sends them later.
The one message in flight when a process dies (claimed, perhaps delivered, not recorded) is
counted as sent: its row is left `sending` and a later sweep settles it as `sent` once its
sweeper is known to be gone (same host, process not running) or after `CLAIM_LEASE`.

The daily digest (kind `digest`, off by default) rides on the same rows: one per user,
workspace and calendar day (`deadline` = that day, `days_before` = 0, `period_key` = the day's
month), planned for today and tomorrow at the user's time so that a restart never misses one.
It lists the records first imported (`Record.created_at`) since the previous digest of that
user and workspace — the send time of the last one sent, or the planned time of the last one
skipped because nothing was new — or over the 24 hours before its planned time if there was none.

Telegram errors are handled per message: `Forbidden` (the user blocked the bot) marks the
user `blocked_at` and skips all their planned reminders; answers that say nothing went out
(RetryAfter, BadRequest..., or a connection that never opened) leave the row planned with
`attempts + 1` and a later `send_at`, and mark it `failed` after `MAX_ATTEMPTS`. A send whose
outcome is unknown — timed out or cut off after the request may have reached Telegram — is
recorded `uncertain` (possibly delivered) and never sent again automatically: the promise is
"never twice".

A reminder goes only to the user's private chat (in Telegram its id is the user's id), never
to a group, and only while the user still has access to the workspace it is about.
"""

from __future__ import annotations

import html
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol

import httpx
from sqlalchemy import Table, and_, case, delete, func, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError

from ims_bot import deadlines
from ims_bot.db import Database
from ims_bot.deadline_report import (
    NewRecords,
    OpenWork,
    Scope,
    days_text,
    key_of,
    new_records,
    open_work,
    rupees,
)
from ims_bot.deadlines import Deadline, DeadlineKind
from ims_bot.domain import Frequency, Period
from ims_bot.errors import InvalidInput
from ims_bot.models import Membership, Reminder, Taxpayer, User
from ims_bot.settings import INDIA, india
from ims_bot.suppliers import display_name
from ims_bot.telegram_text import fit_html, fit_label

logger = logging.getLogger(__name__)

JOB_NAME = "reminders:sweep"
MAX_ATTEMPTS = 5
#: How long a claimed row may stay `sending` before its sweeper counts as gone.
CLAIM_LEASE = timedelta(minutes=10)
ABANDONED = "sender stopped mid-send: counted as sent, never sent twice"
#: A reminder more than this late (the bot was down) is skipped, as the planner does.
LATE = timedelta(days=1)
DIGEST = "digest"
#: Everything a user may choose in /remind (the deadline kinds are on by default, the digest not).
KINDS: tuple[str, ...] = (*(k.value for k in DeadlineKind), DIGEST)
DEADLINE_KINDS = frozenset(k.value for k in DeadlineKind)
MAX_OFFSETS = 4
MAX_DAYS_BEFORE = 30
DEFAULT_DAYS = (3, 1)
DEFAULT_TIME = "09:00"
#: Without a previous digest, the first one looks this far back from its planned time.
DIGEST_LOOKBACK = timedelta(hours=24)
#: Skip reason of a digest with nothing new: such a digest still ends the window it covered.
NOTHING_NEW = "nothing new since the last digest"

# Buttons under a reminder. The records handlers own what they do; re-target them here.
# Buttons under a reminder name its workspace: the user may have switched to another GSTIN.
# (handlers.reminder_texts.ReviewPending / RecomputeFromReminder parse them.)
PENDING_CALLBACK = "rm:pending:{workspace}"
RECOMPUTE_CALLBACK = "rm:recompute:{workspace}:{period}"  # period as MMYYYY

_TABLE: Table = Reminder.__table__  # type: ignore[assignment]
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_UNIQUE = ["user_id", "taxpayer_id", "kind", "deadline", "days_before"]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------------------ preferences


@dataclass(frozen=True)
class Preferences:
    enabled: bool = True
    days: tuple[int, ...] = DEFAULT_DAYS
    time: str = DEFAULT_TIME
    kinds: tuple[str, ...] = tuple(k.value for k in DeadlineKind)
    all_clear: bool = True
    blocked: bool = False


def parse_days(value: str | Iterable[int]) -> tuple[int, ...]:
    """`"7,3,1"` or `[7, 3, 1]` → `(7, 3, 1)`: 1 to 4 distinct offsets of 0-30 days."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(" ", ",").split(",") if p.strip()]
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            message = f"days before must be whole numbers, e.g. 3,1; got {value!r}"
            raise InvalidInput(message) from None
    else:
        numbers = [int(v) for v in value]
    days = tuple(sorted(set(numbers), reverse=True))
    if not days:
        raise InvalidInput("give at least one number of days before, e.g. 3,1")
    if len(days) > MAX_OFFSETS:
        raise InvalidInput(f"at most {MAX_OFFSETS} reminders per deadline; got {len(days)}")
    if any(not 0 <= d <= MAX_DAYS_BEFORE for d in days):
        raise InvalidInput(f"days before must be 0 to {MAX_DAYS_BEFORE}; got {value!r}")
    return days


def parse_time(value: str) -> str:
    text = value.strip()
    if re.fullmatch(r"\d:\d\d", text):
        text = "0" + text
    if not _TIME_RE.match(text):
        raise InvalidInput(f"time must be HH:MM (24-hour, India time), e.g. 09:00; got {value!r}")
    return text


def parse_kinds(value: str | Iterable[str]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = {str(k).strip().lower() for k in items if str(k).strip()}
    unknown = sorted(wanted - set(KINDS))
    if unknown:
        raise InvalidInput(
            f"unknown reminder kind(s) {', '.join(unknown)}; choose among {', '.join(KINDS)}"
        )
    return tuple(k for k in KINDS if k in wanted)


def _preferences(user: User | None) -> Preferences:
    if user is None:
        return Preferences()
    return Preferences(
        enabled=user.reminders_enabled,
        days=_days_of(user.remind_days),
        time=user.remind_time,
        kinds=_kinds_of(user.remind_kinds),
        all_clear=user.all_clear,
        blocked=user.blocked_at is not None,
    )


@cache
def _days_of(text: str) -> tuple[int, ...]:
    """Stored offsets, tolerant: whatever is unreadable is dropped rather than failing a sweep."""
    return tuple(sorted({int(p) for p in text.split(",") if p.strip().isdigit()}, reverse=True))


@cache
def _kinds_of(text: str) -> tuple[str, ...]:
    return tuple(k for k in KINDS if k in {p.strip() for p in text.split(",")})


@cache
def _time_of(text: str) -> time:
    try:
        hours, minutes = (int(p) for p in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        return time(9, 0)


def changes_from_words(words: Sequence[str]) -> dict[str, Any]:
    """`/remind` arguments as set_preferences keywords: on, off, HH:MM, a days list.

    Raises InvalidInput for anything else, so the user learns what is accepted.
    """
    changes: dict[str, Any] = {}
    for word in words:
        lowered = word.strip().lower()
        if lowered in ("on", "off"):
            changes["enabled"] = lowered == "on"
        elif ":" in lowered:
            changes["time"] = parse_time(lowered)
        elif lowered in KINDS:
            changes["kinds"] = (*changes.get("kinds", ()), lowered)
        else:
            changes["days"] = parse_days(lowered)
    return changes


def get_preferences(db: Database, user_id: int) -> Preferences:
    with db.begin() as session:
        return _preferences(session.get(User, user_id))


def set_preferences(
    db: Database,
    user_id: int,
    chat_id: int,
    *,
    enabled: bool | None = None,
    days: str | Iterable[int] | None = None,
    time: str | None = None,
    kinds: str | Iterable[str] | None = None,
    all_clear: bool | None = None,
    now: datetime | None = None,
) -> Preferences:
    """Change the user's reminder settings (validated; raises InvalidInput) and re-plan them.

    The user's still-planned reminders are deleted and planned again from the new settings
    in the same transaction. Talking to the bot means they no longer block it.
    """
    new_days = ",".join(str(d) for d in parse_days(days)) if days is not None else None
    new_time = parse_time(time) if time is not None else None
    new_kinds = ",".join(parse_kinds(kinds)) if kinds is not None else None
    moment = india(now or datetime.now(INDIA))
    with db.begin() as session:
        user = session.get(User, user_id)
        if user is None:
            user = User(id=user_id, chat_id=chat_id, created_at=moment)
            session.add(user)
        user.chat_id = chat_id
        user.blocked_at = None
        if enabled is not None:
            user.reminders_enabled = enabled
        if new_days is not None:
            user.remind_days = new_days
        if new_time is not None:
            user.remind_time = new_time
        if new_kinds is not None:
            user.remind_kinds = new_kinds
        if all_clear is not None:
            user.all_clear = all_clear
        session.flush()
        session.execute(
            delete(Reminder).where(Reminder.user_id == user_id, Reminder.status == "planned")
        )
        _plan(session, moment, horizon_days=PLAN_HORIZON_DAYS, user_ids=[user_id])
        return _preferences(user)


# ---------------------------------------------------------------------------------- planner

PLAN_HORIZON_DAYS = 40
_INSERT_CHUNK = 5000


def plan(
    db: Database,
    now: datetime,
    *,
    horizon_days: int = PLAN_HORIZON_DAYS,
    user_ids: Sequence[int] | None = None,
) -> int:
    """Plan the reminders of every user with reminders on (idempotent). Returns rows added.

    For each membership of an enabled, unblocked user, each deadline of a chosen kind dated
    within `horizon_days`, and each of their offsets: a row sent at the user's time on the
    deadline's date minus the offset (India time). Rows more than a day overdue are not
    planned (a reminder for a deadline long gone helps nobody). Users who chose the digest
    also get one row per workspace for today and for tomorrow, at their time.
    """
    with db.begin() as session:
        return _plan(session, india(now), horizon_days=horizon_days, user_ids=user_ids)


def _plan(
    session: Session,
    now: datetime,
    *,
    horizon_days: int,
    user_ids: Sequence[int] | None,
) -> int:
    today = now.date()
    end = today + timedelta(days=horizon_days)
    cutoff = now - LATE
    pairs = (
        select(
            User.id,
            User.remind_days,
            User.remind_time,
            User.remind_kinds,
            Taxpayer.id,
            Taxpayer.state_code,
            Taxpayer.frequency,
        )
        .join(Membership, Membership.user_id == User.id)
        .join(Taxpayer, Taxpayer.id == Membership.taxpayer_id)
        .where(User.reminders_enabled.is_(True), User.blocked_at.is_(None))
    )
    existing_stmt = (
        select(
            Reminder.user_id,
            Reminder.taxpayer_id,
            func.count(Reminder.id),
            func.sum(Reminder.days_before),
        )
        .where(Reminder.deadline >= today, Reminder.deadline <= end, Reminder.send_at >= cutoff)
        .group_by(Reminder.user_id, Reminder.taxpayer_id)
    )
    if user_ids is not None:
        pairs = pairs.where(User.id.in_(list(user_ids)))
        existing_stmt = existing_stmt.where(Reminder.user_id.in_(list(user_ids)))
    # A cheap fingerprint of what a pair already has: pairs whose fingerprint matches the
    # plan are skipped without touching the table; the rest are offered again, and the
    # unique key (ON CONFLICT DO NOTHING) keeps whatever already exists.
    existing = {(u, t): (c, int(s or 0)) for u, t, c, s in session.execute(existing_stmt)}

    @cache
    def calendar_of(state: str, frequency: str) -> tuple[Deadline, ...]:
        return tuple(
            deadlines.calendar(state, Frequency(frequency), today, horizon_days=horizon_days)
        )

    @cache
    def digest_slots(at: str) -> tuple[dict, ...]:
        # Today's too (unless a day late, like any row): a restart after the user's time
        # still sends it; the unique key keeps a sent one from being planned again.
        out = []
        for day in (today, today + timedelta(days=1)):
            send_at = datetime.combine(day, _time_of(at), INDIA)
            if send_at >= cutoff:
                out.append(
                    {
                        "kind": DIGEST,
                        "period_key": Period.of(day).key,
                        "deadline": day,
                        "days_before": 0,
                        "send_at": send_at,
                    }
                )
        return tuple(out)

    @cache
    def slots(state: str, frequency: str, days: str, at: str, kinds: str) -> tuple[dict, ...]:
        chosen = set(_kinds_of(kinds)) & DEADLINE_KINDS
        moment = _time_of(at)
        out = list(digest_slots(at)) if DIGEST in _kinds_of(kinds) else []
        for d in calendar_of(state, frequency):
            if d.kind.value not in chosen:
                continue
            for before in _days_of(days):
                send_at = datetime.combine(d.date - timedelta(days=before), moment, INDIA)
                if send_at < cutoff:
                    continue
                out.append(
                    {
                        "kind": d.kind.value,
                        "period_key": d.period.key,
                        "deadline": d.date,
                        "days_before": before,
                        "send_at": send_at,
                    }
                )
        return tuple(out)

    rows: list[dict[str, Any]] = []
    added = 0
    for user_id, days, at, kinds, taxpayer_id, state, frequency in session.execute(pairs):
        wanted = slots(state, frequency, days, at, kinds)
        fingerprint = (len(wanted), sum(w["days_before"] for w in wanted))
        if not wanted or existing.get((user_id, taxpayer_id)) == fingerprint:
            continue
        for slot in wanted:
            rows.append(
                {
                    **slot,
                    "user_id": user_id,
                    "taxpayer_id": taxpayer_id,
                    "status": "planned",
                    "attempts": 0,
                }
            )
        if len(rows) >= _INSERT_CHUNK:
            added += _insert(session, rows)
            rows = []
    if rows:
        added += _insert(session, rows)
    return added


_PG_INSERT = text(
    """
    WITH added AS (
        INSERT INTO reminders
            (user_id, taxpayer_id, kind, period_key, deadline, days_before, send_at, status,
             attempts)
        SELECT u, t, k, p, d, b, s, 'planned', 0
        FROM unnest(CAST(:u AS bigint[]), CAST(:t AS integer[]), CAST(:k AS varchar[]),
                    CAST(:p AS integer[]), CAST(:d AS date[]), CAST(:b AS integer[]),
                    CAST(:s AS timestamptz[])) AS x(u, t, k, p, d, b, s)
        ON CONFLICT (user_id, taxpayer_id, kind, deadline, days_before) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM added
    """
)


def _insert(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert what is missing (ON CONFLICT DO NOTHING on the unique key); count what was new."""
    if session.get_bind().dialect.name == "postgresql":
        # One statement over arrays: several times faster than executemany on psycopg.
        columns = {
            "u": "user_id",
            "t": "taxpayer_id",
            "k": "kind",
            "p": "period_key",
            "d": "deadline",
            "b": "days_before",
            "s": "send_at",
        }
        params = {name: [row[col] for row in rows] for name, col in columns.items()}
        return int(session.execute(_PG_INSERT, params).scalar_one())
    stmt = (
        sqlite_insert(_TABLE).on_conflict_do_nothing(index_elements=_UNIQUE).returning(_TABLE.c.id)
    )
    return len(session.execute(stmt, rows).all())


# ---------------------------------------------------------------------------------- senders


Buttons = list[tuple[str, str]]  # (label, callback data)


class Sender(Protocol):
    async def send(self, chat_id: int, text: str, buttons: Buttons) -> None:
        """Send one HTML message; raise telegram.error.Forbidden if the user blocked the bot."""


class BotSender:
    """Sends through python-telegram-bot (the Application's AIORateLimiter paces it)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str, buttons: Buttons) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
        from telegram.constants import ParseMode

        # A digest names suppliers: fitted here, where it leaves, like every other message.
        markup = (
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(fit_label(label), callback_data=data)]
                 for label, data in buttons]
            )
            if buttons
            else None
        )
        await self.bot.send_message(
            chat_id,
            fit_html(text),
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )


@dataclass(frozen=True)
class SentMessage:
    chat_id: int
    text: str
    buttons: Buttons


@dataclass
class FakeSender:
    """Records messages. `blocked` chats raise Forbidden; `errors` raise the given error;
    `crash_after=n` raises RuntimeError on the (n+1)-th send, like a process dying mid-sweep."""

    messages: list[SentMessage] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    errors: dict[int, Exception] = field(default_factory=dict)
    crash_after: int | None = None
    record: bool = True

    async def send(self, chat_id: int, text: str, buttons: Buttons) -> None:
        if self.crash_after is not None and len(self.messages) >= self.crash_after:
            raise RuntimeError("simulated crash mid-sweep")
        if chat_id in self.blocked:
            raise Forbidden("Forbidden: bot was blocked by the user")
        if chat_id in self.errors:
            raise self.errors[chat_id]
        if self.record:
            self.messages.append(SentMessage(chat_id, text, list(buttons)))

    def to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]


# ---------------------------------------------------------------------------------- sweeper


@dataclass
class SweepResult:
    claimed: int = 0  # due rows looked at
    settled: int = 0  # rows a dead sweeper left mid-send, counted as sent
    sent: int = 0
    all_clear: int = 0  # of `sent`: "nothing to do" messages
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0  # outcome unknown (timed out): possibly delivered, never re-sent
    blocked_users: int = 0


@dataclass(frozen=True)
class _Due:
    reminder_id: int
    user_id: int
    kind: str
    deadline: Deadline | None
    chat_id: int | None
    all_clear: bool
    wants: bool  # the user still wants this reminder (enabled, kind chosen, not blocked)
    attempts: int
    days_before: int
    send_at: datetime
    scope: Scope
    gstin: str
    name: str


async def sweep(
    db: Database, sender: Sender, now: datetime, *, worker: str, batch: int = 200
) -> SweepResult:
    """Send every due reminder, batch by batch; see the module docstring for the guarantee."""
    now = india(now)
    result = SweepResult()
    result.settled = _settle_abandoned(db, now)
    while True:
        seen = await _sweep_batch(db, sender, now, batch, worker, result)
        if seen:
            logger.debug("%s swept %d reminders", worker, seen)
        if seen < batch:
            return result


def _settle_abandoned(db: Database, now: datetime) -> int:
    """Rows left `sending` by a sweeper that died mid-send are counted as sent (never twice)."""
    with db.begin() as session:
        rows = session.execute(
            select(Reminder.id, Reminder.claimed_by, Reminder.claimed_at).where(
                Reminder.status == "sending"
            )
        ).all()
        gone = [
            rid
            for rid, claimed_by, claimed_at in rows
            if claimed_at is None
            or india(claimed_at) < now - CLAIM_LEASE
            or _sweeper_gone(claimed_by or "")
        ]
        if gone:
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(gone), Reminder.status == "sending")
                .values(status="sent", sent_at=now, last_error=ABANDONED)
            )
        return len(gone)


def _sweeper_gone(claimed_by: str) -> bool:
    """True when `host:pid` names a process of this host that no longer runs."""
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # this process: its own send is in flight
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def _sweep_batch(
    db: Database, sender: Sender, now: datetime, batch: int, worker: str, result: SweepResult
) -> int:
    # Read and compose in one short transaction; nothing is claimed here.
    with db.begin() as session:
        due_ids = (
            select(Reminder.id)
            .where(Reminder.status == "planned", Reminder.send_at <= now)
            .order_by(Reminder.send_at, Reminder.id)
            .limit(batch)
        )
        ids = list(session.scalars(due_ids))
        if not ids:
            return 0
        dues = _load(session, ids)
        work = open_work(
            session,
            [(d.scope, d.deadline) for d in dues if d.deadline is not None and d.wants],
            now.date(),
        )
        since = _digest_since(session, [d for d in dues if d.kind == DIGEST and d.wants], now)
        news = new_records(session, {(t, moment) for (_, t), moment in since.items()}, now)
        latest = _latest_offsets(dues)
        skipped = _Outcome()
        to_send: list[tuple[_Due, _Message | str]] = []
        for due in dues:
            if due.reminder_id not in latest:
                skipped.skip(due.reminder_id, "superseded by a later reminder")
            elif due.send_at < now - LATE or (due.deadline and due.deadline.date < now.date()):
                skipped.skip(due.reminder_id, "too late")
            else:
                to_send.append((due, _compose(due, work, since, news, now)))
        skipped.apply(session, db.is_sqlite, now, result)
    result.claimed += len(ids)
    blocked: set[int] = set()
    for due, message in to_send:
        if due.user_id in blocked:
            continue  # skipped with the rest of that user's rows
        if isinstance(message, _Message) and not _claim(db, due.reminder_id, now, worker):
            continue  # another sweeper has it
        outcome = _Outcome()
        try:
            await _deliver(sender, due, message, now, outcome)
        except BaseException:
            # Not a Telegram answer but our own failure (a bug, a cancelled task): the
            # message did not go out, so the row is due again rather than lost.
            _release(db, due.reminder_id)
            raise
        with db.begin() as session:
            outcome.apply(session, db.is_sqlite, now, result)
        blocked |= outcome.blocked
    return len(ids)


def _release(db: Database, reminder_id: int) -> None:
    with db.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == "sending")
            .values(status="planned", claimed_by=None, claimed_at=None)
        )


def _claim(db: Database, reminder_id: int, now: datetime, worker: str) -> bool:
    """Take one due row for sending; False when another sweeper took (or settled) it."""
    with db.begin() as session:
        taken = session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == "planned")
            .values(status="sending", claimed_by=worker[:64], claimed_at=now)
        )
        return taken.rowcount == 1


def _latest_offsets(dues: Sequence[_Due]) -> set[int]:
    """After downtime several offsets of one deadline may be due at once: send only the last.

    Likewise several days' digests of one workspace: the last one covers them all.
    """
    best: dict[tuple[int, int, str, date | None], _Due] = {}
    for due in dues:
        key = (
            due.user_id,
            due.scope.taxpayer_id,
            due.kind,
            due.deadline.date if due.deadline else None,
        )
        if key not in best or _rank(due) < _rank(best[key]):
            best[key] = due
    return {due.reminder_id for due in best.values()}


def _rank(due: _Due) -> tuple[int, float]:
    return (due.days_before, -due.send_at.timestamp())


def _digest_since(
    session: Session, digests: Sequence[_Due], now: datetime
) -> dict[tuple[int, int], datetime]:
    """Where each (user, workspace) digest window starts: the end of the previous digest's.

    That is the send time of the last digest sent, or the planned time of the last one skipped
    for having nothing new (it looked up to then and found nothing). Without one, a day
    before the earliest of the pair's due digests (after downtime, an older one due in the
    same batch is superseded by the newer, which then covers its day too).
    """
    first: dict[tuple[int, int], datetime] = {}
    for d in digests:
        pair = (d.user_id, d.scope.taxpayer_id)
        first[pair] = min(d.send_at, first.get(pair, d.send_at))
    pairs = set(first)
    if not pairs:
        return {}
    ended = func.max(
        case((Reminder.status == "sent", Reminder.sent_at), else_=Reminder.send_at)
    )
    stmt = (
        select(Reminder.user_id, Reminder.taxpayer_id, ended)
        .where(
            Reminder.kind == DIGEST,
            Reminder.user_id.in_(sorted({u for u, _ in pairs})),
            Reminder.taxpayer_id.in_(sorted({t for _, t in pairs})),
            Reminder.send_at <= now,
            or_(
                Reminder.status == "sent",
                and_(Reminder.status == "skipped", Reminder.last_error == NOTHING_NEW),
            ),
        )
        .group_by(Reminder.user_id, Reminder.taxpayer_id)
    )
    found = {(u, t): india(at) for u, t, at in session.execute(stmt) if at is not None}
    return {pair: min(found.get(pair, first[pair] - DIGEST_LOOKBACK), now) for pair in pairs}


def _load(session: Session, ids: list[int]) -> list[_Due]:
    # The destination is the user's private chat, whose id in Telegram is the user's id:
    # never a chat id stored from elsewhere (a /remind typed in a group once stored the
    # group, and the GSTIN's figures went to everyone in it). And only while the user still
    # has access: a row planned before the owner revoked them is not sent.
    member = and_(
        Membership.taxpayer_id == Reminder.taxpayer_id, Membership.user_id == Reminder.user_id
    )
    stmt = (
        select(
            Reminder,
            User.id,
            User.all_clear,
            User.blocked_at,
            User.reminders_enabled,
            User.remind_kinds,
            Taxpayer.gstin,
            Taxpayer.name,
            Taxpayer.state_code,
            Taxpayer.frequency,
            Membership.user_id,
        )
        .outerjoin(User, User.id == Reminder.user_id)
        .outerjoin(Membership, member)
        .join(Taxpayer, Taxpayer.id == Reminder.taxpayer_id)
        .where(Reminder.id.in_(ids))
        .order_by(Reminder.send_at, Reminder.id)
    )
    dues = []
    for (
        r,
        chat_id,
        all_clear,
        blocked_at,
        enabled,
        kinds,
        gstin,
        name,
        state,
        freq,
        member_id,
    ) in session.execute(stmt):
        frequency = Frequency(freq)
        wants = (
            chat_id is not None
            and member_id is not None
            and bool(enabled)
            and blocked_at is None
            and r.kind in _kinds_of(kinds or "")
        )
        dues.append(
            _Due(
                reminder_id=r.id,
                user_id=r.user_id,
                kind=r.kind,
                deadline=_deadline(
                    r.kind, state, frequency, Period.from_key(r.period_key), r.deadline
                ),
                chat_id=chat_id,
                all_clear=bool(all_clear),
                wants=wants,
                attempts=r.attempts,
                days_before=r.days_before,
                send_at=india(r.send_at),
                scope=Scope(r.taxpayer_id, state, frequency),
                gstin=gstin,
                name=name or "",
            )
        )
    return dues


@cache
def _deadline(
    kind: str, state: str, frequency: Frequency, period: Period, when: date
) -> Deadline | None:
    """The calendar's own Deadline (with its title) for a stored reminder row."""
    if kind not in DEADLINE_KINDS:
        return None
    for d in deadlines.calendar(state, frequency, when, horizon_days=0):
        if d.kind.value == kind and d.period == period:
            return d
    return Deadline(DeadlineKind(kind), period, when, DeadlineKind(kind).value)


@dataclass
class _Outcome:
    sent: list[int] = field(default_factory=list)
    skipped: dict[str, list[int]] = field(default_factory=dict)
    retry: list[tuple[int, int, datetime, str]] = field(default_factory=list)
    failed: list[tuple[int, int, str]] = field(default_factory=list)
    uncertain: list[tuple[int, str]] = field(default_factory=list)  # possibly delivered
    blocked: set[int] = field(default_factory=set)
    all_clear: int = 0

    def skip(self, reminder_id: int, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(reminder_id)

    def apply(self, session: Session, is_sqlite: bool, now: datetime, result: SweepResult) -> None:
        if self.sent:
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(self.sent))
                .values(status="sent", sent_at=now, attempts=Reminder.attempts + 1)
            )
        for reason, ids in self.skipped.items():
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids))
                .values(status="skipped", last_error=reason)
            )
        for reminder_id, attempts, send_at, error in self.retry:
            # Telegram refused it (nothing went out): due again later.
            session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(
                    status="planned", attempts=attempts, send_at=send_at, last_error=error[:300]
                )
            )
        for reminder_id, error in self.uncertain:
            # It may have reached the user: counted as sent, never sent again.
            session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(status="uncertain", sent_at=now, attempts=Reminder.attempts + 1,
                        last_error=error[:300])
            )
        for reminder_id, attempts, error in self.failed:
            session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(status="failed", attempts=attempts, last_error=error[:300])
            )
        if self.blocked:
            _mark_blocked(session, is_sqlite, sorted(self.blocked), now)
        result.sent += len(self.sent)
        result.all_clear += self.all_clear
        result.skipped += sum(len(v) for v in self.skipped.values())
        result.retried += len(self.retry)
        result.failed += len(self.failed)
        result.uncertain += len(self.uncertain)
        result.blocked_users += len(self.blocked)


def _mark_blocked(session: Session, is_sqlite: bool, user_ids: list[int], now: datetime) -> None:
    session.execute(update(User).where(User.id.in_(user_ids)).values(blocked_at=now))
    # Rows another sweeper holds (`sending`) are its business: it meets the same Forbidden.
    session.execute(
        update(Reminder)
        .where(Reminder.user_id.in_(user_ids), Reminder.status == "planned")
        .values(status="skipped", last_error="user blocked the bot")
    )


def _backoff(attempts: int, error: Exception) -> timedelta:
    if isinstance(error, RetryAfter):
        retry_after = error.retry_after
        seconds = retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
        return timedelta(seconds=max(1.0, float(seconds)))
    return timedelta(minutes=2**attempts)


@dataclass(frozen=True)
class _Message:
    chat_id: int
    text: str
    buttons: Buttons
    all_clear: bool


def _compose(
    due: _Due,
    work: dict,
    since: dict[tuple[int, int], datetime],
    news: dict[tuple[int, datetime], NewRecords],
    now: datetime,
) -> _Message | str:
    """The message for a due row, or why it is skipped."""
    chat_id = due.chat_id
    if not due.wants or chat_id is None:
        return "not wanted any more"
    workspace = due.scope.taxpayer_id
    if due.kind == DIGEST:
        start = since[(due.user_id, workspace)]
        found = news.get((workspace, start), NewRecords())
        if found.nothing_new and not due.all_clear:
            return NOTHING_NEW
        text, buttons = digest_message(found, due.gstin, due.name, start, workspace=workspace)
        return _Message(chat_id, text, buttons, found.nothing_new)
    if due.deadline is None:
        return "not wanted any more"
    state: OpenWork = work.get(key_of(workspace, due.deadline), OpenWork())
    if state.nothing_to_do and (state.filed or not due.all_clear):
        return "nothing to do"
    text, buttons = reminder_message(
        due.deadline, due.gstin, due.name, state, now.date(), workspace=workspace
    )
    return _Message(chat_id, text, buttons, state.nothing_to_do)


async def _deliver(
    sender: Sender, due: _Due, message: _Message | str, now: datetime, outcome: _Outcome
) -> None:
    if due.user_id in outcome.blocked:
        return  # skipped with the rest of the user's rows by _mark_blocked
    if isinstance(message, str):
        outcome.skip(due.reminder_id, message)
        return
    try:
        await sender.send(message.chat_id, message.text, message.buttons)
    except Forbidden:
        outcome.blocked.add(due.user_id)
        outcome.skip(due.reminder_id, "user blocked the bot")
        return
    except NetworkError as exc:  # TimedOut included
        if not _surely_unsent(exc):
            outcome.uncertain.append((due.reminder_id, f"{type(exc).__name__}: {exc}"))
            return
        _retry_later(due, exc, now, outcome)
        return
    except TelegramError as exc:  # Telegram answered: nothing went out
        _retry_later(due, exc, now, outcome)
        return
    outcome.sent.append(due.reminder_id)
    if message.all_clear:
        outcome.all_clear += 1


#: httpx errors raised before a request could reach the server: the message surely did
#: not go out. Anything else on the network (a read timeout, a reset) may come after
#: Telegram received it.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _surely_unsent(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _UNSENT):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _retry_later(due: _Due, exc: TelegramError, now: datetime, outcome: _Outcome) -> None:
    attempts = due.attempts + 1
    error = f"{type(exc).__name__}: {exc}"
    if attempts >= MAX_ATTEMPTS:
        outcome.failed.append((due.reminder_id, attempts, error))
    else:
        outcome.retry.append((due.reminder_id, attempts, now + _backoff(attempts, exc), error))


# ---------------------------------------------------------------------------------- wording


def reminder_message(
    deadline: Deadline, gstin: str, name: str, work: OpenWork, today: date, *, workspace: int
) -> tuple[str, Buttons]:
    """The reminder's HTML text and its buttons."""
    when = f"{days_text(deadline.days_left(today))} ({deadline.date:%a %d %b %Y})"
    who = f"GSTIN <code>{html.escape(gstin)}</code>"
    if name:
        who += f" · {html.escape(name)}"
    if work.nothing_to_do:
        return (
            f"✅ <b>{html.escape(deadline.title)}</b> {when}\n{who}\n"
            "Nothing open in IMS for it: all clear.",
            [],
        )
    lines = [f"⏰ <b>{html.escape(deadline.title)}</b> {when}", who]
    buttons: Buttons = []
    if deadline.kind in (DeadlineKind.DRAFT_2B, DeadlineKind.GSTR3B_DUE):
        open_line = f"Still open: {work.open_records} record(s) need a decision"
        if work.pending:
            open_line += f" ({work.pending} pending)"
        lines.append(f"{open_line}, {rupees(work.open_itc)} ITC.")
        if deadline.kind is DeadlineKind.DRAFT_2B:
            lines.append("Act on them before the draft GSTR-2B is generated.")
        else:
            lines.append("Act on them, recompute GSTR-2B, then file GSTR-3B.")
        buttons.append(("Review open records", PENDING_CALLBACK.format(workspace=workspace)))
        if deadline.kind is DeadlineKind.GSTR3B_DUE:
            buttons.append(
                (
                    "Recompute GSTR-2B",
                    RECOMPUTE_CALLBACK.format(workspace=workspace, period=deadline.period),
                )
            )
    elif deadline.kind is DeadlineKind.PENDING_WINDOW:
        lines.append(
            f"{work.leaving_window} credit note(s) or amendment(s) can stay pending only "
            "until then; after that they count as accepted."
        )
        buttons.append(("Review pending records", PENDING_CALLBACK.format(workspace=workspace)))
    else:
        lines.append(
            f"{work.leaving_window} pending record(s) lose their ITC unless you accept them "
            "before you file that GSTR-3B (s.16(4)): accept or reject them."
        )
        buttons.append(("Review pending records", PENDING_CALLBACK.format(workspace=workspace)))
    return "\n".join(lines), buttons


def digest_message(
    news: NewRecords, gstin: str, name: str, since: datetime, *, workspace: int
) -> tuple[str, Buttons]:
    """The daily digest's HTML text and its buttons: what was imported since `since`."""
    who = f"GSTIN <code>{html.escape(gstin)}</code>"
    if name:
        who += f" · {html.escape(name)}"
    window = f"since {india(since):%a %d %b %H:%M}"
    if news.nothing_new:
        return f"✅ <b>Daily digest</b>: no new records {window}.\n{who}\nAll clear.", []
    itc = f"{rupees(news.itc)} ITC at stake"
    if news.open_records:
        itc += f"; {news.open_records} need a decision"
    lines = [
        f"📥 <b>Daily digest</b>: {news.records} new record(s) {window}",
        who,
        f"{itc}.",
    ]
    if news.credit_note_tax:
        lines.append(f"Credit notes among them take back {rupees(news.credit_note_tax)}.")
    lines.append(
        "By section: " + ", ".join(f"{section.label} {n}" for section, n in news.by_section)
    )
    if news.top_suppliers:
        lines.append("Top suppliers by ITC:")
        lines.extend(
            f"{i}. {html.escape(display_name(s.name, s.gstin))} "
            + (f"(<code>{html.escape(s.gstin)}</code>) " if s.gstin else "")
            + f"{rupees(s.itc)}, {s.records} record(s)"
            for i, s in enumerate(news.top_suppliers, 1)
        )
    return "\n".join(lines), [
        ("Review open records", PENDING_CALLBACK.format(workspace=workspace))
    ]


# ---------------------------------------------------------------------------------- job queue



def schedule(
    application: Any,
    db: Database,
    now: Callable[[], datetime],
    *,
    interval_seconds: float = 60,
    plan_every: timedelta = timedelta(minutes=15),
    sender: Sender | None = None,
) -> None:
    """Run plan + sweep on the application's JobQueue, replacing any job of the same name.

    Call from post_init. Planning runs in a worker thread every `plan_every`; the sweep runs
    every `interval_seconds`. A sweep never overlaps itself (max_instances=1, coalesce).
    """
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("reminders need python-telegram-bot's job-queue extra")
    for job in job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    worker = worker_id()
    out = sender or BotSender(application.bot)
    batch = 200  # due rows read per transaction (none is held while sending)
    last_plan: list[datetime] = []

    async def tick(_context: Any) -> None:
        import asyncio

        current = india(now())
        if not last_plan or current - last_plan[0] >= plan_every:
            planned = await asyncio.to_thread(plan, db, current)
            last_plan[:] = [current]
            logger.info("%s planned %d new reminders", worker, planned)
        result = await sweep(db, out, current, worker=worker, batch=batch)
        if result.claimed:
            logger.info("%s sweep: %s", worker, result)

    job_queue.run_repeating(
        tick,
        interval=interval_seconds,
        first=5,
        name=JOB_NAME,
        job_kwargs={
            "misfire_grace_time": int(interval_seconds * 5),
            "coalesce": True,
            "max_instances": 1,
        },
    )
