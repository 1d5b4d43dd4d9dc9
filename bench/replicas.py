"""Two real `ims-bot webhook` replicas on one fresh PostgreSQL database, at a larger scale.

    .venv/bin/python bench/replicas.py [--users 24] [--per-user 16] [--updates 240]

Prints figures, asserts nothing. The scenario (issue 12, as an operator would try it):

1. both replicas start together on a database with no schema (they race to migrate);
2. `users` x `per-user` reminders are due at once (one per GSTIN); both replicas sweep them
   through the stand-in Bot API (slowed a little), and replica 1 is killed with SIGKILL while
   it holds a claimed reminder, then restarted;
3. `updates` FAQ questions from the users go through the load balancer (Telegram's delivery:
   anything but a 200 is posted again, to the other replica), alternating replicas, and
   replica 2 is killed with SIGKILL a third of the way in, then restarted.

Reminders are counted per (user, GSTIN) from the stand-in's sendMessage calls; updates by
their ids in `processed_updates` and by the replies each user got.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from ims_bot.db import Database
from ims_bot.models import ProcessedUpdate, Reminder
from ims_bot.reminders import ABANDONED, plan
from tests.conftest import ADMIN_URL
from tests.e2e.conftest import TOKEN
from tests.e2e.replicas import (
    Delivery,
    LoadBalancer,
    fresh_database,
    make_replicas,
    pid_of,
    populate_reminders,
    reminder_rows,
    sends_per_reminder,
    start_together,
)
from tests.e2e.telegram_server import TelegramServer
from tests.e2e.test_faults import now_on_fixed_day

FIRST_USER = 8_100_001
QUESTION = "what is IMS?"


async def reminders_phase(server, bots, db, users, per_user, kills) -> dict[str, int]:
    gstins = populate_reminders(db, users, per_user)
    mark = server.mark()
    await asyncio.to_thread(plan, db, now_on_fixed_day(), user_ids=users)
    planned = len(reminder_rows(db, users))
    server.fail("sendMessage", "slow", times=planned, delay=0.05)
    victim = pid_of(bots[0])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # mid-sweep: a good part sent, replica 1 mid-send
        sent_so_far = sum(sends_per_reminder(server, gstins, since=mark).values())
        with db.read() as session:
            holding = session.scalar(select(Reminder.id).where(
                Reminder.user_id.in_(users), Reminder.status == "sending",
                Reminder.claimed_by.like(f"%:{victim}")))
        if holding is not None and sent_so_far >= planned // 4:
            break
        await asyncio.sleep(0.01)
    bots[0].kill()
    kills.append(f"replica 1 mid-sweep, after {sent_so_far} of {planned} reminders sent")
    await asyncio.to_thread(bots[0].start)
    deadline = time.monotonic() + 300
    while any(s in ("planned", "sending") for _, _, s, _ in reminder_rows(db, users)):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    server.clear_faults()
    sends = sends_per_reminder(server, gstins, since=mark)
    rows = reminder_rows(db, users)
    statuses = Counter(s for _, _, s, _ in rows)
    possibly = {(u, g) for u, g, s, e in rows if s == "uncertain" or e == ABANDONED}
    return {
        "planned": planned,
        "messages sent (stand-in's sendMessage calls)": sum(sends.values()),
        "reminders sent once": sum(1 for n in sends.values() if n == 1),
        "duplicated (sent twice or more)": sum(1 for n in sends.values() if n > 1),
        "recorded sent": statuses["sent"],
        "  of which settled after the kill (counted as sent)":
            sum(1 for *_, e in rows if e == ABANDONED),
        "recorded uncertain (possibly delivered, never re-sent)": statuses["uncertain"],
        "never sent, counted as possibly delivered": sum(
            1 for key, n in sends.items() if n == 0 and key in possibly),
        "lost (never sent, not counted)": sum(
            1 for key, n in sends.items() if n == 0 and key not in possibly),
        "still planned/sending/failed/skipped": sum(
            statuses[s] for s in ("planned", "sending", "failed", "skipped")),
    }


async def updates_phase(server, bots, db, balancer, users, n, kills) -> dict[str, int]:
    server.fail("sendMessage", "slow", times=n, delay=0.2)  # a few updates in flight at once
    mark = server.mark()
    per_user: Counter[int] = Counter()
    updates = []
    for i in range(n):
        user = users[i % len(users)]
        server.user_sends(user, QUESTION)
        [update] = server.take_updates()
        updates.append((user, update))
        per_user[user] += 1
    gate = asyncio.Semaphore(8)
    deliveries: list[Delivery] = []
    done = 0
    killed = asyncio.Event()

    async def one(update: dict) -> None:
        nonlocal done
        async with gate:
            delivery = await balancer.deliver(update)
        deliveries.append(delivery)
        done += 1
        if done >= n // 3 and not killed.is_set():
            killed.set()
            bots[1].kill()
            kills.append(f"replica 2 mid-updates, after {done} of {n} acknowledged")
            asyncio.get_running_loop().run_in_executor(None, bots[1].start)

    await asyncio.gather(*(one(update) for _, update in updates))
    deadline = time.monotonic() + 60
    while bots[1].process is None or bots[1].process.poll() is not None:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    server.clear_faults()
    ids = [int(update["update_id"]) for _, update in updates]
    with db.read() as session:
        handled = set(session.scalars(select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.update_id.in_(ids))))
    replies = Counter(int(c.params["chat_id"]) for c in server.calls_to("sendMessage", since=mark)
                      if not c.error and int(c.params["chat_id"]) in per_user)
    acked = [d for d in deliveries if d.acked_by is not None]
    return {
        "sent by Telegram": n,
        "acknowledged (a 200 from some replica)": len(acked),
        "  needing a retry on the other replica": sum(1 for d in acked if len(d.attempts) > 1),
        "handled (in processed_updates)": len(handled),
        "lost (acknowledged, never handled)": sum(
            1 for d in acked if d.update_id not in handled),
        "never acknowledged": n - len(acked),
        "replies sent": sum(replies.values()),
        "duplicated (replies beyond one per update)": sum(
            max(0, replies[u] - k) for u, k in per_user.items()),
        "missing replies": sum(max(0, k - replies[u]) for u, k in per_user.items()),
    }


async def scenario(args: argparse.Namespace, workdir: Path) -> None:
    server = TelegramServer(token=TOKEN).start()
    url, drop = fresh_database(args.postgres)
    bots = make_replicas(server, url, [workdir / "replica1", workdir / "replica2"])
    for bot in bots:
        bot.workdir.mkdir()
    kills: list[str] = []
    db: Database | None = None
    try:
        started = time.perf_counter()
        starts = start_together(bots)
        took = time.perf_counter() - started
        print(f"start-up: 2 replicas together on a fresh database: "
              f"{sum(s is None for s in starts)} up, {sum(s is not None for s in starts)} "
              f"crashed ({took:.1f}s)")
        for failure in (s for s in starts if s is not None):
            print(f"  {str(failure).splitlines()[0]}")
        if any(s is not None for s in starts):
            return
        db = Database(url)
        users = [FIRST_USER + i for i in range(args.users)]

        started = time.perf_counter()
        figures = await reminders_phase(server, bots, db, users, args.per_user, kills)
        print(f"reminders: {args.users} users x {args.per_user} GSTINs "
              f"({time.perf_counter() - started:.1f}s)")
        for name, value in figures.items():
            print(f"  {name}: {value}")

        balancer = LoadBalancer(bots)
        started = time.perf_counter()
        figures = await updates_phase(server, bots, db, balancer, users, args.updates, kills)
        print(f"updates: {args.updates} through the load balancer "
              f"({time.perf_counter() - started:.1f}s)")
        for name, value in figures.items():
            print(f"  {name}: {value}")
        print(f"kills (SIGKILL): {len(kills)}")
        for kill in kills:
            print(f"  {kill}")
        errors = [line for bot in bots for line in bot.errors_logged()]
        print(f"unhandled errors in the replicas' logs: {len(errors)}")
        for line in errors[:5]:
            print(f"  {line[:160]}")
    finally:
        for bot in bots:
            bot.kill()
        if db is not None:
            db.dispose()
        drop()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--per-user", type=int, default=16)
    parser.add_argument("--updates", type=int, default=240)
    parser.add_argument("--postgres", default=ADMIN_URL, help="admin URL of a PostgreSQL server")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(scenario(args, Path(directory)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
