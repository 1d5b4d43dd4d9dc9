"""The app owns its resources: FAQ loaded and database migrated in post_init, disposed after."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from telegram.ext import CallbackContext

from handlers.context import core
from ims_bot.app import Core, build_application
from ims_bot.offline import OfflineBotApi
from tests.botkit import USER, make_settings


async def test_post_init_builds_the_core_and_post_shutdown_disposes_it(tmp_path: Path) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    api = OfflineBotApi()
    app = build_application(settings, request=api, rate_limiter=False)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    built = core(CallbackContext(app))
    assert isinstance(built, Core)
    assert built.settings is settings
    assert built.kb.entries and built.db is not None
    api.bind(app.bot)
    await app.process_update(api.command_update(USER, "faq"))
    assert api.calls_to("sendMessage")[-1].buttons()
    await app.shutdown()
    await app.post_shutdown(app)
    with sqlite3.connect(tmp_path / "bot.sqlite3") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
    assert "alembic_version" in tables
