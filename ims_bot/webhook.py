"""`ims-bot webhook`: Telegram posts each update to a small HTTP server owned by the bot.

This is python-telegram-bot's custom-webhook pattern (its `customwebhookbot` examples): the
Application runs without an Updater and the server hands it each update. PTB's built-in
`run_webhook` is not used: it reads a body (up to 100 MB) before it checks the secret,
answers malformed JSON with 500, and answers 200 as soon as the update is queued, so a
replica that dies before handling it loses an update Telegram will never send again.

A POST to the webhook path:

* without the right `X-Telegram-Bot-Api-Secret-Token` gets 403, before any body is read;
* with a body over `MAX_BODY` gets 413, as soon as that is known (Telegram's updates are a
  few KB; documents are fetched separately, with getFile);
* with a body that is not a JSON object holding an update gets 400;
* gets 200 only once `Application.process_update` has finished with the update. Anything
  else (the process dies, the server stops) is not a 200, so Telegram sends the update again.

A retry makes an update arrive twice: `UpdateLedger` keeps the ids handled, and a known one
is answered 200 without being handled again. GET /healthz answers 200 while updates are
taken, 503 while the bot starts or drains (so a load balancer moves on).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler, stream_request_body

from ims_bot.errors import BotStartFailed

if TYPE_CHECKING:
    from ims_bot.db import Database

logger = logging.getLogger(__name__)

AnyApplication = Any  # telegram.ext.Application[...]; kept loose to avoid an import cycle

MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
DEFAULT_MAX_CONNECTIONS = 40  # Telegram's default
# On SIGTERM, updates already being handled get this long to finish (systemd waits 90 s).
DRAIN_SECONDS = 30.0
BODY_TIMEOUT = 30.0  # a client trickling its body is dropped after this
IDLE_TIMEOUT = 120.0  # Telegram keeps connections open between updates
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# ---------------------------------------------------------------------------- handled updates


class UpdateLedger(Protocol):
    """Which update ids were handled, so that Telegram's retry of one is not handled twice."""

    async def handled(self, update_id: int) -> bool: ...

    async def record(self, update_id: int) -> None: ...


class RecentUpdates:
    """The ids this process handled lately, in memory (for a bot without a database)."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size

    async def handled(self, update_id: int) -> bool:
        return update_id in self._ids

    async def record(self, update_id: int) -> None:
        self._ids[update_id] = None
        self._ids.move_to_end(update_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)


class DatabaseLedger:
    """Handled ids in `processed_updates`, shared by every replica on the database.

    An id is written once its update was handled, so a replica that dies while handling
    leaves nothing and the retry is handled in full; one dying between the two steps means
    that update may be handled twice (the record actions' version checks turn a repeated tap
    into "no change"). Rows older than `KEEP` are pruned: Telegram stops retrying an update
    after 24 hours, and update ids restart at random after a week without updates.
    """

    KEEP = timedelta(days=2)
    PRUNE_EVERY = 100  # updates

    def __init__(self, db: Database, now: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.now = now or (lambda: datetime.now(UTC))

    async def handled(self, update_id: int) -> bool:
        return await asyncio.to_thread(self._handled, update_id)

    async def record(self, update_id: int) -> None:
        await asyncio.to_thread(self._record, update_id)

    def _handled(self, update_id: int) -> bool:
        from ims_bot.models import ProcessedUpdate

        with self.db.read() as session:
            return session.get(ProcessedUpdate, update_id) is not None

    def _record(self, update_id: int) -> None:
        from sqlalchemy import delete
        from sqlalchemy.dialects import postgresql, sqlite

        from ims_bot.models import ProcessedUpdate

        dialect = sqlite if self.db.is_sqlite else postgresql
        now = self.now()
        insert = dialect.insert(ProcessedUpdate).values(update_id=update_id, processed_at=now)
        with self.db.begin() as session:
            session.execute(insert.on_conflict_do_nothing())
            if update_id % self.PRUNE_EVERY == 0:
                session.execute(
                    delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - self.KEEP)
                )


async def handle_once(application: AnyApplication, ledger: UpdateLedger, update: Update) -> None:
    """Handle `update` through PTB's update processor (its concurrency limit and per-user
    order apply), unless the ledger says it was handled before; record it once handled."""

    async def once() -> None:
        update_id = update.update_id
        try:
            seen = await ledger.handled(update_id)
        except Exception:  # e.g. the database is down: handle it rather than drop it
            logger.warning("Could not look up update %s: handling it", update_id,
                           exc_info=True)
            seen = False
        if seen:
            logger.info("Update %s was handled before: acknowledged again", update_id)
            return
        await application.process_update(update)
        try:
            await ledger.record(update_id)
        except Exception:  # handled all the same: a failure now would only bring a retry
            logger.warning("Could not record update %s as handled", update_id, exc_info=True)

    await application.update_processor.process_update(update, once())


def update_ledger(db: Database | None) -> UpdateLedger:
    """The ledger for this bot: the database's when it has one (every replica sees it)."""
    return DatabaseLedger(db) if db is not None else RecentUpdates()


# ---------------------------------------------------------------------------- HTTP


@dataclass
class _Hook:
    """What the request handlers share: the application, the secret and the state."""

    application: AnyApplication
    secret: bytes
    ledger: UpdateLedger | None = None
    accepting: bool = False  # true between start-up and the stop signal
    in_flight: int = 0  # updates being handled now

    async def handle(self, update: Update) -> None:
        """Handle `update` once (see `handle_once`); return once it is done."""
        assert self.ledger is not None
        self.in_flight += 1
        try:
            await handle_once(self.application, self.ledger, update)
        finally:
            self.in_flight -= 1


