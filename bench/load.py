"""Load: updates per second through the whole application, and many users at once.

1. Throughput, in-process on the offline Bot API (no network): FAQ questions, /pending
   listings and button presses on record cards, through the production wiring
   (`ims_bot.app.build_application`), on SQLite and on PostgreSQL, beside a bare
   python-telegram-bot echo handler on the same machine. The ratio to echo is the figure
   (aims: FAQ >= 50 %, record actions >= 30 %).
2. Concurrency on PostgreSQL: `--users` simulated users (default 200) in shared workspaces,
   split over `--workers` processes, acting for `--seconds` (default 60): each opens
   /pending, taps a record and accepts, rejects (with confirmation) or keeps it pending.
   Checked afterwards: every successful act has exactly one log entry and every record's
   version equals 1 + its actions (no lost update), no deadlock or other error; p50/p99
   reply times printed.

Not a test: figures are printed.

    .venv/bin/python bench/load.py [--n 300] [--users 200] [--seconds 60] [--workers 4]
                                   [--skip-postgres] [--skip-concurrency] [--skip-stall]
                                   [--skip-throughput] [--skip-profile] [--profile-only]
                                   [--profile-n 100]

3. Profile (with the throughput figures, unless `--skip-profile`): cProfile over
   `--profile-n` updates of each kind, the event-loop thread and the worker threads of
   `asyncio.to_thread` merged, own time per update grouped into matcher, SQL (SQLAlchemy
   and driver), rendering (views, texts, HTML fitting), logging, PTB dispatch (with the
   event loop and the offline Bot API stand-in), thread hops, other.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import multiprocessing
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from handlers import texts
from handlers.callbackdata import OpenRecord
from handlers.screens import TELEGRAM_DOWNLOAD_LIMIT
from ims_bot.access import AccessService
from ims_bot.app import build_application, build_core
from ims_bot.db import Database
from ims_bot.demo import DEMO_GSTIN, DEMO_TODAY, demo_bytes
from ims_bot.importer import import_file
from ims_bot.models import ActionLog, Record
from ims_bot.offline import ApiCall, OfflineBotApi
from ims_bot.settings import INDIA, Settings

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
QUESTIONS = (
    "what is IMS?", "can a credit note be kept pending?", "what happens if I reject an invoice",
    "when is the draft GSTR-2B generated", "deemed acceptance", "how do I recompute GSTR-2B",
    "IMS me invoice reject kaise kare", "can I change my action after filing GSTR-3B?",
)  # fmt: skip
CONFIRM_LABELS = (texts.BUTTON_CONFIRM_REJECT, texts.BUTTON_REDUCE_FULL)
AnyApp = Application[Any, Any, Any, Any, Any, Any]


# ============================================================================ harness


@dataclass
class Harness:
    app: AnyApp
    api: OfflineBotApi

    async def feed(self, update: Update) -> list[ApiCall]:
        start = len(self.api.calls)
        await self.app.process_update(update)
        return self.api.calls[start:]

    async def close(self) -> None:
        await self.app.shutdown()
        if self.app.post_shutdown is not None:
            await self.app.post_shutdown(self.app)


async def start(app: AnyApp, api: OfflineBotApi, *, post_init: bool = True) -> Harness:
    await app.initialize()
    if post_init and app.post_init is not None:
        await app.post_init(app)
    api.bind(app.bot)
    api.clear()
    return Harness(app, api)


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, today_override=DEMO_TODAY)


async def production(url: str) -> Harness:
    """The production wiring on the offline API, without the reminder sweep's job queue."""
    settings = settings_for(url)
    db = Database(url)
    db.upgrade()
    core = build_core(settings, db)
    api = OfflineBotApi()
    app = build_application(settings, request=api, core=core, rate_limiter=False)
    harness = await start(app, api)
    if app.job_queue is not None:
        # Reminders are scheduled by post_init; their sweep is not part of this figure.
        for job in app.job_queue.jobs():
            job.schedule_removal()
    return harness


