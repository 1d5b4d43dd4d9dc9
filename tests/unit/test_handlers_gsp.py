"""Portal sync in chat, on the offline Bot API against the stand-in provider: /connect
(username, then the OTP, which is deleted from the chat), /sync with progress in one
message, /upload preview then send with per-record outcomes, /regenerate, /disconnect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from ims_bot.app import Core
from ims_bot.db import Database
from ims_bot.domain import Action, Status
from tests.botkit import USER, bot_harness, make_core, make_settings
from tests.e2e.gsp_server import GspServer
from tests.factories import RECIPIENT, SUPPLIER_A, invoice, note

SECRET = "operator secret for the chat tests"


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ims_bot.gsp.sandbox.BACKOFF", (0.01,))
    monkeypatch.setattr("ims_bot.gsp.service.POLL", (0.01,))


@pytest.fixture
def server() -> Iterator[GspServer]:
    gsp = GspServer().start()
    gsp.add_records(RECIPIENT, "b2b", [invoice("INV-1"), invoice("INV-2")])
    gsp.add_records(RECIPIENT, "b2bcn", [note("CN-1")])
    try:
        yield gsp
    finally:
        gsp.stop()


def core_for(db: Database, server: GspServer, secret: str | None = SECRET) -> Core:
    return make_core(make_settings(
        today_override=date(2025, 12, 16), gsp_url=server.url, gsp_api_key=server.api_key,
        gsp_api_secret=server.api_secret, secret_key=secret,
    ), db=db)


def texts_of(calls: list) -> list[str]:
    return [c.text or "" for c in calls if c.method in ("sendMessage", "editMessageText")]


async def test_connect_sync_upload_regenerate_disconnect_in_chat(
    sqlite_db: Database, server: GspServer
) -> None:
    core = core_for(sqlite_db, server)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        asked = texts_of(await bot.command(USER, "connect"))[-1]
        assert "Manage API Access" in asked and "username" in asked
        sent = texts_of(await bot.text(USER, "acme_user"))[-1]
        assert "OTP" in sent and server.calls_of("otp")
        calls = await bot.text(USER, "575757")
        assert [c for c in calls if c.method == "deleteMessage"]  # the OTP leaves the chat
        assert "connected" in texts_of(calls)[-1] and "6 hours" in texts_of(calls)[-1]
        assert not any("575757" in t for t in texts_of(calls))

        calls = await bot.command(USER, "sync")
        shown = texts_of(calls)
        assert "Fetching" in shown[0] and "Synced" in shown[-1]
        assert len([c for c in calls if c.method == "sendMessage"]) == 1  # one message
        assert core.access is not None and core.records is not None
        ws = core.access.active(USER)
        ids = {r.number: r.id for r in core.records.iter_all(ws.id)}
        for number in ("INV-1", "INV-2"):
            core.records.act(ws.id, ids[number], Action.ACCEPT, actor="t", channel="cli")
        server.supplier_changed(RECIPIENT, "b2b", SUPPLIER_A, "INV-2")

        preview = texts_of(await bot.command(USER, "upload"))[-1]
        assert "2 decision(s)" in preview and "/upload yes" in preview
        assert not server.calls_of("save")
        outcome = texts_of(await bot.command(USER, "upload", "yes"))[-1]
        assert "Saved on the GST portal: 1; refused: 1" in outcome and "IMSSAV0010" in outcome
        statuses = {r.number: r.status for r in core.records.iter_all(ws.id)}
        assert statuses["INV-2"] is Status.NO_ACTION

        assert "regenerated" in texts_of(await bot.command(USER, "regenerate", "112025"))[-1]
        server.regenerate_error("102025", "IMS2B007", "GSTR-3B filed")
        refused = texts_of(await bot.command(USER, "regenerate", "102025"))[-1]
        assert "IMS2B007" in refused and "already filed" in refused

        assert "Disconnected" in texts_of(await bot.command(USER, "disconnect"))[-1]
        assert "not connected" in texts_of(await bot.command(USER, "sync"))[-1]


async def test_a_wrong_otp_may_be_typed_again(sqlite_db: Database, server: GspServer) -> None:
    async with bot_harness(core_for(sqlite_db, server)) as bot:
        await bot.command(USER, "link", RECIPIENT)
        await bot.command(USER, "connect")
        await bot.text(USER, "acme_user")
        assert "Invalid OTP" in texts_of(await bot.text(USER, "111111"))[-1]
        assert "connected" in texts_of(await bot.text(USER, "575757"))[-1]


async def test_without_the_secret_key_connect_says_why(
    sqlite_db: Database, server: GspServer
) -> None:
    async with bot_harness(core_for(sqlite_db, server, secret=None)) as bot:
        await bot.command(USER, "link", RECIPIENT)
        text = texts_of(await bot.command(USER, "connect"))[-1]
        assert "IMS_BOT_SECRET_KEY is not set" in text
        # Typed text is then an FAQ question, not a username.
        await bot.text(USER, "acme_user")
        assert not server.calls_of("otp")


async def test_connect_is_for_the_private_chat_only(
    sqlite_db: Database, server: GspServer
) -> None:
    async with bot_harness(core_for(sqlite_db, server)) as bot:
        update = bot.api.command_update(USER, "connect", "", chat_id=-100123)
        text = texts_of(await bot.feed(update))[-1]
        assert "private" in text.lower()
