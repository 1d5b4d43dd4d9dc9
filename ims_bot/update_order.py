"""Updates of different users run concurrently; one user's updates run in arrival order.

python-telegram-bot handles one update at a time unless told otherwise, so one user's slow
import or query used to delay every other user. Its concurrent mode alone would also let a
user's second tap overtake the first; this processor keeps each user's updates in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

#: How many updates may be in progress at once, across all users.
MAX_CONCURRENT_UPDATES = 256


def _key(update: object) -> int | None:
    """Whose update this is: the user, else the chat; None for updates of nobody."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential (FIFO) per user."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:  # asyncio.Lock wakes its waiters first come, first served
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody else queued for this user: forget the lock
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