async def echo_app() -> Harness:
    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None and update.effective_message.text:
            await update.effective_message.reply_text(update.effective_message.text)

    api = OfflineBotApi()
    app = Application.builder().token("1:echo").request(api).get_updates_request(api).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return await start(app, api, post_init=False)


async def rate(n: int, step: Callable[[int], Awaitable[object]]) -> float:
    for i in range(min(20, n)):  # warm caches and connections
        await step(i)
    started = time.perf_counter()
    for i in range(n):
        await step(i)
    return n / (time.perf_counter() - started)


# ============================================================================ throughput


async def echo_rate(n: int) -> float:
    h = await echo_app()
    try:
        return await rate(n, lambda i: h.feed(h.api.text_update(1000 + i % 50, QUESTIONS[i % 8])))
    finally:
        await h.close()


Step = Callable[[int], Awaitable[object]]
Rate = Callable[[str, int, Step], Awaitable[float]]
ROUNDS = 5


async def paired_rate(n: int, step: Step, echo_step: Step) -> tuple[float, float]:
    """(updates/s of `step`, its ratio to the echo bot): `ROUNDS` rounds, each timing n/ROUNDS
    echo updates then n/ROUNDS of `step`, the ratio the median of the rounds' ratios. On a
    shared machine the load changes within seconds; an echo figure measured once, minutes
    before, moved ratios by 2x between runs."""
    for i in range(min(20, n)):  # warm caches and connections
        await step(i)
        await echo_step(i)
    per = max(1, n // ROUNDS)
    ratios, took = [], 0.0
    for r in range(ROUNDS):
        started = time.perf_counter()
        for i in range(per):
            await echo_step(r * per + i)
        echo_took = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(per):
            await step(r * per + i)
        step_took = time.perf_counter() - started
        ratios.append(echo_took / step_took)
        took += step_took
    return per * ROUNDS / took, statistics.median(ratios)


async def bot_rates(
    url: str, n: int, measure: Rate | None = None
) -> dict[str, tuple[float, float]]:
    """{kind: (updates/s, ratio to echo)}; with `measure`, its figures and no ratio."""
    h = await production(url)
    echo = await echo_app()
    user = 42_000_001
    ratios: dict[str, float] = {}

    async def paired(kind: str, count: int, step: Step) -> float:
        def echo_step(i: int) -> Awaitable[object]:
            return echo.feed(echo.api.text_update(1000 + i % 50, QUESTIONS[i % 8]))

        value, ratios[kind] = await paired_rate(count, step, echo_step)
        return value

    measure = measure or paired
    try:
        await h.feed(h.api.command_update(user, "link", DEMO_GSTIN))
        await h.feed(h.api.document_update(user, "ims.json", demo_bytes(), "application/json"))
        faq = await measure("faq", n, lambda i: h.feed(h.api.text_update(user, QUESTIONS[i % 8])))
        listing = await measure(
            "pending", n, lambda i: h.feed(h.api.command_update(user, "pending")))
        calls = await h.feed(h.api.command_update(user, "pending"))
        message_id = next(c.message_id for c in calls if c.method == "sendMessage")
        assert message_id is not None
        invoice = next(label for label, _ in h.api.message(user, message_id).buttons()
                       if label.startswith(("INV", "ECO")) or "·" in label)
        await h.feed(h.api.press_update(user, message_id, invoice))

        async def act(i: int) -> None:
            # Accept, then undo it: each press is a real change with its log entry.
            labels = [label for label, _ in h.api.message(user, message_id).buttons()]
            label = texts.BUTTON_UNDO if texts.BUTTON_UNDO in labels else texts.BUTTON_ACCEPT
            if label not in labels:
                label = texts.BUTTON_PENDING
            out = await h.feed(h.api.press_update(user, message_id, label))
            for confirm in CONFIRM_LABELS:
                if confirm in [b for b, _ in h.api.message(user, message_id).buttons()]:
                    out = await h.feed(h.api.press_update(user, message_id, confirm))
            assert not [c.error for c in out if c.error and "not modified" not in c.error], out

        actions = await measure("actions", n, act)
        rates = {"faq": faq, "pending": listing, "actions": actions}
        return {kind: (value, ratios.get(kind, 0.0)) for kind, value in rates.items()}
    finally:
        await h.close()
        await echo.close()


# ============================================================================ concurrency


@dataclass
class WorkerReport:
    acts: Counter[int] = field(default_factory=Counter)  # successful acts per user
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    updates: int = 0


class _ErrorCounter(logging.Handler):
    def __init__(self, report: WorkerReport) -> None:
        super().__init__(logging.ERROR)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        self.report.errors.append(f"{kind}: {record.getMessage()}"[:300])


async def _user_loop(
    h: Harness, user: int, scope: tuple[int, list[int]], until: float, report: WorkerReport
) -> None:
    """/pending, then a tap on a record of the workspace (any page: the first one soon holds
    only records nobody can act on, e.g. saved-only ones), then an action."""
    w, record_ids = scope
    rng = random.Random(user)

    async def feed(update: Update) -> list[ApiCall]:
        started = time.perf_counter()
        # Other users' calls interleave with this one's: keep only those of this update.
        query = update.callback_query.id if update.callback_query else None
        calls = [c for c in await h.feed(update) if c.chat_id == user or (
            query is not None and c.params.get("callback_query_id") == query)]
        report.latencies.append(time.perf_counter() - started)
        report.updates += 1
        if any(c.text in (texts.ERROR_APOLOGY, texts.DATABASE_UNAVAILABLE) for c in calls):
            report.errors.append("apology sent")
        return calls

    while time.monotonic() < until:
        calls = await feed(h.api.command_update(user, "pending"))
        message_id = next((c.message_id for c in calls if c.method == "sendMessage"), None)
        if message_id is None:
            continue
        tap = OpenRecord(w, rng.choice(record_ids)).pack()
        await feed(h.api.callback_update(user, message_id, tap))
        choices = [b for b in h.api.message(user, message_id).buttons() if b[0] in (
            texts.BUTTON_ACCEPT, texts.BUTTON_REJECT, texts.BUTTON_PENDING)]
        if not choices:
            continue
        calls = await feed(h.api.callback_update(user, message_id, rng.choice(choices)[1] or ""))
        buttons = dict(h.api.message(user, message_id).buttons())
        confirm = next((buttons[c] for c in CONFIRM_LABELS if c in buttons), None)
        if confirm is not None:
            calls = await feed(h.api.callback_update(user, message_id, confirm))
        answer = next((c for c in calls if c.method == "answerCallbackQuery"), None)
        toast = answer.params.get("text") if answer is not None else None
        if toast in texts.ACTION_DONE.values():
            report.acts[user] += 1
        else:
            report.conflicts += 1


def _worker(
    url: str, users: dict[int, tuple[int, list[int]]], seconds: float, queue: Any
) -> None:
    async def main() -> WorkerReport:
        report = WorkerReport()
        logging.getLogger().addHandler(_ErrorCounter(report))
        h = await production(url)
        until = time.monotonic() + seconds
        try:
            await asyncio.gather(
                *(_user_loop(h, u, scope, until, report) for u, scope in users.items()))
        finally:
            await h.close()
        return report

    logging.basicConfig(level=logging.CRITICAL)
    report = asyncio.run(main())
    queue.put((dict(report.acts), report.conflicts, report.errors, report.latencies,
               report.updates))


def setup_users(
    url: str, users: list[int], per_workspace: int
) -> dict[int, tuple[int, list[int]]]:
    """Owners link the demo GSTIN and import it; the others join through invite codes.
    Returns each user's workspace id and its record ids."""
    db = Database(url)
    db.upgrade()

    def now() -> datetime:
        return datetime.combine(DEMO_TODAY, datetime.now(INDIA).timetz())

    access = AccessService(db, now)
    scopes: dict[int, tuple[int, list[int]]] = {}
    for start_at in range(0, len(users), per_workspace):
        owner, *members = users[start_at : start_at + per_workspace]
        ws = access.link(owner, owner, DEMO_GSTIN).workspace
        import_file(db, ws.id, io.BytesIO(demo_bytes()), actor="bench", channel="bench")
        for member in members:
            access.join(member, member, access.invite(owner, ws.id).code)
        with db.begin() as session:
            ids = list(session.scalars(select(Record.id).where(Record.taxpayer_id == ws.id)))
        scopes.update({u: (ws.id, ids) for u in (owner, *members)})
    db.dispose()
    return scopes


def concurrency(url: str, n_users: int, seconds: float, workers: int) -> None:
    users = [43_000_000 + i for i in range(n_users)]
    scopes = setup_users(url, users, per_workspace=10)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    shares = [{u: scopes[u] for u in users[i::workers]} for i in range(workers)]
    processes = [ctx.Process(target=_worker, args=(url, share, seconds, queue))
                 for share in shares]
    started = time.perf_counter()
    for p in processes:
        p.start()
    results = [queue.get(timeout=seconds + 300) for _ in processes]
    for p in processes:
        p.join(60)
    elapsed = time.perf_counter() - started
    acts: Counter[int] = Counter()
    conflicts, errors, latencies, updates = 0, [], [], 0
    for user_acts, c, e, lat, u in results:
        acts.update(user_acts)
        conflicts += c
        errors += e
        latencies += lat
        updates += u

    db = Database(url)
    with db.begin() as session:
        logged = Counter(
            int(actor.removeprefix("tg:")) for actor in session.scalars(
                select(ActionLog.actor).where(ActionLog.kind == "action"))
        )
        per_record = dict(session.execute(
            select(ActionLog.record_id, func.count()).where(ActionLog.kind == "action")
            .group_by(ActionLog.record_id)).all())
        versions = dict(session.execute(select(Record.id, Record.version)).all())
    db.dispose()
    lost = sum(1 for rid, version in versions.items() if version - 1 != per_record.get(rid, 0))
    mismatched = sum(1 for u in users if acts[u] != logged[u])
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    kinds = Counter(e.split(":")[0] for e in errors)
    print(f"  {n_users} users in {n_users // 10} shared workspaces, {workers} processes, "
          f"{elapsed:.0f} s wall")
    print(f"  updates {updates} ({updates / seconds:.0f}/s), successful acts {sum(acts.values())}"
          f", refused as stale/already done {conflicts}")
    print(f"  log entries {sum(logged.values())} for {sum(acts.values())} successful acts; "
          f"users whose count differs: {mismatched}")
    print(f"  records whose version != 1 + logged actions (lost updates): {lost}")
    print(f"  errors: {len(errors)} {dict(kinds) or ''}; deadlocks: "
          f"{sum(1 for e in errors if 'Deadlock' in e)}")
    print(f"  reply time p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000 if latencies else 0:.1f} ms")


# ============================================================================ stall


async def stall(url: str, records: int, others: int) -> dict[str, float]:
    """Other users' reply times while one user imports a large file, through the
    application's own update processor (concurrent across users, in order per user)."""
    h = await production(url)
    importer_user, users = 44_000_001, [44_000_100 + i for i in range(others)]
    app = h.app

    async def through_processor(update: Update) -> None:
        await app.update_processor.process_update(update, app.process_update(update))

    try:
        await h.feed(h.api.command_update(importer_user, "link", DEMO_GSTIN))
        for i, user in enumerate(users):  # each other user has a workspace of their own
            await h.feed(h.api.command_update(user, "link", OTHER_GSTINS[i % len(OTHER_GSTINS)]))
            await h.feed(h.api.document_update(user, "ims.json", demo_bytes(seed=i + 11),
                                               "application/json"))
        big = demo_bytes(records=records)
        if len(big) > TELEGRAM_DOWNLOAD_LIMIT:
            print(f"  (the file is {len(big) / 1e6:.1f} MB, over Telegram's 20 MB download "
                  "limit: the bot refuses it at once and these figures measure no import)")
        latencies: list[float] = []
        done = asyncio.Event()

        async def other(user: int, index: int) -> None:
            steps = ("what is IMS?", "/pending", "can a credit note be kept pending?")
            i = index
            while not done.is_set():
                text_ = steps[i % len(steps)]
                update = (h.api.command_update(user, "pending") if text_ == "/pending"
                          else h.api.text_update(user, text_))
                started = time.perf_counter()
                await through_processor(update)
                latencies.append(time.perf_counter() - started)
                i += 1
                await asyncio.sleep(0.02)

        started = time.perf_counter()
        load = asyncio.create_task(through_processor(
            h.api.document_update(importer_user, "big.json", big, "application/json")))
        loops = [asyncio.create_task(other(u, i)) for i, u in enumerate(users)]
        await load
        took = time.perf_counter() - started
        done.set()
        await asyncio.gather(*loops)
        latencies.sort()
        return {
            "mb": len(big) / 1e6, "import_s": took, "replies": len(latencies),
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            "max_ms": latencies[-1] * 1000,
        }
    finally:
        await h.close()


OTHER_GSTINS = ("27AABCT1332L1ZE", "24AACCG9012M1ZL", "29AAKCS1234Q1ZR", "07AAGCR5521B1ZR")


def stall_figures(records: int, others: int, skip_postgres: bool) -> None:
    print(f"Other users' replies while one user imports {records:,} records "
          f"({others} other users; FAQ, /pending):")
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, str, Callable[[], None] | None]] = [
            ("SQLite", f"sqlite:///{Path(tmp) / 'stall.sqlite3'}", None)]
        pg = None if skip_postgres else postgres_database()
        if pg is not None:
            backends.append(("PostgreSQL", pg[0], pg[1]))
        try:
            for label, url, _ in backends:
                f = asyncio.run(stall(url, records, others))
                print(f"  {label:<10} file {f['mb']:.1f} MB imported in {f['import_s']:.1f} s; "
                      f"{f['replies']:.0f} replies: p50 {f['p50_ms']:.0f} ms, "
                      f"p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms")
        finally:
            for _, _, drop in backends:
                if drop is not None:
                    drop()


