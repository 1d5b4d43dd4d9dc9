"""The real `ims-bot run` / `ims-bot webhook` process: what it prints at start and at DEBUG.

Secrets never reach a log line, and a bot that cannot start says why in one line, with an
exit code a service manager can act on (1: fix the configuration, 4: Telegram unreachable).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, free_port, make_bot
from tests.e2e.telegram_server import TelegramServer
from tests.e2e.test_bot_over_http import Chat

TOKEN = "7012345678:AAE_pollingTestToken-0123456789abcdefXYZ"
REVOKED = "7012345678:AAE_revokedTestToken-9876543210zyxwvuTSR"
SECRET = "startup_Secret-0123456789"


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramServer]:
    server = TelegramServer(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


async def test_debug_logs_of_a_polling_bot_never_show_the_token(
    telegram: TelegramServer, tmp_path: Path
) -> None:
    bot = make_bot(telegram, tmp_path, IMS_BOT_TOKEN=TOKEN, IMS_BOT_LOG_LEVEL="DEBUG")
    bot.start()
    try:
        chat = Chat(telegram, 7_400_001)
        welcome = await chat.say("/start", timeout=30)
        answer = await chat.say("what is IMS?", timeout=30)
    finally:
        bot.stop()
    assert "IMS Bot" in welcome.plain_text and "Invoice Management" in answer.plain_text
    text = bot.log_path.read_text(errors="replace")
    assert "DEBUG" in text and "getUpdates" in text  # it did log every call, at DEBUG
    assert TOKEN not in text
    assert TOKEN.split(":", 1)[1] not in text
    # httpx's request lines (each one a URL with the token in it) stay out even at DEBUG.
    assert "HTTP Request:" not in text


def start_failure(command: str, tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_BOT_")}
    env.update(
        IMS_BOT_DATABASE_URL=f"sqlite:///{tmp_path / 'ims.sqlite3'}",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        **environ,
    )
    args = ["run"] if command == "run" else [
        "webhook", "--url", "https://bot.example.in/telegram", "--listen", "127.0.0.1",
        "--port", str(free_port()), "--secret", SECRET,
    ]
    return subprocess.run([sys.executable, "-m", "ims_bot.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/bot"


@pytest.mark.parametrize("command", ["run", "webhook"])
@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("rejected", 1, "rejected the token"),
        ("unreachable", 4, "cannot reach the Bot API"),
        ("not-a-url", 1, "IMS_BOT_API_URL"),
    ],
)
def test_a_bot_that_cannot_start_says_why_in_one_line(
    telegram: TelegramServer, tmp_path: Path, command: str, case: str, code: int, words: str
) -> None:
    api_url = {"rejected": telegram.api_url, "unreachable": closed_port_url(),
               "not-a-url": "not a url"}[case]
    result = start_failure(command, tmp_path, IMS_BOT_TOKEN=REVOKED, IMS_BOT_API_URL=api_url)

    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ims-bot: "), output
    assert words in lines[0]
    assert "Traceback" not in output
    assert REVOKED not in output and REVOKED.split(":", 1)[1] not in output
    assert SECRET not in output


def test_a_rejected_token_is_not_printed_even_at_debug(
    telegram: TelegramServer, tmp_path: Path
) -> None:
    result = start_failure("run", tmp_path, IMS_BOT_TOKEN=REVOKED, IMS_BOT_LOG_LEVEL="DEBUG",
                           IMS_BOT_API_URL=telegram.api_url)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "DEBUG" in output
    assert result.stderr.splitlines()[-1].startswith("ims-bot: Telegram rejected the token")
    assert REVOKED not in output and REVOKED.split(":", 1)[1] not in output
