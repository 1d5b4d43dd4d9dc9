"""`ims-bot reconcile` through the in-process CLI, on SQLite and PostgreSQL: the JSON
contract, that it changes nothing, --map remembered per workspace, and --apply."""

from __future__ import annotations

from pathlib import Path

from ims_bot.cli import ExitCode
from ims_bot.db import Database
from tests.integration.test_cli_scenarios import MONTHLY, SUPPLIER, SUPPLIER_GJ, Cli, doc

GROUPS = {"matched", "near_match", "amount_mismatch", "not_in_books", "not_in_ims"}
HEADER = ("GSTIN/UIN,Particulars,Supplier Invoice No.,Supplier Invoice Date,"
          "Integrated Tax Amount,Central Tax Amount,State Tax Amount,Cess Amount\n")


def register(tmp: Path, body: str, header: str = HEADER) -> str:
    path = tmp / "register.csv"
    path.write_text(header + body, encoding="utf-8")
    return str(path)


def loaded(database: Database, tmp_path: Path) -> Cli:
    cli = Cli(database.url.render_as_string(hide_password=False), tmp_path)
    cli.load(MONTHLY,
             doc("b2b", "INV/0001/25-26", "112025"),  # matched (as INV-1)
             doc("b2b", "INV-2", "112025"),  # amount mismatch
             doc("b2b", "INV-3000", "112025"),  # near match (INV-3000A)
             doc("b2b", "INV-4", "112025", supplier=SUPPLIER_GJ, tax=1800.0),  # not in books
             frequency="monthly")
    return cli


BOOKS = (
    f"{SUPPLIER},Tata Steel,INV-1,05-11-2025,0,900,900,0\n"
    f"{SUPPLIER},Tata Steel,INV-2,05-11-2025,0,950,900,0\n"
    f"{SUPPLIER},Tata Steel,INV-3000A,06-11-2025,0,900,900,0\n"
    f"{SUPPLIER},Tata Steel,INV-99,07-11-2025,0,45,45,0\n"  # not on the portal
)


def test_json_contract_lists_every_record_and_row_once_and_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    cli = loaded(database, tmp_path)
    before = cli.records(MONTHLY)
    result = cli("reconcile", "--gstin", MONTHLY, register(tmp_path, BOOKS), "--json")
    assert result.code == ExitCode.OK, result.stderr
    data = result.json()
    assert set(data) == {"summary", "items"}
    assert set(data["summary"]) == GROUPS
    for totals in data["summary"].values():
        assert set(totals) == {"count", "igst", "cgst", "sgst", "cess"}
    for item in data["items"]:
        assert set(item) == {"group", "record_id", "register_row", "suggested_action", "reason"}
    got = {(i["group"], i["record_id"], i["register_row"], i["suggested_action"])
           for i in data["items"]}
    ids = cli.ids
    assert got == {
        ("matched", ids["b2b:INV/0001/25-26"], 1, "accept"),
        ("amount_mismatch", ids["b2b:INV-2"], 2, "pending"),
        ("near_match", ids["b2b:INV-3000"], 3, "accept"),
        ("not_in_books", ids["b2b:INV-4"], None, "pending"),
        ("not_in_ims", None, 4, "follow_up"),
    }
    assert len(data["items"]) == 5
    assert data["summary"]["matched"]["count"] == 1
    assert data["summary"]["matched"]["cgst"] == 900
    assert data["summary"]["not_in_books"]["igst"] == 1800
    after = cli.records(MONTHLY)
    # No record changed; only the supplier's name, which the register outranks the file on.
    assert {k: (r["status"], r["version"]) for k, r in after.items()} == {
        k: (r["status"], r["version"]) for k, r in before.items()}
    assert before["b2b:INV-2"]["supplier_name"] == "Tata Steel Distributors"
    assert after["b2b:INV-2"]["supplier_name"] == "Tata Steel"

def test_unknown_column_is_asked_for_then_mapped_and_remembered(
    database: Database, tmp_path: Path
) -> None:
    cli = loaded(database, tmp_path)
    header = HEADER.replace("Supplier Invoice No.", "Bill Ref")
    path = register(tmp_path, BOOKS, header)
    asked = cli("reconcile", "--gstin", MONTHLY, path, "--json")
    assert asked.code == ExitCode.FAILED
    assert "invoice_no" in asked.stderr and "Bill Ref" in asked.stderr
    mapped = cli("reconcile", "--gstin", MONTHLY, path, "--map", "invoice_no=Bill Ref", "--json")
    assert mapped.code == ExitCode.OK, mapped.stderr
    again = cli("reconcile", "--gstin", MONTHLY, path, "--json")  # remembered
    assert again.code == ExitCode.OK, again.stderr
    assert again.json() == mapped.json()


def test_apply_previews_then_applies_through_the_rules_and_undo_reverts(
    database: Database, tmp_path: Path
) -> None:
    cli = loaded(database, tmp_path)
    path = register(tmp_path, BOOKS)
    preview = cli("reconcile", "--gstin", MONTHLY, path, "--apply", "matched", "--json")
    assert preview.code == ExitCode.OK, preview.stderr
    assert preview.json()["eligible"] == 1
    assert cli.records(MONTHLY)["b2b:INV/0001/25-26"]["status"] == "no_action"
    applied = cli("reconcile", "--gstin", MONTHLY, path, "--apply", "matched", "--yes", "--json")
    assert applied.json()["changed"] == 1, applied.stdout
    records = cli.records(MONTHLY)
    assert records["b2b:INV/0001/25-26"]["status"] == "accepted"
    assert records["b2b:INV-2"]["status"] == "no_action"  # other groups untouched
    pending = cli("reconcile", "--gstin", MONTHLY, path, "--apply", "not_in_books", "--yes")
    assert pending.code == ExitCode.OK and "pending applied to 1" in pending.stdout
    assert cli.records(MONTHLY)["b2b:INV-4"]["status"] == "pending"
    undone = cli("undo", "--gstin", MONTHLY, str(cli.ids["b2b:INV/0001/25-26"]))
    assert undone.code == ExitCode.OK
    assert cli.records(MONTHLY)["b2b:INV/0001/25-26"]["status"] == "no_action"


def test_a_bad_register_is_refused_naming_the_row(database: Database, tmp_path: Path) -> None:
    cli = loaded(database, tmp_path)
    bad = BOOKS.replace("0,950,900", "0,lots,900")
    result = cli("reconcile", "--gstin", MONTHLY, register(tmp_path, bad), "--json")
    assert result.code == ExitCode.FAILED
    assert "row 2" in result.stderr and "Central Tax Amount" in result.stderr


def test_a_group_beyond_a_drivers_parameter_limit_is_previewed_and_applied(
    database: Database, tmp_path: Path
) -> None:
    from datetime import date

    from ims_bot.reconcile import Group
    from ims_bot.reconciliation import ReconcileService
    from ims_bot.workspaces import get_workspace

    cli = loaded(database, tmp_path)
    w = get_workspace(database, MONTHLY).id
    service = ReconcileService(database, lambda: date(2025, 12, 16))
    ids = [cli.ids["b2b:INV-2"], *range(1_000_000, 1_070_000)]  # 70,001 ids, one real
    assert service.preview(w, Group.MATCHED, ids).eligible == 1
    outcome = service.apply(w, Group.MATCHED, ids, actor="test", channel="test")
    assert outcome.changed == 1