# ============================================================================ profile

#: Where a function's own time goes, by where it is defined (first match wins).
PROFILE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("matcher", ("/faq/matcher.py", "/faq/kb.py", "rapidfuzz", "numpy", "unicodedata")),
    ("SQL", ("/sqlalchemy/", "/psycopg", "sqlite3", "/ims_bot/db.py", "/ims_bot/models.py",
             "/alembic/")),
    ("rendering", ("/handlers/views.py", "/handlers/texts.py", "/handlers/faq_views.py",
                   "/handlers/replies.py", "/ims_bot/telegram_text.py", "/html/")),
    ("logging", ("/logging/", "/handlers/trace.py", "/ims_bot/logs.py")),
    ("thread hops", ("/concurrent/futures/", "/threading.py", "/asyncio/threads.py",
                     "run_in_executor", "<method 'acquire' of '_thread.lock' objects>")),
    ("PTB dispatch", ("/telegram/", "/asyncio/", "/ims_bot/update_order.py",
                      "/handlers/context.py", "/ims_bot/offline.py", "/json/", "_json")),
)
PROFILE_ORDER = ("matcher", "SQL", "rendering", "logging", "PTB dispatch", "thread hops",
                 "other")
_POLL = ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.epoll'",
         "<built-in method select.select>")


