"""The console drives the real application: a script in, a readable transcript out."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import CommandHandler

from ims_bot.access import AccessService
from ims_bot.app import handler_table
from ims_bot.console import CONSOLE_USER_ID, Transcript, run_console, seed_demo
from ims_bot.db import Database
from ims_bot.demo import DEMO_GSTIN, DEMO_TODAY, SUPPLIERS
from ims_bot.offline import OFFLINE_TOKEN, OfflineBotApi
from ims_bot.settings import Settings


def settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": f"sqlite:///{tmp_path / 'configured.sqlite3'}"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def chat(tmp_path: Path, *lines: str, demo: bool = True, **overrides: object) -> str:
    out = io.StringIO()
    code = await run_console(
        settings(tmp_path, **overrides),
        demo=demo,
        stdin=io.StringIO("".join(line + "\n" for line in lines)),
        stdout=out,
        output_dir=tmp_path / "out",
    )
    assert code == 0
    return out.getvalue()


def command_registered(name: str) -> bool:
    return any(
        isinstance(handler, CommandHandler) and name in handler.commands
        for handler, _ in handler_table()
    )


async def test_demo_script_prints_banner_welcome_and_an_faq_answer(tmp_path: Path) -> None:
    out = await chat(tmp_path, "/start", "what is ims", "/help", "/quit")

    assert "offline demo" in out
    assert DEMO_GSTIN in out
    assert "16 Dec 2025" in out
    assert "> /start\nbot: Namaste! I am IMS Bot." in out
    assert "> what is ims\nbot: What is IMS (Invoice Management System)?" in out
    assert "Source:" in out
    assert "> /help\nbot: How to use IMS Bot" in out


async def test_buttons_are_numbered_and_a_number_presses_one(tmp_path: Path) -> None:
    out = await chat(tmp_path, "/faq", "1")

    faq_reply = out.split("> /faq\n", 1)[1].split("> 1\n", 1)[0]
    assert "[1] Basics" in faq_reply
    assert "[2] Actions" in faq_reply
    pressed = out.split("> 1\n", 1)[1]
    assert pressed.startswith("(pressed [1] Basics")
    assert "(updated message #" in pressed
    assert "Basics. Pick a question" in pressed


async def test_a_number_presses_the_latest_keyboard_shown(tmp_path: Path) -> None:
    out = await chat(tmp_path, "what is ims", "/faq", "2")

    # The FAQ answer had buttons too; "2" belongs to the topics list shown after it.
    assert "(pressed [2] Actions" in out


async def test_a_number_without_such_a_button_explains_instead_of_sending(
    tmp_path: Path,
) -> None:
    out = await chat(tmp_path, "/faq", "42")

    assert "(no button 42:" in out
    assert "/say TEXT" in out


async def test_a_number_with_no_buttons_on_screen_is_sent_as_text(tmp_path: Path) -> None:
    out = await chat(tmp_path, "/help", "7")

    after = out.split("> 7\n", 1)[1]
    assert not after.startswith("(pressed")
    assert after.startswith("bot: ")


async def test_script_input_is_echoed_without_prompts(tmp_path: Path) -> None:
    out = await chat(tmp_path, "/start")

    assert "> /start" in out
    assert "you> " not in out


async def test_quit_ends_the_session_before_later_lines(tmp_path: Path) -> None:
    out = await chat(tmp_path, "/quit", "/help")

    assert "> /quit" in out
    assert "How to use IMS Bot" not in out


async def test_send_uploads_a_file_and_reports_unreadable_ones(tmp_path: Path) -> None:
    upload = tmp_path / "ims-nov.json"
    upload.write_text('{"imsDetails": {}}', encoding="utf-8")

    out = await chat(tmp_path, f"/send {upload}", f"/send {tmp_path / 'missing.json'}")

    assert "(sending ims-nov.json, 18 bytes)" in out
    assert "(cannot read" in out


async def test_pending_lists_demo_records_once_registered(tmp_path: Path) -> None:
    if not command_registered("pending"):
        pytest.skip("/pending is not registered in ims_bot.app yet")

    out = await chat(tmp_path, "/pending")

    reply = out.split("> /pending\n", 1)[1]
    assert "I don't know that command" not in reply
    assert any(supplier.name in reply for supplier in SUPPLIERS) or "INV/" in reply


async def test_demo_uses_a_fixed_date_unless_one_is_configured(tmp_path: Path) -> None:
    out = await chat(tmp_path, today_override=date(2026, 1, 5))

    assert "today is 05 Jan 2026" in out


async def test_demo_database_is_thrown_away_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    await chat(tmp_path, "/start")

    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "configured.sqlite3").exists()


async def test_without_demo_the_configured_database_is_used(tmp_path: Path) -> None:
    out = await chat(tmp_path, "/start", demo=False)

    assert "configured.sqlite3" in out
    assert "Namaste" in out
    assert (tmp_path / "configured.sqlite3").exists()


def test_seed_demo_makes_the_demo_gstin_the_console_users_active_workspace(
    sqlite_db: Database, tmp_path: Path
) -> None:
    demo_settings = settings(tmp_path, today_override=DEMO_TODAY)

    workspace, report = seed_demo(sqlite_db, demo_settings)

    active = AccessService(sqlite_db, demo_settings.now).active(CONSOLE_USER_ID)
    assert (active.id, active.gstin) == (workspace.id, DEMO_GSTIN)
    assert report.total > 0


async def test_files_the_bot_sends_are_saved_and_their_path_printed(tmp_path: Path) -> None:
    api = OfflineBotApi()
    bot = Bot(OFFLINE_TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    out = io.StringIO()
    transcript = Transcript(api, out, CONSOLE_USER_ID, tmp_path / "saved")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Reset file", callback_data="x:1")]])

    await bot.send_document(
        CONSOLE_USER_ID,
        b'{"saved": 1}',
        filename="save.json",
        caption="Upload this",
        reply_markup=keyboard,
    )
    await bot.send_document(CONSOLE_USER_ID, b'{"saved": 2}', filename="save.json")
    transcript.show(api.calls)
    await bot.shutdown()

    text = out.getvalue()
    first, second = tmp_path / "saved" / "save.json", tmp_path / "saved" / "save-2.json"
    assert first.read_bytes() == b'{"saved": 1}'
    assert second.read_bytes() == b'{"saved": 2}'
    assert f"saved to {first}" in text
    assert f"saved to {second}" in text
    assert "bot: Upload this" in text
    assert "[1] Reset file" in text
    assert transcript.keyboard is not None
