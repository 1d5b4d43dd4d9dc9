"""`ims-bot webhook` over real HTTP: Telegram's side is played by the test.

The stand-in Bot API server holds the chat; the test takes the updates it queued and posts
them to the bot's webhook itself, as Telegram would, so that it sees every status code and
when it arrives. The bot runs at DEBUG with a realistic token: its logs must still show
neither the token nor the webhook secret.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BotProcess, free_port, make_bot
from tests.e2e.telegram_server import TelegramServer

TOKEN = "7012345678:AAE_webhookTestToken-0123456789abcdefXYZ"
SECRET = "wh_Secret-of-the-IMS-e2e-0123456789"
PATH = "/telegram"
MAX_BODY = 1024 * 1024  # what the bot promises to read at most (README, Deployment)


@dataclass
class Hook:
    bot: BotProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def post(
        self, update: Any, *, secret: str | None = SECRET, timeout: float = 30
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await client.post(self.url, content=body, headers=headers)


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramServer]:
    server = TelegramServer(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hook(telegram: TelegramServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hook]:
    port = free_port()
    bot = make_bot(telegram, tmp_path_factory.mktemp("webhook"), IMS_BOT_TOKEN=TOKEN,
                   IMS_BOT_LOG_LEVEL="DEBUG")
    bot.args = ["webhook", "--url", f"http://127.0.0.1:{port}{PATH}", "--listen", "127.0.0.1",
                "--port", str(port), "--secret", SECRET, "--max-connections", "10"]
    bot.health_url = f"http://127.0.0.1:{port}/healthz"
    bot.start()
    try:
        yield Hook(bot, port)
    finally:
        bot.stop()


def running(hook: Hook) -> Hook:
    if hook.bot.process is None or hook.bot.process.poll() is not None:
        hook.bot.start()
    return hook


def one_update(telegram: TelegramServer, user: int, text: str) -> tuple[int, dict[str, Any]]:
    """A message from `user` as Telegram would post it; (sequence mark, update)."""
    mark = telegram.user_sends(user, text)
    [update] = telegram.take_updates()
    return mark, update


def raw_request(port: int, head: str, body: bytes = b"", timeout: float = 5) -> tuple[str, bool]:
    """Send `head` and `body` on a fresh connection without finishing the declared body; the
    status line of the answer, and whether the server then closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        received = b""
        closed = False
        while b"\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            received += chunk
        status = received.split(b"\r\n", 1)[0].decode()
        if not closed:
            try:
                while sock.recv(65536):
                    pass
                closed = True
            except TimeoutError:
                closed = False
            except ConnectionResetError:
                closed = True
    return status, closed


def post_head(port: int, length: int, secret: str | None) -> str:
    lines = [f"POST {PATH} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Content-Type: application/json", f"Content-Length: {length}"]
    if secret is not None:
        lines.append(f"X-Telegram-Bot-Api-Secret-Token: {secret}")
    return "\r\n".join(lines) + "\r\n"


# ------------------------------------------------------------------------------ start-up


def test_start_up_sets_the_webhook_with_the_secret_and_every_update_type(
    telegram: TelegramServer, hook: Hook
) -> None:
    running(hook)
    call = telegram.calls_to("setWebhook")[-1]
    assert call.params["url"] == hook.url
    assert call.params["secret_token"] == SECRET
    assert int(call.params["max_connections"]) == 10
    assert "callback_query" in call.params["allowed_updates"]
    assert "message" in call.params["allowed_updates"]


async def test_health_endpoint_answers_200(hook: Hook) -> None:
    running(hook)
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"http://127.0.0.1:{hook.port}/healthz")
    assert response.status_code == 200


# ------------------------------------------------------------------------------ refusals


def test_a_wrong_secret_is_refused_before_a_huge_body_is_read(hook: Hook) -> None:
    running(hook)
    started = time.monotonic()
    # 100 MB announced, 1 KiB sent: the answer cannot wait for the rest.
    status, closed = raw_request(hook.port, post_head(hook.port, 100 * 1024 * 1024, "wrong"),
                                 b"{" * 1024)
    assert status.split()[1] == "403", status
    assert closed, "the server kept waiting for a body it refused"
    assert time.monotonic() - started < 5


def test_a_missing_secret_is_refused(hook: Hook) -> None:
    running(hook)
    status, _ = raw_request(hook.port, post_head(hook.port, 100 * 1024 * 1024, None), b"{")
    assert status.split()[1] == "403", status


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(hook: Hook) -> None:
    running(hook)
    started = time.monotonic()
    status, closed = raw_request(hook.port, post_head(hook.port, MAX_BODY + 1, SECRET), b"{")
    assert status.split()[1] == "413", status
    assert closed
    assert time.monotonic() - started < 5


