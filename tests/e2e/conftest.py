"""Fixtures for black-box tests: the stand-in Bot API server and the real `ims-bot run`.

The bot is a subprocess started exactly as in production (`python -m ims_bot.cli run`),
configured only through its environment; it talks HTTP to `TelegramServer` and keeps its data
in a SQLite file that the tests read back through the services (a second connection).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ims_bot.db import Database
from tests.e2e.telegram_server import TelegramServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123:TEST"
TODAY = "2025-12-16"  # the demo's date: Nov 2025 draft GSTR-2B out, GSTR-3B due 20 Dec
START_TIMEOUT = 60.0


@dataclass
class BotProcess:
    """One `ims-bot run` process against `server`; can be killed and started again.

    With `args` (e.g. `["webhook", ...]`) and `health_url` it runs that command instead, and
    is up once its health endpoint answers 200.
    """

    server: TelegramServer
    database_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    args: list[str] = field(default_factory=lambda: ["run"])
    health_url: str | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"bot-{self.starts}.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_BOT_")}
        env.update(
            IMS_BOT_TOKEN=TOKEN,
            IMS_BOT_API_URL=self.server.api_url,
            IMS_BOT_FILE_URL=self.server.file_url,
            IMS_BOT_DATABASE_URL=self.database_url,
            IMS_BOT_TODAY=TODAY,
            IMS_BOT_LOG_LEVEL="INFO",
            # Sweep often, so that a due reminder goes out within seconds.
            IMS_BOT_REMINDER_INTERVAL="2",
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Start the bot and return once it polls for updates (or answers its health check)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        polls = self.server.polls
        with self.log_path.open("wb") as log:
            # cwd: a scratch directory, so that no developer's .env is read.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ims_bot.cli", *self.args],
                cwd=self.workdir, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._up(polls):
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot did not poll within {START_TIMEOUT}s:\n{self.log()}")
            time.sleep(0.05)

    def _up(self, polls: int) -> bool:
        if self.health_url is None:
            return self.server.polls > polls
        try:
            with urllib.request.urlopen(self.health_url, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        """SIGINT, as Ctrl-C or a service manager would: PTB shuts down cleanly."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 20
        while self.process.poll() is None:
            # PTB waits for its long poll to end before it stops: end it now.
            self.server.release_polls()
            if time.monotonic() > deadline:
                self.kill()
                return None
            time.sleep(0.05)
        return self.process.returncode

    def log(self, tail: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-tail:])

    def errors_logged(self) -> list[str]:
        """Lines of every log of this bot that report an unhandled error."""
        found = []
        for number in range(1, self.starts + 1):
            path = self.workdir / f"bot-{number}.log"
            if path.exists():
                text = path.read_text(errors="replace")
                found += [line for line in text.splitlines()
                          if "Unhandled error" in line or "Traceback" in line]
        return found


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramServer]:
    server = TelegramServer(token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


def make_bot(server: TelegramServer, workdir: Path, **extra_env: str) -> BotProcess:
    url = f"sqlite:///{workdir / 'ims-bot.sqlite3'}"
    return BotProcess(server, url, workdir, dict(extra_env))


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (free when this returns)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def bot(
    telegram: TelegramServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    """One running bot for the whole module (start-up migrates the database: seconds)."""
    process = make_bot(telegram, tmp_path_factory.mktemp("bot"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def bot_db(bot: BotProcess) -> Iterator[Database]:
    """The bot's own database, opened by the test for reading back through the services."""
    db = Database(bot.database_url)
    try:
        yield db
    finally:
        db.dispose()


def pytest_collection_modifyitems(items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here and item.module.__name__.endswith(
            ("test_bot_over_http", "test_faults", "test_webhook", "test_startup",
             "test_access_over_http", "test_hostile_input")
        ):
            item.add_marker(pytest.mark.slow)
