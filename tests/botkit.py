"""Reusable test kit for handler tests: the real app on the offline Bot API.

    async with bot_harness() as bot:
        calls = await bot.command(USER, "faq")
        calls = await bot.press(USER, calls[-1].message_id, "Basics")

`bot_harness` builds the application with `ims_bot.app.build_application` (the same wiring
as production), runs its real `post_init`, and yields a `BotHarness`, which unpacks as
`(app, api)` and has helpers that feed one update and return the Bot API calls it caused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from telegram import Update
from telegram.ext import Application

from faq.kb import FaqEntry, KnowledgeBase, load_knowledge_base
from faq.matcher import Decision, Matcher, MatchResult
from ims_bot.app import Core, build_application
from ims_bot.offline import ApiCall, OfflineBotApi
from ims_bot.settings import Settings

USER = 5_550_001
OTHER_USER = 5_550_002
ADMIN_CHAT = -1_009_990


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: in-memory database, fixed date, no real token."""
    values: dict[str, Any] = {
        "database_url": "sqlite:///:memory:",
        "token": None,
        "today_override": date(2025, 11, 10),
    }
    values.update(overrides)
    return Settings(**values)


@cache
def real_kb() -> KnowledgeBase:
    """The shipped knowledge base, read once per test session."""
    return load_knowledge_base()


def make_core(
    settings: Settings | None = None,
    *,
    kb: KnowledgeBase | None = None,
    matcher: Any = None,
    db: Any = None,
) -> Core:
    """A Core over the real KB; pass `matcher=FixedMatcher(...)` to fix the decision."""
    kb = kb or real_kb()
    return Core(
        settings=settings or make_settings(),
        kb=kb,
        matcher=matcher or Matcher(kb),
        db=db,
    )


@dataclass
class FixedMatcher:
    """A fake matcher that always decides the same way, and remembers the queries."""

    decision: Decision
    entry: FaqEntry | None = None
    suggestions: tuple[FaqEntry, ...] = ()
    queries: list[str] = field(default_factory=list)

    def match(self, query: str) -> MatchResult:
        self.queries.append(query)
        return MatchResult(query, self.decision, self.entry, 90.0, self.suggestions)


@dataclass
class BotHarness:
    """The running app and its offline API, plus one-update-at-a-time helpers."""

    app: Application[Any, Any, Any, Any, Any, Any]
    api: OfflineBotApi

    def __iter__(self) -> Iterator[Any]:
        return iter((self.app, self.api))

    async def feed(self, update: Update) -> list[ApiCall]:
        """Process `update` fully; the Bot API calls it caused, in order."""
        start = len(self.api.calls)
        await self.app.process_update(update)
        return self.api.calls[start:]

    async def text(self, user_id: int, text: str) -> list[ApiCall]:
        return await self.feed(self.api.text_update(user_id, text))

    async def command(self, user_id: int, name: str, args: str = "") -> list[ApiCall]:
        return await self.feed(self.api.command_update(user_id, name, args))

    async def press(self, user_id: int, message_id: int, label: str) -> list[ApiCall]:
        return await self.feed(self.api.press_update(user_id, message_id, label))

    async def callback(self, user_id: int, message_id: int, data: str) -> list[ApiCall]:
        return await self.feed(self.api.callback_update(user_id, message_id, data))

    async def document(
        self, user_id: int, file_name: str, content: bytes, mime_type: str
    ) -> list[ApiCall]:
        """Upload a file; the bot can fetch it with getFile + download."""
        return await self.feed(self.api.document_update(user_id, file_name, content, mime_type))

    def last_message_id(self, chat_id: int) -> int:
        return self.api.last_message(chat_id).message_id


@asynccontextmanager
async def bot_harness(
    core: Core | None = None, *, settings: Settings | None = None
) -> AsyncIterator[BotHarness]:
    """The production app on an `OfflineBotApi`, initialized; calls from start-up cleared."""
    core = core or make_core(settings)
    api = OfflineBotApi()
    app = build_application(core.settings, request=api, core=core, rate_limiter=False)
    await app.initialize()
    # post_init is normally run by run_polling/run_webhook; run it as they would.
    if app.post_init is not None:
        await app.post_init(app)
    api.bind(app.bot)
    api.clear()
    try:
        yield BotHarness(app, api)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def sent_texts(calls: list[ApiCall]) -> list[str]:
    """The texts of messages sent or edited in `calls`."""
    methods = {"sendmessage", "editmessagetext"}
    return [c.text or "" for c in calls if c.method.lower() in methods]


def only(calls: list[ApiCall], method: str) -> ApiCall:
    """The single call of `method` in `calls` (fails if none or several)."""
    matching = [c for c in calls if c.method == method]
    assert len(matching) == 1, f"expected one {method}, got {[c.method for c in calls]}"
    return matching[0]
