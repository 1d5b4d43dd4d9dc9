"""Two (or more) real `ims-bot webhook` replicas on one fresh PostgreSQL database, and
Telegram's side of the webhook: a tiny load balancer that posts each update to a replica and,
as Telegram does, posts it again (to the next replica) until one answers 200.

Used by `tests/e2e/test_replicas.py` and `bench/replicas.py`. Nothing here is a test.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from ims_bot.db import Database
from ims_bot.gstin import make_gstin
from ims_bot.models import Membership, Reminder, Taxpayer, User
from ims_bot.settings import INDIA
from tests.e2e.conftest import TODAY, BotProcess, free_port
from tests.e2e.telegram_server import Message, TelegramServer

SECRET = "replica_Secret-of-the-IMS-e2e-0123"
PATH = "/telegram"
# The GSTR-3B of Nov 2025 is due on 20 Dec; 4 days before is the fixed day (TODAY).
REMIND_DAYS_BEFORE = 4
GSTR3B_NOV = date(2025, 12, 20)


# ------------------------------------------------------------------------------ database


def fresh_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """An empty PostgreSQL database, not migrated (the replicas migrate it at start), and
    a function that drops it."""
    name = f"ims_bot_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


# ------------------------------------------------------------------------------ replicas


def make_replicas(server: TelegramServer, database_url: str, workdirs: Iterable[Path],
                  **extra_env: str) -> list[BotProcess]:
    """One `ims-bot webhook` process per work directory, each on its own port of 127.0.0.1,
    all on `database_url` and `server` (not started)."""
    bots = []
    for workdir in workdirs:
        port = free_port()
        bot = BotProcess(server, database_url, workdir, dict(extra_env))
        bot.args = ["webhook", "--url", f"http://127.0.0.1:{port}{PATH}", "--listen",
                    "127.0.0.1", "--port", str(port), "--secret", SECRET]
        bot.health_url = f"http://127.0.0.1:{port}/healthz"
        bots.append(bot)
    return bots


def port_of(bot: BotProcess) -> int:
    return int(bot.args[bot.args.index("--port") + 1])


def start_together(bots: list[BotProcess]) -> list[BaseException | None]:
    """Start every replica at the same moment (each in its own thread); what each start
    raised (None when it came up)."""

    def start(bot: BotProcess) -> BaseException | None:
        try:
            bot.start()
        except BaseException as exc:  # reported to the caller
            return exc
        return None

    with ThreadPoolExecutor(len(bots)) as pool:
        return list(pool.map(start, bots))


def ensure_running(bots: list[BotProcess]) -> None:
    down = [bot for bot in bots if bot.process is None or bot.process.poll() is not None]
    if down:
        failures = [exc for exc in start_together(down) if exc is not None]
        if failures:
            raise failures[0]


def pid_of(bot: BotProcess) -> int:
    assert bot.process is not None
    return bot.process.pid


# ------------------------------------------------------------------------------ delivery


@dataclass
class Delivery:
    """What became of one update: every attempt (replica index, status or "no answer")."""

    update_id: int
    attempts: list[tuple[int, str]] = field(default_factory=list)
    acked_by: int | None = None


class LoadBalancer:
    """Telegram's webhook delivery to replicas behind a balancer: an update goes to one
    replica; anything but a 200 (a dead replica's reset or refused connection, a 503 while it
    starts or stops) and it goes to the next, until one answers 200 or `give_up` passes."""

    def __init__(self, bots: list[BotProcess], *, pause: float = 0.1,
                 give_up: float = 90.0) -> None:
        self.bots = bots
        self.pause = pause
        self.give_up = give_up
        self.turn = 0

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{port_of(self.bots[index])}{PATH}"

    async def post(self, index: int, update: dict[str, Any], timeout: float = 120) -> str:
        """One attempt: the status as text, or "no answer" (reset, refused, timed out)."""
        headers = {"Content-Type": "application/json",
                   "X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(self.url(index), content=json.dumps(update),
                                             headers=headers)
        except httpx.TransportError:
            return "no answer"
        return str(response.status_code)

    async def deliver(self, update: dict[str, Any], first: int | None = None,
                      delivery: Delivery | None = None) -> Delivery:
        """Post `update` until a replica answers 200, starting with replica `first` (by
        default, the next in turn)."""
        if first is None:
            first, self.turn = self.turn % len(self.bots), self.turn + 1
        delivery = delivery or Delivery(int(update["update_id"]))
        deadline = time.monotonic() + self.give_up
        index = first
        while True:
            status = await self.post(index, update)
            delivery.attempts.append((index, status))
            if status == "200":
                delivery.acked_by = index
                return delivery
            if time.monotonic() > deadline:
                return delivery
            index = (index + 1) % len(self.bots)
            await asyncio.sleep(self.pause)


class Chat:
    """One user's private chat, played through the stand-in server and the balancer. Every
    step returns once a replica answered 200, i.e. once the bot has handled it."""

    def __init__(self, server: TelegramServer, balancer: LoadBalancer, user: int) -> None:
        self.server = server
        self.balancer = balancer
        self.user = user

    def _one_update(self) -> dict[str, Any]:
        [update] = self.server.take_updates()
        return update

    async def say(self, text_: str, via: int) -> list[Message]:
        """Send `text_` through replica `via`; the bot messages new or edited since."""
        mark = self.server.user_sends(self.user, text_)
        delivery = await self.balancer.deliver(self._one_update(), first=via)
        assert delivery.acked_by is not None, delivery
        # The 200 comes once the update is handled: the replies are there. (Waiting a little
        # anyway keeps a bot that acknowledges early failing on what matters, not here.)
        await self.server.wait_for_message(self.user, since=mark, timeout=10)
        return self.server.bot_messages(self.user, since=mark)

    async def press(self, message_id: int, button: str, via: int,
                    expect: Callable[[Message], bool] | None = None) -> list[str]:
        """Press a button through replica `via`; the texts of the answers to the press.
        With `expect`, also wait for the message to be edited into what it says."""
        mark = self.server.user_presses(self.user, message_id, button)
        delivery = await self.balancer.deliver(self._one_update(), first=via)
        assert delivery.acked_by is not None, delivery
        await self.server.wait_for_call("answerCallbackQuery", since=mark, timeout=10)
        if expect is not None:
            await self.server.wait_for_message(
                self.user, lambda m: m.message_id == message_id and expect(m), since=mark,
                timeout=10)
        return [str(c.params.get("text") or "") for c in self.server.answers(since=mark)]

    def message(self, message_id: int) -> Message:
        return self.server.messages[(self.user, message_id)]


# ------------------------------------------------------------------------------ reminders


def remind_time_now() -> str:
    """A reminder time due now: a minute ago (India time), not before midnight."""
    now = datetime.now(INDIA)
    at = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0))
    return f"{at:%H:%M}"


def populate_reminders(db: Database, users: list[int], per_user: int, *,
                       first_pan: int = 0) -> dict[int, list[str]]:
    """`per_user` monthly GSTINs owned by each user, whose only reminder (the Nov 2025
    GSTR-3B, 4 days before) is due now. Returns each user's GSTINs (a reminder's message
    names its GSTIN: that is how a send is told apart)."""
    created = datetime.now(INDIA)
    at = remind_time_now()
    gstins: dict[int, list[str]] = {}
    n = first_pan
    with db.begin() as session:
        for user in users:
            session.add(User(id=user, chat_id=user, created_at=created, remind_days="4",
                             remind_time=at, reminders_enabled=True, all_clear=True,
                             remind_kinds="gstr3b_due"))
            for _ in range(per_user):
                pan = f"AAB{chr(65 + n // 26 % 26)}{chr(65 + n % 26)}{1000 + n % 9000:04d}K"
                n += 1
                gstin = make_gstin("27", pan)
                taxpayer = Taxpayer(gstin=gstin, owner_id=user, name="", state_code="27",
                                    frequency="monthly", created_at=created)
                session.add(taxpayer)
                session.flush()
                session.add(Membership(taxpayer_id=taxpayer.id, user_id=user, role="owner",
                                       created_at=created))
                gstins.setdefault(user, []).append(gstin)
    return gstins


def reminder_rows(db: Database, users: list[int]) -> list[tuple[int, str, str, str | None]]:
    """(user, GSTIN, status, last_error) of the users' reminders due now (the Nov 2025
    GSTR-3B's; the Dec one is planned too, for January)."""
    with db.read() as session:
        rows = session.execute(
            select(Reminder.user_id, Taxpayer.gstin, Reminder.status, Reminder.last_error)
            .join(Taxpayer, Taxpayer.id == Reminder.taxpayer_id)
            .where(Reminder.user_id.in_(users), Reminder.deadline == GSTR3B_NOV))
        return [(u, g, s, e) for u, g, s, e in rows]


def sends_per_reminder(server: TelegramServer, gstins: dict[int, list[str]],
                       since: int = 0) -> dict[tuple[int, str], int]:
    """sendMessage calls the stand-in answered, per (user, GSTIN named in the text)."""
    counts = {(user, g): 0 for user, gs in gstins.items() for g in gs}
    for call in server.calls_to("sendMessage", since=since):
        if call.error:
            continue
        user = int(call.params["chat_id"])
        for gstin in gstins.get(user, ()):
            if gstin in (call.text or ""):
                counts[(user, gstin)] += 1
    return counts


def fixed_day() -> str:
    return TODAY
