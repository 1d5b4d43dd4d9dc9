"""Bad command lines: every one ends with one clear line on stderr and a non-zero exit code,
never a traceback. In-process, through `ims_bot.cli.main(argv, env=Env(...))`."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ims_bot.cli import Env, ExitCode, main
from ims_bot.domain import parse_amount
from ims_bot.settings import TODAY_FROM, TODAY_UNTIL
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note, portal_file

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str  # what the command wrote to env.stderr
    usage: str  # what argparse wrote to sys.stderr (flag errors)


@dataclass
class Cli:
    environ: dict[str, str]
    file: Path
    capsys: pytest.CaptureFixture[str] | None = None

    def __call__(self, *argv: str, **environ: str) -> Result:
        assert self.capsys is not None
        self.capsys.readouterr()
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), env=Env(environ={**self.environ, **environ},
                                        stdin=io.StringIO(""), stdout=out, stderr=err))
        return Result(code, out.getvalue(), err.getvalue(), self.capsys.readouterr().err)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A database where RECIPIENT has two records imported."""
    directory = tmp_path_factory.mktemp("cli")
    file = directory / "ims.json"
    file.write_bytes(portal_file(b2b=[invoice("INV-1"), invoice("INV-2")]))
    notes = directory / "notes.json"
    notes.write_bytes(portal_file(b2bcn=[note("CN-1")]))
    environ = {"IMS_BOT_DATABASE_URL": f"sqlite:///{directory / 'cli.sqlite3'}",
               "IMS_BOT_TODAY": "2025-12-16"}
    out, err = io.StringIO(), io.StringIO()
    env = Env(environ=environ, stdin=io.StringIO(""), stdout=out, stderr=err)
    assert main(["import", str(file), "--gstin", RECIPIENT], env=env) == 0, err.getvalue()
    # A credit note of another GSTIN: an ITC reduction may be declared on it.
    assert main(["import", str(notes), "--gstin", SUPPLIER_B], env=env) == 0, err.getvalue()
    yield Cli(environ, file)


@pytest.fixture
def cli(linked: Cli, capsys: pytest.CaptureFixture[str]) -> Cli:
    linked.capsys = capsys
    return linked


def one_clear_line(result: Result) -> str:
    """The failure is one `ims-bot: …` line on stderr, exit code not 0, no traceback."""
    assert result.code != ExitCode.OK, result
    assert "Traceback" not in result.stderr + result.usage
    if result.code == ExitCode.USAGE and not result.stderr:
        # argparse's own refusal: its usage line, then one "error:" line.
        errors = [line for line in result.usage.splitlines() if ": error: " in line]
        assert len(errors) == 1, result.usage
        return errors[0]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ims-bot: "), result.stderr
    assert len(lines[0]) > len("ims-bot: ") + 5
    return lines[0]


not_a_gstin = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["27AAPFU0939F1ZA", "27aapfu0939f1z", "99AAPFU0939F1ZV", "27AAPFU0939F1Z\n",
                     "२७AAPFU0939F1ZV", "27AAPFU0939F1ZV" * 3, "", " ", "--gstin"]),
).filter(lambda text: text.strip().upper() != RECIPIENT)

# A blank --period means "any period" to `records`: not a bad period.
not_a_period = st.one_of(
    st.text(min_size=1, max_size=12).filter(str.strip),
    st.sampled_from(["132025", "002025", "12-2025", "1225", "122025x", "999999", "012100",
                     "-12025", "112O25", "１１２０２５"]),
).filter(lambda text: re.fullmatch(r"(0[1-9]|1[0-2])[0-9]{4}", text.strip()) is None)


@FUZZ
@given(gstin=not_a_gstin, command=st.sampled_from(["records", "history", "export", "deadlines",
                                                  "import", "recompute"]))
def test_a_bad_gstin_is_one_clear_line(cli: Cli, gstin: str, command: str) -> None:
    argv = [command, f"--gstin={gstin}"]
    if command == "import":
        argv.insert(1, str(cli.file))
    if command == "recompute":
        argv.append("--period=112025")
    one_clear_line(cli(*argv))


@FUZZ
@given(period=not_a_period, command=st.sampled_from(["recompute", "filed", "records"]))
def test_a_bad_period_is_one_clear_line(cli: Cli, period: str, command: str) -> None:
    one_clear_line(cli(command, f"--gstin={RECIPIENT}", f"--period={period}"))


MAX_ID = 2**63 - 1  # larger ids: see test_an_id_beyond_64_bits_is_one_clear_line
record_ids = st.one_of(
    st.integers(min_value=-(10**30), max_value=MAX_ID).map(str),
    st.text(max_size=10),
    st.sampled_from(["0", "-1", "1.5", "1e3", "٣", "3 ", "0x10"]),
)


@FUZZ
@given(record_id=record_ids, command=st.sampled_from(["act", "undo"]))
def test_a_bad_record_id_is_one_clear_line(cli: Cli, record_id: str, command: str) -> None:
    if record_id.strip() in ("1", "2"):
        record_id = "999"
    argv = [command, f"--gstin={RECIPIENT}", "--", record_id]
    if command == "act":
        argv.append("accept")
    one_clear_line(cli(*argv))


