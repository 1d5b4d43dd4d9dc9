"""/start, /help, unknown commands and start-up wiring."""

from __future__ import annotations

import re

import pytest
from telegram.ext import CommandHandler

from handlers import texts
from ims_bot.app import build_application
from ims_bot.offline import OfflineBotApi, html_problem
from ims_bot.settings import SettingsError
from tests.botkit import USER, bot_harness, make_core, make_settings, only


def registered_commands(app: object) -> set[str]:
    return {
        command
        for group in app.handlers.values()  # type: ignore[attr-defined]
        for handler in group
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


def mentioned_commands(text: str | None) -> set[str]:
    return set(re.findall(r"(?<![<\w])/([a-z_]+)\b", text or ""))


async def test_start_welcomes_and_lists_only_commands_that_exist() -> None:
    async with bot_harness() as bot:
        calls = await bot.command(USER, "start")
        message = only(calls, "sendMessage")
        assert message.chat_id == USER
        assert "IMS" in message.text
        assert html_problem(message.text) is None
        mentioned = mentioned_commands(message.text)
        assert mentioned, "the welcome should name at least one command"
        assert mentioned <= registered_commands(bot.app)


async def test_help_explains_how_to_ask_and_lists_commands() -> None:
    async with bot_harness() as bot:
        message = only(await bot.command(USER, "help"), "sendMessage")
        for command in texts.COMMANDS:
            assert f"/{command.name}" in message.text
        assert mentioned_commands(message.text) <= registered_commands(bot.app)


async def test_every_listed_command_is_registered() -> None:
    async with bot_harness() as bot:
        assert {c.name for c in texts.COMMANDS} <= registered_commands(bot.app)


async def test_start_up_publishes_the_command_menu() -> None:
    core = make_core()
    api = OfflineBotApi()
    app = build_application(core.settings, request=api, core=core, rate_limiter=False)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.shutdown()
    [menu] = api.calls_to("setMyCommands")
    assert [c["command"] for c in menu.params["commands"]] == [c.name for c in texts.COMMANDS]


async def test_unknown_command_points_to_help() -> None:
    async with bot_harness() as bot:
        message = only(await bot.command(USER, "frobnicate"), "sendMessage")
        assert message.text == texts.UNKNOWN_COMMAND


async def test_app_works_with_the_rate_limiter_enabled() -> None:
    core = make_core()
    api = OfflineBotApi()
    app = build_application(core.settings, request=api, core=core)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    api.bind(app.bot)
    await app.process_update(api.command_update(USER, "help"))
    await app.shutdown()
    assert api.calls_to("sendMessage")


def test_a_token_is_required_without_a_request_stand_in() -> None:
    with pytest.raises(SettingsError, match="IMS_BOT_TOKEN"):
        build_application(make_settings(), core=make_core())


def test_build_application_does_not_start_anything() -> None:
    app = build_application(make_settings(token="123:abc"), core=make_core())
    assert not app.running
    assert app.bot.token == "123:abc"
