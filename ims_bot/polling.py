"""`ims-bot run`: long polling that confirms an update to Telegram only once it is handled.

Telegram forgets every update below the `offset` of a getUpdates call. python-telegram-bot's
Updater asks for the next batch (so confirms the last one) before its updates are handled,
so a process killed mid-update loses what it was doing: a tap is acknowledged, then lost.
Here the offset never passes an update still being handled: while some are in flight the
poll starts at the oldest of them, Telegram sends those again (they are skipped here), and
a process that dies leaves them unconfirmed, for the next process to handle. Updates are
handled as in the webhook (`webhook.handle_once`): concurrently across users, in order per
user, and once (the ledger skips an update handled before).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from ims_bot.webhook import UpdateLedger, handle_once

logger = logging.getLogger(__name__)

AnyApplication = Any  # telegram.ext.Application[...]

#: Long-poll wait when nothing is in flight (seconds).
POLL_TIMEOUT = 10
#: While updates are in flight Telegram answers at once (with those): poll this often.
BUSY_POLL = 0.3
#: Pause after a network failure before polling again (seconds; x1.5 each time, capped).
RETRY_FIRST, RETRY_CAP = 0.5, 15.0


class Poller:
    def __init__(self, application: AnyApplication, ledger: UpdateLedger) -> None:
        self.application = application
        self.ledger = ledger
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.next_id: int | None = None  # one past the newest update taken

    def offset(self) -> int | None:
        """Where the next poll starts: never past an update still being handled."""
        return min(self.in_flight) if self.in_flight else self.next_id

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; then wait for the updates in hand."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        pause = RETRY_FIRST
        while not stop.is_set():
            busy = bool(self.in_flight)
            try:
                updates = await bot.get_updates(
                    offset=self.offset(),
                    timeout=0 if busy else POLL_TIMEOUT,
                    allowed_updates=Update.ALL_TYPES,
                )
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await _sleep(stop, float(exc.retry_after if isinstance(exc.retry_after, int)
                                         else exc.retry_after.total_seconds()))
                continue
            except TimedOut:
                continue  # the long poll outlived the HTTP timeout: poll again
            except (Conflict, NetworkError) as exc:
                logger.warning("getUpdates failed (%s); retrying in %.0f s", exc, pause)
                await _sleep(stop, pause)
                pause = min(pause * 1.5, RETRY_CAP)
                continue
            pause = RETRY_FIRST
            for update in updates:
                self._take(update)
            if busy or self.in_flight:
                await _sleep(stop, BUSY_POLL)
        if self.in_flight:
            await asyncio.gather(*self.in_flight.values(), return_exceptions=True)

    def _take(self, update: Update) -> None:
        update_id = update.update_id
        if update_id in self.in_flight or (self.next_id is not None and update_id < self.next_id):
            return  # in hand already, or handled: Telegram sent it again
        self.next_id = update_id + 1
        task = asyncio.create_task(self._handle(update))
        self.in_flight[update_id] = task

    async def _handle(self, update: Update) -> None:
        try:
            await handle_once(self.application, self.ledger, update)
        except Exception:  # handlers' errors go to the error handler; this is the rest
            logger.exception("Update %s could not be handled", update.update_id)
        finally:
            self.in_flight.pop(update.update_id, None)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