def profile_group(func: tuple[str, int, str]) -> str:
    where = f"{func[0]}:{func[2]}"
    for group, needles in PROFILE_GROUPS:
        if any(needle in where for needle in needles):
            return group
    return "other"


class PathProfiler:
    """cProfile of one path: the event-loop thread, plus every `asyncio.to_thread` call
    profiled in its worker thread (cProfile sees one thread only), merged.

    The loop thread's wait in epoll while a worker runs is not counted as its own: what the
    worker did is; the rest of that wait (handing the call over and back) is a thread hop."""

    def __init__(self) -> None:
        self.loop_profile = cProfile.Profile()
        self.worker_profiles: list[cProfile.Profile] = []
        self._original = asyncio.to_thread

    def __enter__(self) -> PathProfiler:
        original = self._original

        async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            def profiled() -> Any:
                prof = cProfile.Profile()
                prof.enable()
                try:
                    return func(*args, **kwargs)
                finally:
                    prof.disable()
                    self.worker_profiles.append(prof)

            return await original(profiled)

        asyncio.to_thread = to_thread  # type: ignore[assignment]
        self.loop_profile.enable()
        return self

    def __exit__(self, *_: object) -> None:
        self.loop_profile.disable()
        asyncio.to_thread = self._original  # type: ignore[assignment]

    def summary(self, updates: int) -> tuple[dict[str, float], list[tuple[str, float]]]:
        """Milliseconds per update by group, and the heaviest functions (own time)."""
        groups: Counter[str] = Counter()
        funcs: Counter[str] = Counter()
        waited = 0.0
        stats = pstats.Stats(self.loop_profile)
        for where, (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            if any(where[2].startswith(p) for p in _POLL):
                waited += own
                continue
            groups[profile_group(where)] += own
            funcs[_func_label(where)] += own
        in_workers = 0.0
        for prof in self.worker_profiles:
            worker = pstats.Stats(prof)
            for where, (_, _, own, _, _) in worker.stats.items():  # type: ignore[attr-defined]
                # A worker waiting in select is psycopg waiting for the server.
                polling = any(where[2].startswith(p) for p in _POLL)
                groups["SQL" if polling else profile_group(where)] += own
                funcs[_func_label(where)] += own
                in_workers += own
        groups["thread hops"] += max(0.0, waited - in_workers)
        per_update = {g: groups[g] * 1000 / updates for g in PROFILE_ORDER}
        top = [(label, t * 1000 / updates) for label, t in funcs.most_common(4)]
        return per_update, top


def _func_label(func: tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":
        return name
    parts = Path(path).parts
    return f"{'/'.join(parts[-2:])}:{line}({name})"


async def profile_rates(url: str, n: int) -> dict[str, PathProfiler]:
    """Each path of `bot_rates` run `n` times under a PathProfiler (after warming up)."""
    profilers: dict[str, PathProfiler] = {}

    async def rate_profiled(kind: str, count: int, step: Callable[[int], Awaitable[object]]
                            ) -> float:
        for i in range(min(20, count)):
            await step(i)
        with PathProfiler() as profiler:
            for i in range(count):
                await step(i)
        profilers[kind] = profiler
        return 0.0

    await bot_rates(url, n, rate_profiled)
    return profilers


async def profile_echo(n: int) -> PathProfiler:
    h = await echo_app()
    try:
        for i in range(20):
            await h.feed(h.api.text_update(1000 + i % 50, QUESTIONS[i % 8]))
        with PathProfiler() as profiler:
            for i in range(n):
                await h.feed(h.api.text_update(1000 + i % 50, QUESTIONS[i % 8]))
        return profiler
    finally:
        await h.close()


def print_profile(label: str, kind: str, profiler: PathProfiler, n: int) -> None:
    per_update, top = profiler.summary(n)
    total = sum(per_update.values()) or 1.0
    parts = ", ".join(f"{g} {per_update[g]:.2f} ({per_update[g] / total:.0%})"
                      for g in PROFILE_ORDER if per_update[g] >= 0.005)
    print(f"  {label:<10} {kind:<8} {total:6.2f} ms/update: {parts}")
    print("  " + " " * 20 + "heaviest: " + "; ".join(f"{name} {ms:.2f}" for name, ms in top))


def profiles(n: int, skip_postgres: bool) -> None:
    print(f"Profile, ms of own time per update under cProfile (n={n}; cProfile inflates "
          "Python-heavy code, so compare shares, not totals):")
    print_profile("echo", "text", asyncio.run(profile_echo(n)), n)
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, str, Callable[[], None] | None]] = [
            ("SQLite", f"sqlite:///{Path(tmp) / 'profile.sqlite3'}", None)]
        pg = None if skip_postgres else postgres_database()
        if pg is not None:
            backends.append(("PostgreSQL", pg[0], pg[1]))
        try:
            for label, url, _ in backends:
                for kind, profiler in asyncio.run(profile_rates(url, n)).items():
                    print_profile(label, kind, profiler, n)
        finally:
            for _, _, drop in backends:
                if drop is not None:
                    drop()


