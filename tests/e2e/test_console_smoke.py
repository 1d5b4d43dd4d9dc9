"""One subprocess smoke test: `ims-bot chat --demo` answers a piped script and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_chat_demo_answers_a_piped_script(tmp_path: Path) -> None:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("IMS_BOT_")}
    # The demo never uses it, but settings are loaded first: keep them off the home dir.
    environ["IMS_BOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.sqlite3'}"

    completed = subprocess.run(
        [sys.executable, "-m", "ims_bot.cli", "chat", "--demo"],
        input="/start\nwhat is ims\n/quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert "> what is ims\nbot: What is IMS" in completed.stdout
    assert "Namaste" in completed.stdout
