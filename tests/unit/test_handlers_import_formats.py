"""Portal files as they arrive, sent to the bot: envelopes, what is left out, warnings, and
refusals (a provider's error, another taxpayer's file, a file with many problems).

Offline Bot API, real SQLite database; the fixtures are tests/fixtures/portal/.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ims_bot.app import Core
from ims_bot.db import Database
from ims_bot.offline import ApiCall, html_problem
from tests.botkit import USER, BotHarness, bot_harness, make_core, make_settings
from tests.factories import RECIPIENT, invoice, portal_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "portal"


def core_for(db: Database) -> Core:
    return make_core(make_settings(today_override=date(2025, 12, 16)), db=db)


async def send(bot: BotHarness, data: bytes) -> ApiCall:
    """Send a document; the bot's last message (the summary or the refusal)."""
    calls = await bot.document(USER, "ims.json", data, "application/json")
    assert [c.error for c in calls if c.error] == []
    final = [c for c in calls if c.method in ("sendMessage", "editMessageText")][-1]
    if final.params.get("parse_mode"):
        assert html_problem(final.text or "") is None, final.text
    assert len(final.text or "") <= 4096
    return final


def total(core: Core) -> int:
    assert core.access is not None and core.records is not None
    return core.records.list(core.access.active(USER).id).total


async def test_a_merged_file_names_what_is_left_out_and_warns_of_bad_gstins(
    sqlite_db: Database,
) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        merged = await send(bot, (FIXTURES / "merged_all_sections.json").read_bytes())
        assert "Imported 14 record(s)" in merged.text
        assert "Not handled by IMS Bot (left out): isd 3, isdcn 1 record(s)" in merged.text
        bad = await send(bot, (FIXTURES / "sandbox_b2bdn_bad_check.json").read_bytes())
        assert "wrong check character" in bad.text and "24AAHCP7788Q1ZA" in bad.text
        assert total(core) == 15


async def test_a_providers_error_response_is_refused_with_its_code(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        reply = await send(bot, (FIXTURES / "sandbox_error.json").read_bytes())
        assert "RET13510" in reply.text and "No invoices found" in reply.text
        assert total(core) == 0


async def test_another_taxpayers_file_is_refused_naming_both(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        reply = await send(bot, (FIXTURES / "sandbox_other_taxpayer.json").read_bytes())
        assert "29AAACB5343E1ZX" in reply.text and RECIPIENT in reply.text
        assert total(core) == 0


async def test_a_file_with_hundreds_of_problems_fits_one_message(sqlite_db: Database) -> None:
    core = core_for(sqlite_db)
    async with bot_harness(core) as bot:
        await bot.command(USER, "link", RECIPIENT)
        rows = [invoice(f"INV-{i}", camt=-1, samt="x") for i in range(150)]
        reply = await send(bot, portal_file(b2b=rows))
        assert "300 problem(s):" in reply.text and "b2b #1, field &#x27;camt&#x27;" in reply.text
        assert reply.text.splitlines()[-1].startswith("… and ")
        assert reply.text.endswith(" more problem(s)")
        assert total(core) == 0