class _Handler(RequestHandler):
    """Answers in plain text; every subclass decides before the body is read."""

    hook: _Hook

    def initialize(self, hook: _Hook) -> None:
        self.hook = hook
        self.done = False

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        self.set_header("Content-Type", "text/plain; charset=utf-8")

    def answer(self, status: int, text: str) -> None:
        self.done = True
        self.set_status(status)
        self.finish(text + "\n")

    def write_error(self, status_code: int, **_: Any) -> None:
        """Tornado's own refusals (405, 500) in plain text too, without a traceback."""
        self.finish(f"{status_code} {self._reason}\n")

    def data_received(self, chunk: bytes) -> None:
        """A body this handler has no use for is not kept."""


@stream_request_body
class _UpdateHandler(_Handler):
    SUPPORTED_METHODS = ("POST",)

    def prepare(self) -> None:
        self.body = bytearray()
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.hook.secret):
            self.answer(403, "wrong or missing secret token")
            return
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            self.answer(413, f"an update is at most {MAX_BODY} bytes")
            return
        if not self.hook.accepting:
            self.answer(503, "not taking updates now: try again")

    def data_received(self, chunk: bytes) -> None:
        if self.done:
            return
        if len(self.body) + len(chunk) > MAX_BODY:
            self.answer(413, f"an update is at most {MAX_BODY} bytes")
            return
        self.body += chunk

    async def post(self) -> None:
        if self.done:
            return
        update = self._update()
        if update is None:
            return
        if not self.hook.accepting:  # stopping: let Telegram give it to another replica
            self.answer(503, "not taking updates now: try again")
            return
        await self.hook.handle(update)
        self.answer(200, "ok")

    def _update(self) -> Update | None:
        try:
            data = json.loads(bytes(self.body))
        except (ValueError, RecursionError):
            self.answer(400, "the body is not JSON")
            return None
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            self.answer(400, "the body is not a Telegram update")
            return None
        try:
            return Update.de_json(data, self.hook.application.bot)
        except Exception:  # whatever PTB trips over in a malformed nested object
            self.answer(400, "the body is not a Telegram update")
            return None


@stream_request_body
class _HealthHandler(_Handler):
    SUPPORTED_METHODS = ("GET", "HEAD")

    def prepare(self) -> None:
        if self.hook.accepting:
            self.answer(200, "ok")
        else:
            self.answer(503, "not taking updates")


@stream_request_body
class _NotFoundHandler(_Handler):
    def prepare(self) -> None:
        self.answer(404, "not found")


def _log_request(handler: RequestHandler) -> None:
    status = handler.get_status()
    level = logging.DEBUG if status < 400 else logging.INFO if status < 500 else logging.WARNING
    logger.log(level, "%d %s %s (%s) %.1f ms", status, handler.request.method,
               handler.request.path, handler.request.remote_ip,
               1000 * handler.request.request_time())


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the public URL's, so a proxy can forward it unchanged."""
    return urlsplit(url).path or "/"


def _server(hook: _Hook, path: str) -> HTTPServer:
    routes: list[Any] = [
        (re.escape(path), _UpdateHandler, {"hook": hook}),
        (re.escape(HEALTH_PATH), _HealthHandler, {"hook": hook}),
        (r".*", _NotFoundHandler, {"hook": hook}),
    ]
    app = WebApplication(routes, log_function=_log_request)
    # Every handler answers before the body is read or caps it itself; tornado's own limit
    # (which would answer 400 after our answer) is set out of the way.
    return HTTPServer(app, max_body_size=2**40, body_timeout=BODY_TIMEOUT,
                      idle_connection_timeout=IDLE_TIMEOUT, max_header_size=16 * 1024)


async def _drain(hook: _Hook) -> None:
    deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
    while hook.in_flight and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    if hook.in_flight:
        logger.warning("Stopped with %d update(s) unfinished: Telegram will send them again",
                       hook.in_flight)


async def serve(
    application: AnyApplication,
    *,
    url: str,
    listen: str,
    port: int,
    secret: str,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ledger: Callable[[], UpdateLedger],
) -> None:
    """Run `application` behind the webhook until SIGINT or SIGTERM.

    The order is PTB's own (initialize, post_init, start ... stop, shutdown, post_shutdown),
    with the server listening before `setWebhook` tells Telegram to post to it. On a stop
    signal, /healthz turns 503, new updates get 503, and those in hand are finished.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await _serve(application, stop, url=url, listen=listen, port=port, secret=secret,
                     max_connections=max_connections, ledger=ledger)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _serve(
    application: AnyApplication,
    stop: asyncio.Event,
    *,
    url: str,
    listen: str,
    port: int,
    secret: str,
    max_connections: int,
    ledger: Callable[[], UpdateLedger],
) -> None:
    hook = _Hook(application, secret.encode())
    path = webhook_path(url)
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        hook.ledger = ledger()
        server = _server(hook, path)
        try:
            server.listen(port, address=listen)
        except OSError as exc:
            raise BotStartFailed(f"cannot listen on {listen}:{port}: {exc.strerror or exc}",
                                 retryable=False) from None
        try:
            await application.start()
            hook.accepting = True
            await application.bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                max_connections=max_connections,
            )
            logger.info("Taking updates at %s (listening on %s:%d)", path, listen, port)
            await stop.wait()
            logger.info("Stopping: finishing the updates in hand")
        finally:
            hook.accepting = False
            server.stop()
            await _drain(hook)
            await server.close_all_connections()
            if application.running:
                await application.stop()
                if application.post_stop is not None:
                    await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
