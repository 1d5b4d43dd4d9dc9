"""Updates of different users run concurrently; one user's updates stay in order."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from ims_bot.update_order import PerUserUpdateProcessor


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "u", is_bot=False)
    chat = Chat(user_id, Chat.PRIVATE)
    message = Message(update_id, None, chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_users_updates_run_in_order_while_another_user_is_not_kept_waiting() -> None:
    processor = PerUserUpdateProcessor(16)
    log: list[str] = []
    slow_started = asyncio.Event()

    async def handle(name: str, delay: float, started: asyncio.Event | None = None) -> None:
        if started is not None:
            started.set()
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        log.append(f"end {name}")

    async with processor:
        first = asyncio.create_task(
            processor.process_update(_update(1, 7), handle("a1", 0.2, slow_started))
        )
        await slow_started.wait()
        second = asyncio.create_task(processor.process_update(_update(2, 7), handle("a2", 0)))
        other = asyncio.create_task(processor.process_update(_update(3, 8), handle("b1", 0)))
        await other
        # User 8 finished while user 7's slow update still ran ...
        assert log == ["start a1", "start b1", "end b1"]
        await asyncio.gather(first, second)
    # ... and user 7's second update waited for the first.
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert processor._locks == {}  # nothing kept for users with nothing queued
