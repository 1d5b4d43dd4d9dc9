"""The error handler logs, apologises to the user and reports to the admin chat."""

from __future__ import annotations

import logging

import pytest

from faq.matcher import MatchResult
from handlers import texts
from ims_bot.offline import html_problem
from tests.botkit import ADMIN_CHAT, USER, bot_harness, make_core, make_settings


class ExplodingMatcher:
    """A matcher that fails loudly, with text that would break naive HTML."""

    def match(self, query: str) -> MatchResult:
        raise RuntimeError("<boom> & </pre> " * 2000)


async def test_error_is_logged_and_the_user_gets_an_apology(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with bot_harness(make_core(matcher=ExplodingMatcher())) as bot:
        with caplog.at_level(logging.ERROR, logger="ims_bot.errors"):
            calls = await bot.text(USER, "anything")
        assert [(c.method, c.chat_id, c.text) for c in calls] == [
            ("sendMessage", USER, texts.ERROR_APOLOGY)
        ]
    [record] = [r for r in caplog.records if r.name == "ims_bot.errors"]
    # The traceback is logged: live, or already rendered (and redacted) by the log filter
    # that keeps secrets out of logs once the CLI has installed it.
    traceback_text = record.exc_text or (
        logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    )
    assert "Traceback" in traceback_text and "RuntimeError" in traceback_text


async def test_admin_chat_gets_an_escaped_report_that_fits() -> None:
    settings = make_settings(admin_chat_id=ADMIN_CHAT)
    core = make_core(settings, matcher=ExplodingMatcher())
    async with bot_harness(core) as bot:
        calls = await bot.text(USER, "<script> & friends")
        report = next(c for c in calls if c.chat_id == ADMIN_CHAT)
        assert report.error is None
        assert report.text is not None and len(report.text) < 4096
        assert html_problem(report.text) is None
        assert "RuntimeError" in report.text


async def test_failing_apology_does_not_stop_the_report() -> None:
    settings = make_settings(admin_chat_id=ADMIN_CHAT)
    core = make_core(settings, matcher=ExplodingMatcher())
    async with bot_harness(core) as bot:
        # A group chat: the free-text handler ignores it, so trigger via a broken core instead.
        calls = await bot.text(USER, "x")
        assert {c.chat_id for c in calls} == {USER, ADMIN_CHAT}


async def test_database_outage_says_try_again_and_raises_no_alarm(sqlite_db) -> None:
    """The database stops answering after start-up: the user is told to retry, the admin
    chat gets no bug report (it is an outage, logged as a warning)."""
    from sqlalchemy import create_engine

    settings = make_settings(admin_chat_id=ADMIN_CHAT)
    core = make_core(settings, db=sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", "27AAPFU0939F1ZV")
        down = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
        for factory in (sqlite_db.session_factory, sqlite_db._read_factory):
            factory.configure(bind=down)
        calls = await bot.command(USER, "pending")
    assert [(c.chat_id, c.text) for c in calls if c.method == "sendMessage"] == [
        (USER, texts.DATABASE_UNAVAILABLE)
    ]
