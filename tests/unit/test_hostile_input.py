"""Issue 11, in-process: amounts beyond what rupees columns hold, odd dates, huge page numbers,
bytes that are not UTF-8 and files without end are refused with one clear line (CLI) or a
clear message (console), never a traceback; outgoing texts are fitted to Telegram's limits.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers import callbackdata as cd
from handlers import texts
from handlers.replies import View, fitted
from handlers.screens import MAX_UPLOAD
from ims_bot.cli import Env, ExitCode, main
from ims_bot.domain import MAX_AMOUNT, Reduction, parse_amount
from ims_bot.offline import html_problem
from ims_bot.portal import MAX_AMOUNT as PORTAL_MAX_AMOUNT
from ims_bot.telegram_text import fit_html, fit_label, fit_plain
from tests.factories import RECIPIENT, invoice, note, portal_file


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(tmp_path: Path):
    environ = {"IMS_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
               "IMS_BOT_TODAY": "2025-12-16"}
    path = tmp_path / "ims.json"
    path.write_bytes(portal_file(b2b=[invoice("INV-1")], b2bcn=[note("CN-1")]))

    def run(*args: str, stdin: io.TextIOBase | None = None, **env: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=Env(environ={**environ, **env},
                                        stdin=stdin or io.StringIO(""), stdout=out, stderr=err))
        return Result(code, out.getvalue(), err.getvalue())

    assert run("import", str(path), "--gstin", RECIPIENT).code == ExitCode.OK
    return run


def one_line(result: Result, code: ExitCode) -> str:
    assert result.code == code, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ims-bot: "), result.stderr
    return lines[0]


def record_id(cli, number: str) -> str:
    records = json.loads(cli("records", "--gstin", RECIPIENT, "--json").stdout)
    return str(next(r["id"] for r in records if r["number"] == number))


# ------------------------------------------------------------------------------ amounts


def test_one_bound_for_every_amount_is_what_the_store_holds() -> None:
    assert MAX_AMOUNT == PORTAL_MAX_AMOUNT == Decimal("999999999999.99")
    assert parse_amount("999999999999.99") == MAX_AMOUNT
    assert parse_amount(" 1e3 ") == Decimal(1000) and str(parse_amount("1e3")) == "1000"
    assert str(parse_amount("-0")) == "0" and parse_amount("") == 0
    for bad in ("1e27", "1e400", "1000000000000", "0.001", "-1", "NaN", "sNaN", "inf", "1e-999",
                "12 34", "₹5"):
        with pytest.raises(ValueError, match=r"999,999,999,999\.99"):
            parse_amount(bad)


@pytest.mark.parametrize("typed", ["1e27,0,0,0", "0,0,0,1e400", "0,0.001,0,0",
                                   "0,1000000000000,0,0", "sNaN,0,0,0", "x,0,0,0"])
def test_a_partial_reduction_beyond_rupees_is_refused_when_parsed(typed: str) -> None:
    with pytest.raises(ValueError, match=r"999,999,999,999\.99") as refused:
        Reduction.parse(typed)
    assert typed in str(refused.value)


def test_a_long_reduction_is_quoted_short() -> None:
    with pytest.raises(ValueError) as refused:
        Reduction.parse("9" * 5000 + ",0,0,0")
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize("arg", ["9" * 30, "1000000000000", "²", "١٢", "-5", "1e3", ""])
def test_a_forged_bulk_amount_is_refused_when_parsed(arg: str) -> None:
    for kind in ("ask", "do"):
        with pytest.raises(cd.InvalidCallbackData):
            cd.parse(f"bulk:{kind}:1:under:{arg}")
    with pytest.raises(ValueError):
        cd.BulkApply(1, "under", arg).pack()


def test_the_bulk_amounts_offered_still_pack_and_parse() -> None:
    for data in (cd.BulkApply(1, "under", "50000"), cd.BulkPreviewData(1, "all", "0"),
                 cd.BulkApply(1, "under", "999999999999")):
        assert cd.parse(data.pack()) == data


@pytest.mark.parametrize("reduce", ["1e400,0,0,0", "1e27,0,0,0", "0,0,0.001,0"])
def test_cli_act_with_a_huge_reduction_is_one_clear_line(cli, reduce: str) -> None:
    line = one_line(cli("act", "--gstin", RECIPIENT, record_id(cli, "CN-1"), "accept",
                        "--reduce", reduce), ExitCode.USAGE)
    assert "999,999,999,999.99" in line


@pytest.mark.parametrize("flag", ["--min-value", "--max-value"])
def test_cli_amount_filters_beyond_rupees_are_refused(cli, flag: str) -> None:
    result = cli("records", "--gstin", RECIPIENT, flag, "1e400")
    assert result.code == ExitCode.USAGE and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("today", ["0001-01-01", "9999-12-31", "2017-06-30", "2100-01-01"])
@pytest.mark.parametrize("command", [["deadlines"], ["records"], ["recompute", "--period",
                                                                  "112025"]])
def test_a_today_outside_gsts_years_is_one_clear_line(cli, today: str, command: list[str]):
    line = one_line(cli(*command, "--gstin", RECIPIENT, IMS_BOT_TODAY=today), ExitCode.FAILED)
    assert "IMS_BOT_TODAY" in line and today in line


@pytest.mark.parametrize("today", ["2017-07-01", "2099-12-31"])
def test_the_first_and_last_days_allowed_work(cli, today: str) -> None:
    assert cli("deadlines", "--gstin", RECIPIENT, IMS_BOT_TODAY=today).code == ExitCode.OK


@pytest.mark.parametrize("page", ["1000000000000000000", str(2**63 - 1), "3"])
def test_a_page_past_the_last_is_one_clear_line(cli, page: str) -> None:
    line = one_line(cli("records", "--gstin", RECIPIENT, "--page", page), ExitCode.FAILED)
    assert f"no page {page}" in line and "1 page(s)" in line
    ok = cli("records", "--gstin", RECIPIENT, "--page", "1")
    assert ok.code == ExitCode.OK and "page 1/1" in ok.stdout


# ------------------------------------------------------------------------------ console


def console(cli, stdin: io.TextIOBase) -> Result:
    return cli("chat", "--demo", stdin=stdin)


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_the_console_reads_bytes_that_are_not_utf8_as_replacement_characters(
    cli, errors: str
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"hello \xff\xfe bot\n/help\n"), encoding="utf-8",
                             errors=errors)
    result = console(cli, stdin)
    assert result.code == ExitCode.OK and "Traceback" not in result.stdout + result.stderr
    assert "> hello \ufffd\ufffd bot" in result.stdout
    assert "something went wrong" not in result.stdout and "the bot failed" not in result.stdout
    assert "How to use IMS Bot" in result.stdout


def test_the_console_refuses_what_is_not_a_regular_file_or_too_big(cli, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as sparse:
        sparse.truncate(MAX_UPLOAD + 1)
    script = "\n".join([
        "/send /dev/zero", f"/send {tmp_path}", f"/send {big}", "/send ~nobody-at-all/x.json",
        f"/send {'a' * 5000}", "/help", "",
    ])
    result = console(cli, io.StringIO(script))
    assert result.code == ExitCode.OK and "Traceback" not in result.stdout + result.stderr
    assert "(cannot read '/dev/zero': not a regular file)" in result.stdout
    assert f"(cannot read {str(tmp_path)!r}: not a regular file)" in result.stdout
    assert "over 50 MB" in result.stdout
    assert result.stdout.count("(cannot read") == 5
    assert "How to use IMS Bot" in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_the_console_does_not_wait_on_a_named_pipe(cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    result = console(cli, io.StringIO(f"/send {fifo}\n"))
    assert "not a regular file" in result.stdout


# ------------------------------------------------------------------------------ fitting


def test_an_html_text_is_cut_between_characters_and_its_tags_closed() -> None:
    text = '<b>Title</b>\n<a href="https://x.in/?a=1&amp;b=2">' + "&lt;&amp;" * 3000 + "</a>"
    cut = fit_html(text, 100)
    assert html_problem(cut) is None
    assert cut.endswith("…</a>") and "&amp;b=2" in cut
    assert fit_html("<b>short</b>", 100) == "<b>short</b>"


def test_a_plain_text_and_a_label_are_cut_by_telegrams_units() -> None:
    assert fit_plain("🧾" * 150, 200) == "🧾" * 99 + "…"
    assert len(fit_label("✅ " + "क" * 40).encode()) <= 64
    assert fit_label("✅ Yes, accept 12") == "✅ Yes, accept 12"


def test_a_view_is_fitted_with_its_buttons_and_their_data_kept() -> None:
    button = InlineKeyboardButton("क" * 100, callback_data="faq:topics")
    view = fitted(View("<i>" + "x" * 5000 + "</i>", InlineKeyboardMarkup([[button]])))
    assert html_problem(view.text) is None and view.text.endswith("…</i>")
    assert isinstance(view.markup, InlineKeyboardMarkup)
    [[fitted_button]] = view.markup.inline_keyboard
    assert len(fitted_button.text.encode()) <= 64 and fitted_button.callback_data == "faq:topics"
    same = View("<b>ok</b>")
    assert fitted(same) is same


def test_a_list_button_is_cut_before_its_amount() -> None:
    label = texts.list_button("BE-" + "9" * 37, "क" * 40, "", 999999999999.99)
    assert len(label.encode()) <= 64 and label.endswith(" · ₹9,99,99,99,99,999.99")
    assert texts.list_button("INV-1", "Tata Steel Distributors", "", 11800) == (
        "INV-1 · Tata Steel · ₹11,800")