flags = st.sampled_from([
    ["records", "--page", "0"], ["records", "--page-size", "x"], ["records", "--status", "ok"],
    ["records", "--min-value", "-5"], ["records", "--max-value", "NaN"],
    ["records", "--min-value", "inf"], ["records", "--sort", "random"],
    ["history", "--limit", "-3"], ["act", "1", "approve"], ["bulk", "accept", "--frobnicate"],
    ["deadlines", "--frequency", "weekly"], ["webhook", "--url", "ftp://x", "--secret", "s"],
    ["webhook", "--url", "https://x.in", "--secret", "no spaces!"], ["doctor", "--timeout", "0"],
    ["act", "1", "accept", "--reduce", "1,2"], ["act", "1", "accept", "--reduce", "lots"],
    ["act", "1", "reject", "--remarks", "x" * 10_000], ["frobnicate"], [],
])


@FUZZ
@given(argv=flags, junk=st.text(max_size=8).filter(lambda t: not t.startswith("-")))
def test_bad_flags_are_one_clear_line(cli: Cli, argv: list[str], junk: str) -> None:
    if argv and argv[0] in ("records", "history", "act", "bulk"):
        argv = [argv[0], f"--gstin={RECIPIENT}", *argv[1:]]
    elif argv and argv[0] == "deadlines":
        argv = [*argv, f"--gstin={RECIPIENT}"]
    del junk
    one_clear_line(cli(*argv))


@pytest.mark.parametrize("command", ["act", "undo", "history"])
def test_an_id_beyond_64_bits_is_one_clear_line(cli: Cli, command: str) -> None:
    argv = [command, f"--gstin={RECIPIENT}", "9" * 40]
    if command == "act":
        argv.append("accept")
    one_clear_line(cli(*argv))


@pytest.mark.parametrize("period", ["122099", "012000"])
def test_filing_an_impossible_period_is_one_clear_line(cli: Cli, period: str) -> None:
    one_clear_line(cli("filed", f"--gstin={RECIPIENT}", f"--period={period}"))


# ------------------------------------------------------------------------------ issue 11

#: Amounts no rupee column holds (Numeric(15, 2): at most 999,999,999,999.99), or none at all.
hostile_amounts = st.one_of(
    st.integers(min_value=10**12, max_value=10**400).map(str),
    st.sampled_from(["1e27", "1e400", "-1e400", "0.001", "NaN", "sNaN", "-Infinity", "1e-400",
                     "1e999999999", "-0.5", "9" * 500, "1_000_000_000_000", "₹5", "0x10"]),
    st.decimals(allow_nan=True).map(str),
)


def _cn_id(cli: Cli) -> str:
    listed = cli("records", f"--gstin={SUPPLIER_B}", "--json")
    return str(json.loads(listed.stdout)[0]["id"])


@FUZZ
@given(amounts=st.lists(hostile_amounts | st.sampled_from(["0", "45", ""]), min_size=4,
                        max_size=4),
       where=st.integers(0, 3), hostile=hostile_amounts)
def test_a_reduction_no_rupee_column_holds_is_one_clear_line(
    cli: Cli, amounts: list[str], where: int, hostile: str
) -> None:
    amounts[where] = hostile
    result = cli("act", f"--gstin={SUPPLIER_B}", _cn_id(cli), "accept",
                 f"--reduce={','.join(amounts)}")
    if result.code != ExitCode.OK:
        line = one_clear_line(result)
        if not all(_is_amount(a) for a in amounts):
            assert result.code == ExitCode.USAGE and "999,999,999,999.99" in line


def _is_amount(text: str) -> bool:
    try:
        parse_amount(text)
    except ValueError:
        return False
    return True


@FUZZ
@given(page=st.integers(min_value=2, max_value=2**63 - 1), size=st.integers(1, 1000))
def test_a_page_number_past_the_records_is_one_clear_line(cli: Cli, page: int, size: int) -> None:
    if (page - 1) * size < 2:  # two records: pages 1 (and 2 of size 1) hold them
        return
    line = one_clear_line(cli("records", f"--gstin={RECIPIENT}", f"--page={page}",
                              f"--page-size={size}"))
    assert f"no page {page}" in line


odd_days = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(["0001-01-01", "9999-12-31", "2017-06-30", "2100-01-01", "2025-02-29",
                     "20251216", "2025-W51-2", "16-12-2025", "2025-12-16T10:00", "२०२५-१२-१६"]),
    st.text(max_size=20),
)


@FUZZ
@given(day=odd_days, command=st.sampled_from([
    ["deadlines"], ["records"], ["history"], ["recompute", "--period=112025"], ["export"],
    ["undo", "1"], ["recompute", "--period=012099", "--json"],
]))
def test_any_imsbottoday_works_or_is_one_clear_line(cli: Cli, day: str, command: list[str]):
    if "\x00" in day:
        return  # an environment variable cannot hold a NUL
    result = cli(command[0], f"--gstin={RECIPIENT}", *command[1:], IMS_BOT_TODAY=day)
    if result.code != ExitCode.OK:
        one_clear_line(result)
    try:
        fixed = date.fromisoformat(day.strip()) if day.strip() else None
    except ValueError:
        fixed = None
    if fixed is not None and not TODAY_FROM <= fixed <= TODAY_UNTIL:
        assert "IMS_BOT_TODAY" in one_clear_line(result)
