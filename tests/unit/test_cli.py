"""The command line, in-process: exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ims_bot.cli import Env, ExitCode, main
from tests.factories import RECIPIENT, SUPPLIER_A, invoice, note, portal_file


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(tmp_path: Path):
    environ = {
        "IMS_BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "IMS_BOT_TODAY": "2025-12-16",
    }

    def run(*args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env=Env(environ=environ, stdin=io.StringIO(stdin), stdout=out,
                                        stderr=err))
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def imported(run_cli, tmp_path: Path):
    path = tmp_path / "ims.json"
    path.write_bytes(portal_file(b2b=[invoice("INV-1"), invoice("INV-2")],
                                 b2bcn=[note("CN-SEP", period="092025")]))
    assert run_cli("import", str(path), "--gstin", RECIPIENT).code == 0
    records = json.loads(run_cli("records", "--gstin", RECIPIENT, "--json").stdout)
    return {r["number"]: r["id"] for r in records}


def test_records_json_has_the_documented_fields(run_cli, imported):
    [first, *_] = json.loads(run_cli("records", "--gstin", RECIPIENT, "--json").stdout)
    for key in ("id", "section", "supplier_gstin", "number", "date", "period", "status",
                "taxable_value", "igst", "cgst", "sgst", "cess"):
        assert key in first
    assert first["status"] == "no_action"


def test_act_then_status_filter(run_cli, imported):
    result = run_cli("act", "--gstin", RECIPIENT, str(imported["INV-1"]), "reject",
                     "--remarks", "not ours")
    assert result.code == 0 and "rejected" in result.stdout
    rejected = json.loads(run_cli("records", "--gstin", RECIPIENT, "--status", "rejected",
                                  "--json").stdout)
    assert [r["number"] for r in rejected] == ["INV-1"]


def test_refused_action_exits_non_zero_with_the_reason(run_cli, imported):
    result = run_cli("act", "--gstin", RECIPIENT, str(imported["CN-SEP"]), "pending")
    assert result.code == ExitCode.FAILED
    assert result.stderr.count("\n") == 1 and "refused:" in result.stderr


def test_recompute_json_has_the_four_parts(run_cli, imported):
    result = run_cli("recompute", "--gstin", RECIPIENT, "--period", "112025", "--json")
    data = json.loads(result.stdout)
    for key in ("available", "credit_note_reduction", "rejected", "pending"):
        assert set(data[key]) == {"igst", "cgst", "sgst", "cess", "count"}


def test_filed_then_recompute_is_refused(run_cli, imported):
    assert run_cli("filed", "--gstin", RECIPIENT, "--period", "112025").code == 0
    result = run_cli("recompute", "--gstin", RECIPIENT, "--period", "112025")
    assert result.code == ExitCode.FAILED and "already filed" in result.stderr


def test_export_writes_the_save_request(run_cli, imported, tmp_path: Path):
    run_cli("act", "--gstin", RECIPIENT, str(imported["INV-2"]), "accept")
    target = tmp_path / "save.json"
    assert run_cli("export", "--gstin", RECIPIENT, "-o", str(target)).code == 0
    data = json.loads(target.read_text())
    assert data["reqtyp"] == "SAVE" and data["invdata"]["b2b"][0]["action"] == "A"


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "portal"


def test_import_names_what_it_leaves_out_and_warns(run_cli):
    merged = run_cli("import", str(FIXTURES / "merged_all_sections.json"), "--gstin", RECIPIENT)
    assert merged.code == 0, merged.stderr
    assert "Not handled by IMS Bot (left out): isd 3 record(s), isdcn 1 record(s)." in (
        merged.stdout)
    bad = run_cli("import", str(FIXTURES / "sandbox_b2bdn_bad_check.json"), "--gstin", RECIPIENT)
    assert bad.code == 0 and "Warning: 1 record(s) from 1 supplier GSTIN(s)" in bad.stdout


def test_export_says_which_decisions_no_request_can_carry(run_cli, tmp_path: Path):
    run_cli("import", str(FIXTURES / "merged_all_sections.json"), "--gstin", RECIPIENT)
    records = json.loads(run_cli("records", "--gstin", RECIPIENT, "--section", "impg",
                                 "--json").stdout)
    assert run_cli("act", "--gstin", RECIPIENT, str(records[0]["id"]), "accept").code == 0
    result = run_cli("export", "--gstin", RECIPIENT, "-o", str(tmp_path / "save.json"))
    assert result.code == 0 and "bills of entry (impg 1)" in result.stderr
    assert "impg" not in json.loads((tmp_path / "save.json").read_text())["invdata"]


def test_ask_json_reads_one_question_per_line(run_cli):
    result = run_cli("ask", "--json", "-", stdin="can credit note be kept pending\n\nhello\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert set(lines[0]) == {"query", "id", "score", "answer", "suggestions"}


@pytest.mark.parametrize(
    "args",
    [
        ("records", "--gstin", "27AAPFU0939F1ZA"),
        ("records", "--gstin", "hello"),
        ("recompute", "--gstin", RECIPIENT, "--period", "2025-11"),
        ("act", "--gstin", RECIPIENT, "999", "accept"),
        ("act", "--gstin", RECIPIENT, "1", "accept", "--reduce", "half"),
        ("import", "/nonexistent/file.json", "--gstin", RECIPIENT),
        ("records", "--gstin", "29AAGCB7383J1Z4"),
    ],
    ids=["bad-check-character", "not-a-gstin", "bad-period", "unknown-record",
         "bad-reduction", "missing-file", "unknown-gstin"],
)
def test_bad_input_is_one_clear_line_and_non_zero(run_cli, imported, args):
    result = run_cli(*args)
    assert result.code != 0
    assert result.stderr.startswith("ims-bot: ") and result.stderr.count("\n") == 1


def test_malformed_json_file_is_refused_in_one_line(run_cli, tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text('{"b2b": [')
    result = run_cli("import", str(path), "--gstin", RECIPIENT)
    assert result.code == ExitCode.FAILED and "not valid JSON" in result.stderr


def test_malformed_database_url_is_one_line(tmp_path: Path):
    err = io.StringIO()
    code = main(["records", "--gstin", RECIPIENT],
                env=Env(environ={"IMS_BOT_DATABASE_URL": "nonsense://"}, stdout=io.StringIO(),
                        stderr=err))
    assert code != 0 and err.getvalue().count("\n") == 1


def test_history_of_an_unknown_record_is_not_found(run_cli, imported):
    result = run_cli("history", "--gstin", RECIPIENT, "999")
    assert result.code == ExitCode.FAILED and "No record 999" in result.stderr


def test_supplier_names_a_supplier_and_records_show_it(run_cli, imported):
    supplier = SUPPLIER_A.lower()
    result = run_cli("supplier", "--gstin", RECIPIENT, supplier, "Tata,", "Bhiwandi", "--json")
    assert result.code == ExitCode.OK
    assert json.loads(result.stdout) == {
        "gstin": SUPPLIER_A, "name": "Tata, Bhiwandi", "previous": "Tata Steel Distributors"}
    listing = run_cli("records", "--gstin", RECIPIENT, "--supplier", "bhiwandi")
    assert listing.stdout.startswith("3 record(s)") and listing.stdout.count("Tata, Bhiwandi") == 3
    again = run_cli("supplier", "--gstin", RECIPIENT, SUPPLIER_A, "Tata Steel, Bhiwandi")
    assert again.stdout == (f"Supplier {SUPPLIER_A[:2]} {SUPPLIER_A[2:12]} {SUPPLIER_A[12:]} "
                            "is now named 'Tata Steel, Bhiwandi' (was 'Tata, Bhiwandi').\n")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("29AAGCB7383J1Z4", "Bangalore Traders"), "not a supplier here"),
        ((SUPPLIER_A, "  "), "Give the supplier's name"),
        ((SUPPLIER_A, "Tata\x1b[31m"), "control characters"),
    ],
    ids=["not-a-supplier", "empty-name", "control-character"],
)
def test_supplier_refusal_exits_1_with_one_line(run_cli, imported, args, words):
    result = run_cli("supplier", "--gstin", RECIPIENT, *args)
    assert result.code == ExitCode.FAILED and result.stdout == ""
    assert result.stderr.startswith("ims-bot: ") and result.stderr.count("\n") == 1
    assert words in result.stderr