# ============================================================================ main


def postgres_database() -> tuple[str, Callable[[], None]] | None:
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
        name = f"ims_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here: say so and go on with SQLite
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="updates per throughput figure")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-concurrency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-stall", action="store_true")
    parser.add_argument("--skip-profile", action="store_true",
                        help="throughput without its profile summary")
    parser.add_argument("--profile-only", action="store_true", help="only the profile")
    parser.add_argument("--profile-n", type=int, default=100,
                        help="updates of each kind profiled")
    parser.add_argument("--stall-records", type=int, default=45_000,
                        help="records in the big file (45,000 is about 19.3 MB; from about "
                        "47,000 it passes Telegram's 20 MB download limit and is refused "
                        "at once, so nothing stalls)")
    parser.add_argument("--stall-users", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    if args.profile_only:
        profiles(args.profile_n, args.skip_postgres)
        return
    if not args.skip_throughput:
        throughput(args.n, args.skip_postgres)
        if not args.skip_profile:
            profiles(args.profile_n, args.skip_postgres)
    if not args.skip_stall:
        stall_figures(args.stall_records, args.stall_users, args.skip_postgres)
    if args.skip_concurrency or args.skip_postgres:
        return
    pg = postgres_database()
    if pg is None:
        return
    print(f"Concurrency on PostgreSQL ({args.seconds:.0f} s):")
    try:
        concurrency(pg[0], args.users, args.seconds, args.workers)
    finally:
        pg[1]()


def throughput(n: int, skip_postgres: bool) -> None:
    print(f"Throughput, updates/s in-process on the offline Bot API (n={n}; each kind's share "
          f"of a bare PTB echo handler timed alternately with it, median of {ROUNDS} rounds):")
    echo = asyncio.run(echo_rate(n * 3))
    print(f"  bare PTB echo handler: {echo:8.0f}/s (alone)")
    backends: list[tuple[str, str, Callable[[], None] | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        backends.append(("SQLite", f"sqlite:///{Path(tmp) / 'load.sqlite3'}", None))
        pg = None if skip_postgres else postgres_database()
        if pg is not None:
            backends.append(("PostgreSQL", pg[0], pg[1]))
        try:
            for label, url, _ in backends:
                rates = asyncio.run(bot_rates(url, n))
                for kind, (value, ratio) in rates.items():
                    print(f"  {label:<10} {kind:<8} {value:8.0f}/s = {ratio:6.1%} of echo")
        finally:
            for _, _, drop in backends:
                if drop is not None:
                    drop()


if __name__ == "__main__":
    main()