def test_a_chunked_body_over_the_limit_is_refused_with_413(hook: Hook) -> None:
    running(hook)
    head = "\r\n".join([f"POST {PATH} HTTP/1.1", f"Host: 127.0.0.1:{hook.port}",
                        "Content-Type: application/json", "Transfer-Encoding: chunked",
                        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}"]) + "\r\n"
    piece = b" " * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(17))  # > 1 MiB
    status, _ = raw_request(hook.port, head, chunks)
    assert status.split()[1] == "413", status


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2, 3]", b'"an update"', b'{"hello": "world"}',
     b'{"update_id": "seven"}', b'{"update_id": 7, "message": "not a message"}',
     "{\"update_id\": 7, \"message\": {\"text\": \"\udcff\"}}".encode("utf-8", "surrogatepass")],
    ids=["bad-json", "array", "string", "no-update-id", "text-id", "bad-message", "bad-utf8"],
)
async def test_a_body_that_is_not_an_update_gets_400(hook: Hook, body: bytes) -> None:
    running(hook)
    response = await hook.post(body)
    assert response.status_code == 400


# ------------------------------------------------------------------------------ updates


async def test_200_arrives_only_after_the_update_was_handled(
    telegram: TelegramServer, hook: Hook
) -> None:
    running(hook)
    user = 7_300_001
    mark, update = one_update(telegram, user, "/start")
    telegram.fail("sendMessage", "slow", times=1, delay=1.5)
    response = await hook.post(update)
    assert response.status_code == 200
    # The reply was on the server before Telegram was told the update was taken.
    replies = telegram.bot_messages(user, since=mark)
    assert any("IMS Bot" in m.plain_text for m in replies), [m.plain_text for m in replies]


async def test_an_update_delivered_twice_is_handled_once(
    telegram: TelegramServer, hook: Hook
) -> None:
    running(hook)
    user = 7_300_002
    mark, update = one_update(telegram, user, "what is IMS?")
    first = await hook.post(update)
    again = await hook.post(update)  # Telegram retries when it missed the 200
    await asyncio.sleep(1)
    assert (first.status_code, again.status_code) == (200, 200)
    sent = [c for c in telegram.calls_to("sendMessage", since=mark)
            if int(c.params["chat_id"]) == user]
    assert len(sent) == 1, [c.text for c in sent]


async def test_a_replica_killed_while_handling_never_acknowledges_the_update(
    telegram: TelegramServer, hook: Hook
) -> None:
    running(hook)
    user = 7_300_003
    mark, update = one_update(telegram, user, "/start")
    before = telegram.arrivals("sendMessage")
    telegram.fail("sendMessage", "slow", times=1, delay=5)
    delivery = asyncio.create_task(hook.post(update))
    deadline = time.monotonic() + 20
    while telegram.arrivals("sendMessage") == before:  # the handler is sending its reply
        assert time.monotonic() < deadline and not delivery.done(), "no reply was attempted"
        await asyncio.sleep(0.01)
    assert not delivery.done(), "the update was acknowledged before it was handled"
    hook.bot.kill()
    with pytest.raises(httpx.TransportError):
        await delivery  # no 200: Telegram keeps the update and sends it again
    telegram.clear_faults()

    hook.bot.start()  # a replica (here: the same one, restarted) gets the retry
    retried = await hook.post(update)
    assert retried.status_code == 200
    replies = telegram.bot_messages(user, since=mark)
    assert any("IMS Bot" in m.plain_text for m in replies)


async def test_a_replica_stopped_while_handling_finishes_the_update_first(
    telegram: TelegramServer, hook: Hook
) -> None:
    running(hook)
    user = 7_300_004
    mark, update = one_update(telegram, user, "/start")
    before = telegram.arrivals("sendMessage")
    telegram.fail("sendMessage", "slow", times=1, delay=2)
    delivery = asyncio.create_task(hook.post(update))
    while telegram.arrivals("sendMessage") == before:
        await asyncio.sleep(0.01)
    assert hook.bot.process is not None
    hook.bot.process.send_signal(signal.SIGTERM)  # a deploy, or systemd stopping the unit
    response = await delivery
    assert response.status_code == 200
    assert any("IMS Bot" in m.plain_text for m in telegram.bot_messages(user, since=mark))
    assert await asyncio.to_thread(hook.bot.process.wait, 20) == 0


# ------------------------------------------------------------------------------ logs (last)


def test_the_logs_never_show_the_token_or_the_secret(hook: Hook) -> None:
    running(hook)
    logs = [Path(hook.bot.workdir / f"bot-{n}.log").read_text(errors="replace")
            for n in range(1, hook.bot.starts + 1)]
    text = "\n".join(logs)
    assert "DEBUG" in text  # the bot did log at DEBUG
    assert TOKEN not in text
    assert TOKEN.split(":", 1)[1] not in text
    assert SECRET not in text
