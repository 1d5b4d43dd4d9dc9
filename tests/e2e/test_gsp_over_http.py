"""Portal sync in chat, black-box: the real `ims-bot run` process talks HTTP to the stand-in
Bot API and to the stand-in GSP provider, configured only through its environment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from ims_bot.db import Database
from ims_bot.domain import Action
from ims_bot.models import GspPlatformToken, GspSession, Record
from ims_bot.records import RecordService
from tests.e2e.conftest import BotProcess, make_bot
from tests.e2e.gsp_server import GspServer
from tests.e2e.telegram_server import TelegramServer
from tests.factories import RECIPIENT, SUPPLIER_A, invoice, note

pytestmark = pytest.mark.slow
USER = 4_440_001
SECRET_KEY = "e2e operator secret key"


@pytest.fixture(scope="module")
def gsp() -> Iterator[GspServer]:
    server = GspServer().start()
    server.add_records(RECIPIENT, "b2b", [invoice("INV-1"), invoice("INV-2")])
    server.add_records(RECIPIENT, "b2bcn", [note("CN-1")])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gsp_bot(
    telegram: TelegramServer, gsp: GspServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    process = make_bot(
        telegram, tmp_path_factory.mktemp("gsp-bot"), IMS_BOT_GSP_URL=gsp.url,
        IMS_BOT_GSP_API_KEY=gsp.api_key, IMS_BOT_GSP_API_SECRET=gsp.api_secret,
        IMS_BOT_SECRET_KEY=SECRET_KEY, IMS_BOT_LOG_LEVEL="DEBUG",
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def say(telegram: TelegramServer, text: str, words: str) -> str:
    since = telegram.mark()
    telegram.user_sends(USER, text)
    message = await telegram.wait_for_message(
        USER, lambda m: words in m.plain_text, since=since, timeout=30)
    return message.plain_text


async def test_connect_sync_upload_in_chat_over_http(
    telegram: TelegramServer, gsp: GspServer, gsp_bot: BotProcess
) -> None:
    await say(telegram, f"/link {RECIPIENT}", RECIPIENT)
    await say(telegram, "/connect", "username")
    await say(telegram, "acme_user", "OTP")
    since = telegram.mark()
    connected = await say(telegram, "575757", "connected")
    assert "6 hours" in connected
    await telegram.wait_for_call("deleteMessage", since=since)  # the OTP left the chat
    synced = await say(telegram, "/sync", "Synced")
    assert "3 record(s), 3 new" in synced
    assert len(gsp.calls_of("section")) == 8

    db = Database(gsp_bot.database_url)
    try:
        with db.read() as session:
            ids = {r.number: (r.taxpayer_id, r.id) for r in session.scalars(select(Record))}
            stored = [s.token_enc for s in session.scalars(select(GspSession))]
            stored += [t.token_enc for t in session.scalars(select(GspPlatformToken))]
        raw = Path(gsp_bot.database_url.removeprefix("sqlite:///")).read_bytes()
        records = RecordService(db, lambda: date(2025, 12, 16))
        for number in ("INV-1", "CN-1"):  # decided (as from another channel)
            records.act(*ids[number], Action.ACCEPT, actor="test", channel="cli")
    finally:
        db.dispose()
    assert stored and all(s not in gsp._sessions for s in stored)
    for secret in [*gsp._sessions, *gsp._platform, "575757", SECRET_KEY]:
        assert secret.encode() not in raw
        assert secret not in gsp_bot.log(tail=100000)  # DEBUG logs: still redacted

    gsp.supplier_changed(RECIPIENT, "b2bcn", SUPPLIER_A, "CN-1")
    assert "2 decision(s)" in await say(telegram, "/upload", "/upload yes")
    outcome = await say(telegram, "/upload yes", "Saved on the GST portal")
    assert "Saved on the GST portal: 1; refused: 1" in outcome and "IMSSAV0010" in outcome
    assert "Nothing to upload" in await say(telegram, "/upload", "upload")
    assert "regenerated" in await say(telegram, "/regenerate 112025", "GSTR-2B")
    gsp.expire_sessions()
    assert "connect again" in await say(telegram, "/sync", "connect again")
    assert "Disconnected" in await say(telegram, "/disconnect", "Disconnected")
    assert not gsp_bot.errors_logged()
