"""IMS rule scenarios end to end through the in-process CLI (ims-facts.md §1–§3).

Each scenario writes a realistic portal file, imports it with `ims-bot import`, acts with
`ims-bot act` on a fixed `IMS_BOT_TODAY`, and checks the exit code, the refusal's machine
code (printed by the CLI with the reason) and what `records`, `recompute`, `filed` and
`export` then show. The single-action table has one row per rule of §2 (and §1 where it
decides an action); the flows below it cover §1 (lock, carry forward, recompute window)
and §3 (GSTR-2B figures).

Choices of the rules module followed here where ims-facts.md leaves room (see rules.py):
remarks on accept are refused unless the portal's isRemarksBlocked is explicitly N (§6);
an amendment whose original is not stored is treated as the table's ordinary (upward) row.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ims_bot.cli import Env, ExitCode, main
from ims_bot.gstin import make_gstin

SUPPLIER = make_gstin("27", "AABCT1332L")  # Maharashtra supplier: CGST + SGST
SUPPLIER_GJ = make_gstin("24", "AACCG9012M")  # Gujarat supplier: IGST
MONTHLY = make_gstin("27", "AAPFU0939F")  # Maharashtra recipient, monthly 3B
QRMP_22 = make_gstin("27", "AAECM4821K")  # Maharashtra, QRMP: 3B on the 22nd
QRMP_24 = make_gstin("09", "AAKCS1234Q")  # Uttar Pradesh, QRMP: 3B on the 24th
MONTHLY_UP = make_gstin("09", "AAGCR5521B")  # Uttar Pradesh, monthly: the 20th all the same

TODAY = "2025-12-16"  # draft GSTR-2B of Nov 2025 is out; 3B for Nov is due on the 20th

_NOTES = {"b2bdn", "b2bdna", "b2bcn", "b2bcna"}
_AMENDMENTS = {"b2ba", "b2bdna", "b2bcna", "ecoma"}


# ------------------------------------------------------------------------------ portal data


def doc(
    section: str,
    number: str,
    period: str,
    tax: float = 900.0,
    *,
    day: str | None = None,
    original: str | None = None,
    original_day: str | None = None,
    action: str = "N",
    filed: bool = True,
    supplier: str = SUPPLIER,
    **extra: Any,
) -> tuple[str, dict[str, Any]]:
    """One record of a get-records response, as (section key, record)."""
    inter_state = supplier[:2] != "27"
    taxable = round(tax * (100 / 9 if not inter_state else 100 / 18), 2)
    day = day or f"05-{period[:2]}-{period[2:]}"
    record: dict[str, Any] = {
        "stin": supplier,
        "trdnm": "Tata Steel Distributors" if supplier == SUPPLIER else "Gujarat Chemicals",
        "rtnprd": period,
        "srcform": "R1",
        "srcfilstatus": "Filed" if filed else "Not Filed",
        "inv_typ": "R",
        "pos": "27",
        "val": round(taxable + (tax if inter_state else 2 * tax), 2),
        "txval": taxable,
        "iamt": tax if inter_state else 0,
        "camt": 0 if inter_state else tax,
        "samt": 0 if inter_state else tax,
        "cess": 0,
        "action": action,
        "prev_status": "N",
        "ispendactblocked": None,
        "hash": f"h-{section}-{number}-{tax}",
    }
    if section in _NOTES:
        record.update({"nt_num": number, "nt_dt": day})
        if section in _AMENDMENTS:
            record.update({"ont_num": original, "ont_dt": original_day})
    else:
        record.update({"inum": number, "idt": day})
        if section in _AMENDMENTS:
            record.update({"oinum": original, "oidt": original_day})
    if period >= "102025" or period[2:] > "2025":
        record.update({"isItcRedReqBlocked": None, "isRemarksBlocked": None})
    record.update(extra)
    return section, {k: v for k, v in record.items() if v is not None}


def boe(section: str, number: str, period: str, tax: float = 1800.0, *,
        original: str | None = None, **extra: Any) -> tuple[str, dict[str, Any]]:
    """A Bill of Entry (import of goods; in IMS from the Oct 2025 GSTR-2B period)."""
    record: dict[str, Any] = {
        "rtnprd": period,
        "portcd": "INNSA1",
        "boenum": number,
        "boedt": f"03-{period[:2]}-{period[2:]}",
        "txval": round(tax * 100 / 18, 2),
        "iamt": tax,
        "cess": 0,
        "action": "N",
        "hash": f"h-{section}-{number}",
    }
    if original:
        record.update({"oboenum": original, "oboedt": f"03-{period[:2]}-{period[2:]}"})
    record.update(extra)
    return section, record


def portal_json(*docs: tuple[str, dict[str, Any]], wrapper: bool = True) -> str:
    body: dict[str, list[dict[str, Any]]] = {}
    for section, record in docs:
        body.setdefault(section, []).append(record)
    return json.dumps({"imsDetails": body} if wrapper else body)


# ------------------------------------------------------------------------------ the CLI


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    url: str
    tmp: Path
    today: str = TODAY
    files: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def __call__(self, *args: str, today: str | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        environ = {"IMS_BOT_DATABASE_URL": self.url, "IMS_BOT_TODAY": today or self.today}
        code = main(list(args), env=Env(environ=environ, stdin=io.StringIO(), stdout=out,
                                        stderr=err))
        return Result(code, out.getvalue(), err.getvalue())

    def load(self, gstin: str, *docs: tuple[str, dict[str, Any]],
             frequency: str | None = None, ok: bool = True) -> Result:
        self.files += 1
        path = self.tmp / f"ims-{self.files}.json"
        path.write_text(portal_json(*docs), encoding="utf-8")
        args = ["import", str(path), "--gstin", gstin, "--json"]
        if frequency:
            args += ["--frequency", frequency]
        result = self(*args)
        if ok:
            assert result.code == ExitCode.OK, result.stderr
            self.refresh(gstin)
        return result

    def records(self, gstin: str, *filters: str) -> dict[str, dict[str, Any]]:
        result = self("records", "--gstin", gstin, *filters, "--json")
        assert result.code == ExitCode.OK, result.stderr
        return {f"{r['section']}:{r['number']}": r for r in result.json()}

    def refresh(self, gstin: str) -> None:
        self.ids.update({key: r["id"] for key, r in self.records(gstin).items()})

    def act(self, gstin: str, key: str, action: str, *extra: str,
            today: str | None = None) -> Result:
        return self("act", "--gstin", gstin, str(self.ids[key]), action, *extra, today=today)

    def recompute(self, gstin: str, period: str, today: str | None = None) -> Result:
        return self("recompute", "--gstin", gstin, "--period", period, "--json", today=today)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    """The rule table runs on SQLite only: the rules do not depend on the backend."""
    return Cli(f"sqlite:///{tmp_path / 'scenarios.sqlite3'}", tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    """The flows run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield Cli(f"sqlite:///{tmp_path / 'scenarios.sqlite3'}", tmp_path)
        return
    from tests.conftest import _fresh_postgres

    url = request.getfixturevalue("postgres_url")
    _fresh_postgres(url).dispose()  # empty tables, as every scenario starts
    yield Cli(url, tmp_path)


def refused(result: Result, code: str) -> None:
    """A refused action: exit 1, one line on stderr with the reason and the machine code."""
    assert result.code == ExitCode.FAILED, (result.code, result.stdout, result.stderr)
    assert result.stderr.startswith("ims-bot: refused: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"[{code}]" in result.stderr, result.stderr


def ok(result: Result) -> None:
    assert result.code == ExitCode.OK, (result.code, result.stdout, result.stderr)


# ------------------------------------------------------------------------ §2: one action each


@dataclass(frozen=True)
class Row:
    """Import `docs`, run `steps` (act KEY ACTION / filed MMYYYY), then try `action` on
    `target` with `extra` arguments on `today`; expect OK or a refusal code."""

    docs: tuple[tuple[str, dict[str, Any]], ...]
    target: str
    action: str
    expect: str  # "ok" or the refusal code
    extra: tuple[str, ...] = ()
    today: str = TODAY
    steps: tuple[tuple[str, ...], ...] = ()
    gstin: str = MONTHLY
    frequency: str | None = None


# Originals whose ITC was taken: accepted (or left at no action) and GSTR-3B filed.
AUG_INV = doc("b2b", "INV-0825", "082025", 1000.0, action="A")
SEP_INV = doc("b2b", "INV-0925", "092025", 1000.0, action="A")
AUG_DN = doc("b2bdn", "DN-0825", "082025", 500.0, action="A")
SEP_DN = doc("b2bdn", "DN-0925", "092025", 500.0, action="A")
AUG_ECO = doc("ecom", "ECO-0825", "082025", 400.0)  # no action = deemed accepted
SEP_ECO = doc("ecom", "ECO-0925", "092025", 400.0)
AUG_CN = doc("b2bcn", "CN-0825", "082025", 200.0)
SEP_CN = doc("b2bcn", "CN-0925", "092025", 200.0)
AUG_CN_REJ = doc("b2bcn", "CN-0825R", "082025", 200.0, action="R")
SEP_CN_REJ = doc("b2bcn", "CN-0925R", "092025", 200.0, action="R")


def amend(section: str, number: str, period: str, tax: float, of: tuple[str, dict[str, Any]],
          **kw: Any) -> tuple[str, dict[str, Any]]:
    original = of[1]
    onum = original.get("inum") or original.get("nt_num")
    oday = original.get("idt") or original.get("nt_dt")
    return doc(section, f"{onum}-A", period, tax, original=onum, original_day=oday, **kw)


DOWN_B2BA_SEP = amend("b2ba", "", "092025", 600.0, AUG_INV)
DOWN_B2BA_OCT = amend("b2ba", "", "102025", 600.0, SEP_INV)
UP_B2BA_SEP = amend("b2ba", "", "092025", 1400.0, AUG_INV)
UP_B2BA_OCT = amend("b2ba", "", "102025", 1400.0, SEP_INV)
UNFILED_UP = amend("b2ba", "", "112025", 1400.0, doc("b2b", "INV-1025", "102025", 1000.0),
                   filed=False)
DOWN_DNA_SEP = amend("b2bdna", "", "092025", 300.0, AUG_DN)
DOWN_DNA_OCT = amend("b2bdna", "", "102025", 300.0, SEP_DN)
DOWN_ECOMA_SEP = amend("ecoma", "", "092025", 100.0, AUG_ECO)
DOWN_ECOMA_OCT = amend("ecoma", "", "102025", 100.0, SEP_ECO)
UP_CNA_SEP = amend("b2bcna", "", "092025", 300.0, AUG_CN)
UP_CNA_OCT = amend("b2bcna", "", "102025", 300.0, SEP_CN)
DOWN_CNA_SEP = amend("b2bcna", "", "092025", 50.0, AUG_CN_REJ)
DOWN_CNA_OCT = amend("b2bcna", "", "102025", 50.0, SEP_CN_REJ)

INV_NOV = doc("b2b", "INV-1125", "112025")
INV_SEP = doc("b2b", "INV-0925P", "092025")
INV_OLD = doc("b2b", "INV-1024", "102024")  # FY 2024-25: s.16(4) limit 30 Nov 2025
DN_SEP = doc("b2bdn", "DN-0925P", "092025")
DN_NOV = doc("b2bdn", "DN-1125", "112025")
CN_SEP = doc("b2bcn", "CN-0925P", "092025", 90.0)
CN_OCT = doc("b2bcn", "CN-1025", "102025", 90.0)
CN_NOV = doc("b2bcn", "CN-1125", "112025", 90.0)
CN_OCT_OLD_DATE = doc("b2bcn", "CN-0325", "102025", 90.0, day="15-03-2025")
ECO_NOV = doc("ecom", "ECO-1125", "112025")
ECO_SEP = doc("ecom", "ECO-0925P", "092025")
FILE_AUG = ("filed", "082025")
FILE_SEP = ("filed", "092025")

R250 = "x" * 250
R251 = "y" * 251

ROWS: dict[str, Row] = {
    # Invoice b2b: accept, reject, pending (up to s.16(4)) before and from Oct 2025.
    "invoice-accept": Row((INV_NOV,), "b2b:INV-1125", "accept", "ok"),
    "invoice-reject": Row((INV_NOV,), "b2b:INV-1125", "reject", "ok"),
    "invoice-pending-nov25": Row((INV_NOV,), "b2b:INV-1125", "pending", "ok"),
    "invoice-pending-sep25": Row((INV_SEP,), "b2b:INV-0925P", "pending", "ok"),
    "invoice-pending-after-16-4": Row((INV_OLD,), "b2b:INV-1024", "pending",
                                      "ITC_TIME_LIMIT_PASSED"),
    "invoice-pending-before-16-4": Row((INV_OLD,), "b2b:INV-1024", "pending", "ok",
                                       today="2025-11-30"),
    # Debit note b2bdn.
    "dn-pending-sep25": Row((DN_SEP,), "b2bdn:DN-0925P", "pending", "ok"),
    "dn-pending-nov25": Row((DN_NOV,), "b2bdn:DN-1125", "pending", "ok"),
    "dn-reject": Row((DN_NOV,), "b2bdn:DN-1125", "reject", "ok"),
    # Upward invoice amendment: like an invoice.
    "b2ba-up-pending-sep25": Row((AUG_INV, UP_B2BA_SEP), "b2ba:INV-0825-A", "pending", "ok",
                                 steps=(FILE_AUG,)),
    "b2ba-up-pending-oct25": Row((SEP_INV, UP_B2BA_OCT), "b2ba:INV-0925-A", "pending", "ok",
                                 steps=(FILE_SEP,), today="2026-01-10"),
    "b2ba-up-reduce-refused": Row((SEP_INV, UP_B2BA_OCT), "b2ba:INV-0925-A", "accept",
                                  "REDUCTION_NOT_ALLOWED", extra=("--reduce", "full"),
                                  steps=(FILE_SEP,)),
    # Downward invoice amendment of an accepted + filed original.
    "b2ba-down-pending-sep25": Row((AUG_INV, DOWN_B2BA_SEP), "b2ba:INV-0825-A", "pending",
                                   "PENDING_NOT_ALLOWED", steps=(FILE_AUG,)),
    "b2ba-down-accept-sep25": Row((AUG_INV, DOWN_B2BA_SEP), "b2ba:INV-0825-A", "accept", "ok",
                                  steps=(FILE_AUG,)),
    "b2ba-down-reject-sep25": Row((AUG_INV, DOWN_B2BA_SEP), "b2ba:INV-0825-A", "reject", "ok",
                                  steps=(FILE_AUG,)),
    "b2ba-down-reduce-sep25-refused": Row((AUG_INV, DOWN_B2BA_SEP), "b2ba:INV-0825-A",
                                          "accept", "REDUCTION_NOT_ALLOWED",
                                          extra=("--reduce", "nil"), steps=(FILE_AUG,)),
    "b2ba-down-original-not-filed-pending-sep25": Row(
        (AUG_INV, DOWN_B2BA_SEP), "b2ba:INV-0825-A", "pending", "ok"),
    "b2ba-down-original-rejected-pending-sep25": Row(
        (AUG_INV, DOWN_B2BA_SEP), "b2ba:INV-0825-A", "pending", "ok",
        steps=(("act", "b2b:INV-0825", "reject"), FILE_AUG)),
    "b2ba-down-original-accepted-by-act-pending-sep25": Row(
        (doc("b2b", "INV-0825", "082025", 1000.0), DOWN_B2BA_SEP), "b2ba:INV-0825-A",
        "pending", "PENDING_NOT_ALLOWED", steps=(("act", "b2b:INV-0825", "accept"), FILE_AUG)),
    "b2ba-down-pending-oct25": Row((SEP_INV, DOWN_B2BA_OCT), "b2ba:INV-0925-A", "pending",
                                   "ok", steps=(FILE_SEP,), today="2025-12-20"),
    "b2ba-down-pending-oct25-window-closed": Row(
        (SEP_INV, DOWN_B2BA_OCT), "b2ba:INV-0925-A", "pending", "PENDING_WINDOW_CLOSED",
        steps=(FILE_SEP,), today="2025-12-21"),
    "b2ba-down-reduce-partial-oct25": Row(
        (SEP_INV, DOWN_B2BA_OCT), "b2ba:INV-0925-A", "accept", "ok",
        extra=("--reduce", "0,400,400,0"), steps=(FILE_SEP,)),
    "b2ba-down-reduce-above-tax-oct25": Row(
        (SEP_INV, DOWN_B2BA_OCT), "b2ba:INV-0925-A", "accept", "REDUCTION_EXCEEDS_TAX",
        extra=("--reduce", "0,601,0,0"), steps=(FILE_SEP,)),
    # Downward debit-note amendment: the same row of the table.
    "b2bdna-down-pending-sep25": Row((AUG_DN, DOWN_DNA_SEP), "b2bdna:DN-0825-A", "pending",
                                     "PENDING_NOT_ALLOWED", steps=(FILE_AUG,)),
    "b2bdna-down-pending-oct25": Row((SEP_DN, DOWN_DNA_OCT), "b2bdna:DN-0925-A", "pending",
                                     "ok", steps=(FILE_SEP,)),
    "b2bdna-down-reduce-nil-oct25": Row((SEP_DN, DOWN_DNA_OCT), "b2bdna:DN-0925-A", "accept",
                                        "ok", extra=("--reduce", "nil"), steps=(FILE_SEP,)),
    # Credit note b2bcn: no pending before Oct 2025; one tax period from Oct 2025.
    "cn-pending-sep25": Row((CN_SEP,), "b2bcn:CN-0925P", "pending", "PENDING_NOT_ALLOWED"),
    "cn-accept-sep25": Row((CN_SEP,), "b2bcn:CN-0925P", "accept", "ok"),
    "cn-reject-sep25": Row((CN_SEP,), "b2bcn:CN-0925P", "reject", "ok"),
    "cn-pending-oct25-last-day": Row((CN_OCT,), "b2bcn:CN-1025", "pending", "ok",
                                     today="2025-12-20"),
    "cn-pending-oct25-window-closed": Row((CN_OCT,), "b2bcn:CN-1025", "pending",
                                          "PENDING_WINDOW_CLOSED", today="2025-12-21"),
    "cn-accept-oct25-after-window": Row((CN_OCT,), "b2bcn:CN-1025", "accept", "ok",
                                        today="2025-12-21"),
    "cn-reject-oct25-after-window": Row((CN_OCT,), "b2bcn:CN-1025", "reject", "ok",
                                        today="2025-12-21"),
    "cn-pending-nov25-last-day": Row((CN_NOV,), "b2bcn:CN-1125", "pending", "ok",
                                     today="2026-01-20"),
    "cn-pending-nov25-window-closed": Row((CN_NOV,), "b2bcn:CN-1125", "pending",
                                          "PENDING_WINDOW_CLOSED", today="2026-01-21"),
    "cn-dated-mar25-in-oct25-2b-period": Row((CN_OCT_OLD_DATE,), "b2bcn:CN-0325", "pending",
                                             "ok"),
    "cn-oct25-monthly-up-window-20th": Row((CN_OCT,), "b2bcn:CN-1025", "pending",
                                           "PENDING_WINDOW_CLOSED", today="2025-12-21",
                                           gstin=MONTHLY_UP),
    # QRMP: the window runs to the 3B due date of Jan-Mar 2026, by state (22nd / 24th).
    "cn-oct25-qrmp-22-last-day": Row((CN_OCT,), "b2bcn:CN-1025", "pending", "ok",
                                     today="2026-04-22", gstin=QRMP_22, frequency="quarterly"),
    "cn-oct25-qrmp-22-closed": Row((CN_OCT,), "b2bcn:CN-1025", "pending",
                                   "PENDING_WINDOW_CLOSED", today="2026-04-23", gstin=QRMP_22,
                                   frequency="quarterly"),
    "cn-dec25-qrmp-24-last-day": Row((doc("b2bcn", "CN-1225", "122025", 90.0),),
                                     "b2bcn:CN-1225", "pending", "ok", today="2026-04-24",
                                     gstin=QRMP_24, frequency="quarterly"),
    "cn-oct25-qrmp-24-closed": Row((CN_OCT,), "b2bcn:CN-1025", "pending",
                                   "PENDING_WINDOW_CLOSED", today="2026-04-25", gstin=QRMP_24,
                                   frequency="quarterly"),
    "cn-oct25-qrmp-open-after-monthly-date": Row((CN_OCT,), "b2bcn:CN-1025", "pending", "ok",
                                                 today="2025-12-21", gstin=QRMP_24,
                                                 frequency="quarterly"),
    # Upward CN amendment: like a credit note, with the reduction declaration.
    "cna-up-pending-sep25": Row((AUG_CN, UP_CNA_SEP), "b2bcna:CN-0825-A", "pending",
                                "PENDING_NOT_ALLOWED"),
    "cna-up-pending-oct25": Row((SEP_CN, UP_CNA_OCT), "b2bcna:CN-0925-A", "pending", "ok"),
    "cna-up-pending-oct25-closed": Row((SEP_CN, UP_CNA_OCT), "b2bcna:CN-0925-A", "pending",
                                       "PENDING_WINDOW_CLOSED", today="2025-12-21"),
    "cna-up-reduce-partial-oct25": Row((SEP_CN, UP_CNA_OCT), "b2bcna:CN-0925-A", "accept",
                                       "ok", extra=("--reduce", "0,100,100,0")),
    "cna-up-reduce-sep25-refused": Row((AUG_CN, UP_CNA_SEP), "b2bcna:CN-0825-A", "accept",
                                       "REDUCTION_NOT_ALLOWED", extra=("--reduce", "full")),
    # Downward CN amendment of a rejected CN.
    "cna-down-orig-rejected-pending-sep25": Row((AUG_CN_REJ, DOWN_CNA_SEP),
                                                "b2bcna:CN-0825R-A", "pending",
                                                "PENDING_NOT_ALLOWED"),
    "cna-down-orig-rejected-accept-sep25": Row((AUG_CN_REJ, DOWN_CNA_SEP),
                                               "b2bcna:CN-0825R-A", "accept", "ok"),
    "cna-down-orig-rejected-pending-oct25": Row((SEP_CN_REJ, DOWN_CNA_OCT),
                                                "b2bcna:CN-0925R-A", "pending", "ok"),
    "cna-down-orig-rejected-reduce-refused": Row((SEP_CN_REJ, DOWN_CNA_OCT),
                                                 "b2bcna:CN-0925R-A", "accept",
                                                 "REDUCTION_NOT_ALLOWED",
                                                 extra=("--reduce", "full")),
    # Upward amendment only saved by the supplier: no action at all (seed FAQ 8).
    "b2ba-up-not-filed-accept": Row((doc("b2b", "INV-1025", "102025", 1000.0), UNFILED_UP),
                                    "b2ba:INV-1025-A", "accept", "NOT_FILED_BY_SUPPLIER"),
    "b2ba-up-not-filed-reject": Row((doc("b2b", "INV-1025", "102025", 1000.0), UNFILED_UP),
                                    "b2ba:INV-1025-A", "reject", "NOT_FILED_BY_SUPPLIER"),
    "b2ba-up-not-filed-pending": Row((doc("b2b", "INV-1025", "102025", 1000.0), UNFILED_UP),
                                     "b2ba:INV-1025-A", "pending", "NOT_FILED_BY_SUPPLIER"),
    # ECO documents (tax paid by the operator u/s 9(5)): as invoices.
    "eco-accept": Row((ECO_NOV,), "ecom:ECO-1125", "accept", "ok"),
    "eco-reject": Row((ECO_NOV,), "ecom:ECO-1125", "reject", "ok"),
    "eco-pending-nov25": Row((ECO_NOV,), "ecom:ECO-1125", "pending", "ok"),
    "eco-pending-sep25": Row((ECO_SEP,), "ecom:ECO-0925P", "pending", "ok"),
    "eco-reduce-refused": Row((ECO_NOV,), "ecom:ECO-1125", "accept", "REDUCTION_NOT_ALLOWED",
                              extra=("--reduce", "full")),
    "ecoma-down-pending-sep25": Row((AUG_ECO, DOWN_ECOMA_SEP), "ecoma:ECO-0825-A", "pending",
                                    "PENDING_NOT_ALLOWED", steps=(FILE_AUG,)),
    "ecoma-down-pending-oct25": Row((SEP_ECO, DOWN_ECOMA_OCT), "ecoma:ECO-0925-A", "pending",
                                    "ok", steps=(FILE_SEP,)),
    "ecoma-down-pending-oct25-closed": Row((SEP_ECO, DOWN_ECOMA_OCT), "ecoma:ECO-0925-A",
                                           "pending", "PENDING_WINDOW_CLOSED",
                                           steps=(FILE_SEP,), today="2025-12-21"),
    # Bills of Entry (import of goods, from the Oct 2025 period): no reject; pending yes;
    # a reduction only where the BoE's GSTIN was amended.
    "boe-accept": Row((boe("impg", "BE-1125", "112025"),), "impg:BE-1125", "accept", "ok"),
    "boe-reject": Row((boe("impg", "BE-1125", "112025"),), "impg:BE-1125", "reject",
                      "REJECT_NOT_ALLOWED"),
    "boe-pending": Row((boe("impg", "BE-1125", "112025"),), "impg:BE-1125", "pending", "ok"),
    "boe-sez-reject": Row((boe("impgsez", "BE-SEZ", "112025", stin=SUPPLIER_GJ),),
                          "impgsez:BE-SEZ", "reject", "REJECT_NOT_ALLOWED"),
    "boe-before-oct25": Row((boe("impg", "BE-0925", "092025"),), "impg:BE-0925", "accept",
                            "NOT_IN_IMS"),
    "boe-amended-gstin-reduce": Row((boe("impga", "BE-A", "112025", original="BE-0",
                                         isgstinamd="Y"),),
                                    "impga:BE-A", "accept", "ok", extra=("--reduce", "nil")),
    "boe-amended-reduce-refused": Row((boe("impga", "BE-A", "112025", original="BE-0"),),
                                      "impga:BE-A", "accept", "REDUCTION_NOT_ALLOWED",
                                      extra=("--reduce", "nil")),
    # Remarks (from Oct 2025): optional on reject and pending, at most 250 characters.
    "remarks-reject-nov25": Row((INV_NOV,), "b2b:INV-1125", "reject", "ok",
                                extra=("--remarks", "Not our purchase")),
    "remarks-pending-nov25-250": Row((INV_NOV,), "b2b:INV-1125", "pending", "ok",
                                     extra=("--remarks", R250)),
    "remarks-reject-251": Row((INV_NOV,), "b2b:INV-1125", "reject", "REMARKS_TOO_LONG",
                              extra=("--remarks", R251)),
    "remarks-reject-sep25": Row((INV_SEP,), "b2b:INV-0925P", "reject", "REMARKS_NOT_ALLOWED",
                                extra=("--remarks", "Not our purchase")),
    "remarks-accept-nov25": Row((INV_NOV,), "b2b:INV-1125", "accept", "REMARKS_NOT_ALLOWED",
                                extra=("--remarks", "fine")),
    "remarks-blank-ignored-sep25": Row((INV_SEP,), "b2b:INV-0925P", "reject", "ok",
                                       extra=("--remarks", "   ")),
    # Declared ITC reduction on accepting a credit note (from Oct 2025).
    "reduce-full": Row((CN_NOV,), "b2bcn:CN-1125", "accept", "ok", extra=("--reduce", "full")),
    "reduce-nil": Row((CN_NOV,), "b2bcn:CN-1125", "accept", "ok", extra=("--reduce", "nil")),
    "reduce-partial-equal-to-tax": Row((CN_NOV,), "b2bcn:CN-1125", "accept", "ok",
                                       extra=("--reduce", "0,90,90,0")),
    "reduce-partial-above-tax": Row((CN_NOV,), "b2bcn:CN-1125", "accept",
                                    "REDUCTION_EXCEEDS_TAX", extra=("--reduce", "0,90.01,0,0")),
    "reduce-partial-igst-on-intra-state": Row((CN_NOV,), "b2bcn:CN-1125", "accept",
                                              "REDUCTION_EXCEEDS_TAX",
                                              extra=("--reduce", "1,0,0,0")),
    "reduce-partial-all-zero": Row((CN_NOV,), "b2bcn:CN-1125", "accept", "REDUCTION_INVALID",
                                   extra=("--reduce", "0,0,0,0")),
    "reduce-on-invoice": Row((INV_NOV,), "b2b:INV-1125", "accept", "REDUCTION_NOT_ALLOWED",
                             extra=("--reduce", "full")),
    "reduce-on-debit-note": Row((DN_NOV,), "b2bdn:DN-1125", "accept", "REDUCTION_NOT_ALLOWED",
                                extra=("--reduce", "nil")),
    "reduce-cn-sep25": Row((CN_SEP,), "b2bcn:CN-0925P", "accept", "REDUCTION_NOT_ALLOWED",
                           extra=("--reduce", "full")),
    "reduce-on-reject": Row((CN_NOV,), "b2bcn:CN-1125", "reject", "REDUCTION_NOT_ALLOWED",
                            extra=("--reduce", "nil")),
    # Per-record portal flags override the derived rules.
    "flag-pending-blocked-invoice": Row((doc("b2b", "INV-PB", "112025", ispendactblocked="Y"),),
                                        "b2b:INV-PB", "pending", "PORTAL_BLOCKED"),
    "flag-pending-open-cn-sep25": Row((doc("b2bcn", "CN-PO", "092025", ispendactblocked="N"),),
                                      "b2bcn:CN-PO", "pending", "ok"),
    # A flag describes the day of its download: N does not reopen a window closed by date.
    "flag-pending-open-cn-oct25-late": Row(
        (doc("b2bcn", "CN-PO", "102025", ispendactblocked="N"),), "b2bcn:CN-PO", "pending",
        "PENDING_WINDOW_CLOSED", today="2025-12-22"),
    "flag-pending-blocked-cn-oct25": Row(
        (doc("b2bcn", "CN-PB", "102025", ispendactblocked="Y"),), "b2bcn:CN-PB", "pending",
        "PORTAL_BLOCKED"),
    "flag-itc-red-blocked-cn": Row((doc("b2bcn", "CN-RB", "112025", isItcRedReqBlocked="Y"),),
                                   "b2bcn:CN-RB", "accept", "PORTAL_BLOCKED",
                                   extra=("--reduce", "nil")),
    "flag-itc-red-blocked-cn-plain-accept": Row(
        (doc("b2bcn", "CN-RB", "112025", isItcRedReqBlocked="Y"),), "b2bcn:CN-RB", "accept",
        "ok"),
    "flag-remarks-blocked-reject": Row((doc("b2b", "INV-RB", "112025", isRemarksBlocked="Y"),),
                                       "b2b:INV-RB", "reject", "PORTAL_BLOCKED",
                                       extra=("--remarks", "not ours")),
    "flag-remarks-open-accept": Row((doc("b2b", "INV-RO", "112025", isRemarksBlocked="N"),),
                                    "b2b:INV-RO", "accept", "ok",
                                    extra=("--remarks", "matched with PO 4471")),
    "flag-remarks-open-still-250": Row((doc("b2b", "INV-RO", "112025", isRemarksBlocked="N"),),
                                       "b2b:INV-RO", "reject", "REMARKS_TOO_LONG",
                                       extra=("--remarks", R251)),
    # §1: after GSTR-3B of the period, accepted/rejected/no-action records are locked.
    "locked-after-3b-accepted": Row((INV_NOV,), "b2b:INV-1125", "reject", "LOCKED_3B_FILED",
                                    steps=(("act", "b2b:INV-1125", "accept"),
                                           ("filed", "112025"))),
    "locked-after-3b-rejected": Row((INV_NOV,), "b2b:INV-1125", "accept", "LOCKED_3B_FILED",
                                    steps=(("act", "b2b:INV-1125", "reject"),
                                           ("filed", "112025"))),
    "locked-after-3b-no-action": Row((INV_NOV,), "b2b:INV-1125", "reject", "LOCKED_3B_FILED",
                                     steps=(("filed", "112025"),)),
    "pending-carried-forward-accept": Row((INV_NOV,), "b2b:INV-1125", "accept", "ok",
                                          steps=(("act", "b2b:INV-1125", "pending"),
                                                 ("filed", "112025"))),
    "pending-carried-forward-reject": Row((INV_NOV,), "b2b:INV-1125", "reject", "ok",
                                          steps=(("act", "b2b:INV-1125", "pending"),
                                                 ("filed", "112025"))),
    "locked-qrmp-quarter": Row((doc("b2b", "INV-1025Q", "102025"),), "b2b:INV-1025Q",
                               "accept", "LOCKED_3B_FILED", steps=(("filed", "122025"),),
                               today="2026-01-20", gstin=QRMP_24, frequency="quarterly"),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_single_action_rules(sqlite_cli: Cli, name: str) -> None:
    cli = sqlite_cli
    row = ROWS[name]
    cli.load(row.gstin, *row.docs, frequency=row.frequency)
    for step in row.steps:
        if step[0] == "act":
            ok(cli.act(row.gstin, step[1], step[2], today=row.today))
        else:
            ok(cli("filed", "--gstin", row.gstin, "--period", step[1], today=row.today))
    before = cli.records(row.gstin)[row.target]
    result = cli.act(row.gstin, row.target, row.action, *row.extra, today=row.today)
    if row.expect == "ok":
        ok(result)
        record = cli.records(row.gstin)[row.target]
        assert record["status"] == {"accept": "accepted", "reject": "rejected",
                                    "pending": "pending"}[row.action]
    else:
        refused(result, row.expect)
        assert cli.records(row.gstin)[row.target] == before  # nothing changed


def test_records_list_offers_only_allowed_actions(cli: Cli) -> None:
    """`records --json` shows the same verdicts `act` applies (the buttons' source)."""
    cli.load(MONTHLY, CN_SEP, CN_OCT, INV_NOV, doc("b2b", "INV-1025", "102025", 1000.0),
             UNFILED_UP)
    records = cli.records(MONTHLY)
    assert records["b2bcn:CN-0925P"]["allowed_actions"] == ["accept", "reject"]
    assert records["b2bcn:CN-1025"]["allowed_actions"] == ["accept", "reject", "pending"]
    assert records["b2bcn:CN-1025"]["pending_window_end"] == "2025-12-20"
    assert records["b2b:INV-1125"]["allowed_actions"] == ["accept", "reject", "pending"]
    assert records["b2ba:INV-1025-A"]["allowed_actions"] == []
    late = {r["number"]: r for r in cli("records", "--gstin", MONTHLY, "--json",
                                        today="2025-12-21").json()}
    assert late["CN-1025"]["allowed_actions"] == ["accept", "reject"]
    assert late["CN-1025"]["effective_status"] == "accepted"  # no action = deemed accepted


# ------------------------------------------------------------------------ §1 / §2 flows


def test_records_before_oct_2024_never_appear(cli: Cli) -> None:
    result = cli.load(MONTHLY, INV_NOV, doc("b2b", "INV-0924", "092024"), ok=False)
    assert result.code == ExitCode.FAILED and "before Oct 2024" in result.stderr
    assert cli("records", "--gstin", MONTHLY, "--json").json() == []  # all or nothing


def test_unfiled_upward_amendment_can_be_acted_on_once_filed(cli: Cli) -> None:
    original = doc("b2b", "INV-1025", "102025", 1000.0)
    cli.load(MONTHLY, original, UNFILED_UP)
    refused(cli.act(MONTHLY, "b2ba:INV-1025-A", "accept"), "NOT_FILED_BY_SUPPLIER")
    filed = amend("b2ba", "", "112025", 1400.0, original)
    report = cli.load(MONTHLY, original, filed).json()
    assert report["updated"] == 1 and report["unchanged"] == 1
    ok(cli.act(MONTHLY, "b2ba:INV-1025-A", "accept"))


def test_last_action_wins_and_double_act_is_a_no_op(cli: Cli) -> None:
    cli.load(MONTHLY, INV_NOV)
    ok(cli.act(MONTHLY, "b2b:INV-1125", "pending", "--remarks", "awaiting goods"))
    ok(cli.act(MONTHLY, "b2b:INV-1125", "reject", "--remarks", "goods never came"))
    again = cli.act(MONTHLY, "b2b:INV-1125", "reject", "--remarks", "goods never came")
    ok(again)
    assert "nothing changed" in again.stdout
    record = cli.records(MONTHLY)["b2b:INV-1125"]
    assert record["status"] == "rejected" and record["remarks"] == "goods never came"
    history = cli("history", "--gstin", MONTHLY, "--json").json()
    assert [e["to"] for e in history if e["kind"] == "action"] == ["rejected", "pending"]
    ok(cli.act(MONTHLY, "b2b:INV-1125", "accept"))
    assert cli.records(MONTHLY)["b2b:INV-1125"]["remarks"] is None


def test_stale_version_is_a_conflict(cli: Cli) -> None:
    cli.load(MONTHLY, INV_NOV)
    version = cli.records(MONTHLY)["b2b:INV-1125"]["version"]
    ok(cli.act(MONTHLY, "b2b:INV-1125", "accept", "--version", str(version)))
    stale = cli.act(MONTHLY, "b2b:INV-1125", "reject", "--version", str(version))
    assert stale.code == ExitCode.CONFLICT and stale.stderr.startswith("ims-bot: conflict:")
    assert cli.records(MONTHLY)["b2b:INV-1125"]["status"] == "accepted"
    fresh = cli.records(MONTHLY)["b2b:INV-1125"]["version"]
    ok(cli.act(MONTHLY, "b2b:INV-1125", "reject", "--version", str(fresh)))


def test_reimport_is_idempotent_and_keeps_decisions(cli: Cli) -> None:
    docs = (INV_NOV, CN_NOV, DN_NOV, ECO_NOV)
    first = cli.load(MONTHLY, *docs).json()
    assert first["created"] == 4
    ok(cli.act(MONTHLY, "b2b:INV-1125", "reject", "--remarks", "not ours"))
    ok(cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "nil"))
    before = cli.records(MONTHLY)
    second = cli.load(MONTHLY, *docs).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 4)
    assert second["reset_by_supplier"] == 0
    assert cli.records(MONTHLY) == before


def test_supplier_edit_after_action_resets_to_no_action(cli: Cli) -> None:
    cli.load(MONTHLY, INV_NOV, CN_NOV)
    ok(cli.act(MONTHLY, "b2b:INV-1125", "reject", "--remarks", "rate wrong"))
    ok(cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "0,40,40,0"))
    edited = doc("b2b", "INV-1125", "112025", 850.0)  # the supplier corrected the tax
    report = cli.load(MONTHLY, edited, CN_NOV).json()
    assert report["reset_by_supplier"] == 1 and report["unchanged"] == 1
    records = cli.records(MONTHLY)
    invoice = records["b2b:INV-1125"]
    assert invoice["status"] == "no_action" and invoice["remarks"] is None
    assert invoice["cgst"] == 850.0
    assert records["b2bcn:CN-1125"]["status"] == "accepted"
    history = cli("history", "--gstin", MONTHLY, str(cli.ids["b2b:INV-1125"]), "--json").json()
    assert history[0]["kind"] == "supplier_edit"
    ok(cli.act(MONTHLY, "b2b:INV-1125", "accept"))  # a fresh decision


def test_portal_status_is_taken_unless_a_local_decision_waits(cli: Cli) -> None:
    cli.load(MONTHLY, INV_NOV, doc("b2b", "INV-B", "112025"))
    ok(cli.act(MONTHLY, "b2b:INV-1125", "reject"))
    # Both accepted on the portal directly since the last download.
    cli.load(MONTHLY, doc("b2b", "INV-1125", "112025", action="A"),
             doc("b2b", "INV-B", "112025", action="A"))
    records = cli.records(MONTHLY)
    assert records["b2b:INV-B"]["status"] == "accepted"
    assert records["b2b:INV-1125"]["status"] == "rejected"  # not yet uploaded: kept


def test_filing_locks_the_period_and_carries_pending_forward(cli: Cli) -> None:
    cli.load(MONTHLY, doc("b2b", "A", "112025", 1000.0), doc("b2b", "R", "112025", 300.0),
             doc("b2b", "P", "112025", 200.0), doc("b2b", "N", "112025", 50.0),
             doc("b2bcn", "CN-P", "112025", 90.0))
    ok(cli.act(MONTHLY, "b2b:A", "accept"))
    ok(cli.act(MONTHLY, "b2b:R", "reject"))
    ok(cli.act(MONTHLY, "b2b:P", "pending"))
    ok(cli.act(MONTHLY, "b2bcn:CN-P", "pending", "--remarks", "awaiting return of goods"))
    refused(cli("filed", "--gstin", MONTHLY, "--period", "122025"), "PERIOD_NOT_ENDED")
    filed = cli("filed", "--gstin", MONTHLY, "--period", "112025")
    ok(filed)
    assert "2 pending record(s) carried forward" in filed.stdout
    again = cli("filed", "--gstin", MONTHLY, "--period", "112025")
    ok(again)
    assert "already" in again.stdout
    records = cli.records(MONTHLY)
    assert records["b2b:P"]["itc_period"] == "122025" and records["b2b:P"]["period"] == "112025"
    assert records["b2b:A"]["locked"] and records["b2b:R"]["locked"] and records["b2b:N"]["locked"]
    assert not records["b2b:P"]["locked"]
    open_ = cli("records", "--gstin", MONTHLY, "--open", "--json").json()
    assert sorted(r["number"] for r in open_) == ["CN-P", "P"]
    for key, action in (("b2b:A", "reject"), ("b2b:R", "accept"), ("b2b:N", "pending")):
        refused(cli.act(MONTHLY, key, action), "LOCKED_3B_FILED")
    refused(cli("undo", "--gstin", MONTHLY, str(cli.ids["b2b:A"])), "LOCKED_3B_FILED")
    # The carried credit note keeps its own window (Nov 2025 → 20 Jan 2026).
    ok(cli.act(MONTHLY, "b2bcn:CN-P", "pending", "--remarks", "still awaiting",
               today="2026-01-20"))
    refused(cli.act(MONTHLY, "b2bcn:CN-P", "pending", "--remarks", "and still",
                    today="2026-01-21"), "PENDING_WINDOW_CLOSED")
    ok(cli.act(MONTHLY, "b2b:P", "accept"))
    dec = cli.recompute(MONTHLY, "122025", today="2026-01-14").json()
    assert dec["available"]["cgst"] == 200.0 and dec["available"]["count"] == 1


def test_bulk_applies_the_same_rules_as_one_action(cli: Cli) -> None:
    cli.load(MONTHLY, INV_NOV, INV_SEP, doc("b2b", "INV-RB", "112025", isRemarksBlocked="Y"),
             CN_SEP, CN_OCT)
    preview = cli("bulk", "--gstin", MONTHLY, "reject", "--section", "b2b", "--remarks",
                  "Not our purchase", "--json").json()
    assert preview["eligible"] == 1 and sum(preview["refused"].values()) == 2
    done = cli("bulk", "--gstin", MONTHLY, "reject", "--section", "b2b", "--remarks",
               "Not our purchase", "--yes", "--json").json()
    assert done["changed"] == 1
    records = cli.records(MONTHLY)
    assert records["b2b:INV-1125"]["status"] == "rejected"
    assert records["b2b:INV-1125"]["remarks"] == "Not our purchase"
    assert records["b2b:INV-0925P"]["status"] == "no_action"  # remarks before Oct 2025
    assert records["b2b:INV-RB"]["status"] == "no_action"  # remarks blocked by the portal
    pending = cli("bulk", "--gstin", MONTHLY, "pending", "--section", "b2bcn", "--yes",
                  "--json").json()
    assert pending["changed"] == 1 and sum(pending["refused"].values()) == 1
    assert cli.records(MONTHLY, "--status", "pending").keys() == {"b2bcn:CN-1025"}
    accepted = cli("bulk", "--gstin", MONTHLY, "accept", "--section", "b2bcn", "--yes",
                   "--json").json()
    assert accepted["changed"] == 2
    assert {r["reduction"] for k, r in cli.records(MONTHLY).items() if "cn" in k} == {
        None, "full"}  # full by default from Oct 2025; no declaration before


def test_undo_returns_the_previous_status(cli: Cli) -> None:
    cli.load(MONTHLY, CN_NOV)
    ok(cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "nil"))
    ok(cli("undo", "--gstin", MONTHLY, str(cli.ids["b2bcn:CN-1125"])))
    record = cli.records(MONTHLY)["b2bcn:CN-1125"]
    assert record["status"] == "no_action" and record["reduction"] is None


# ------------------------------------------------------------------------ §3: recompute


def _bucket(data: dict[str, Any], name: str) -> tuple[float, float, float, float, int]:
    b = data[name]
    return (b["igst"], b["cgst"], b["sgst"], b["cess"], b["count"])


def test_recompute_window_and_figures(cli: Cli) -> None:
    cli.load(
        MONTHLY,
        doc("b2b", "INV-A", "112025", 1000.0),
        doc("b2b", "INV-N", "112025", 50.0),  # no action = accepted
        doc("b2b", "INV-R", "112025", 300.0),
        doc("b2b", "INV-P", "112025", 200.0),
        doc("b2b", "INV-IGST", "112025", 1800.0, supplier=SUPPLIER_GJ),
        doc("b2bdn", "DN-A", "112025", 100.0),
        doc("ecom", "ECO-N", "112025", 25.0),
        doc("b2bcn", "CN-FULL", "112025", 100.0),
        doc("b2bcn", "CN-DEFAULT", "112025", 10.0),  # no action: reduces in full
        doc("b2bcn", "CN-PART", "112025", 80.0),
        doc("b2bcn", "CN-NIL", "112025", 70.0),
        doc("b2bcn", "CN-REJ", "112025", 60.0),
        doc("b2bcn", "CN-PEND", "112025", 40.0),
        doc("b2bcn", "CN-IGST", "112025", 180.0, supplier=SUPPLIER_GJ),
        doc("b2b", "INV-OCT", "102025", 5000.0),  # another period: not in Nov's 2B
    )
    ok(cli.act(MONTHLY, "b2b:INV-A", "accept"))
    ok(cli.act(MONTHLY, "b2b:INV-R", "reject", "--remarks", "not ours"))
    ok(cli.act(MONTHLY, "b2b:INV-P", "pending"))
    ok(cli.act(MONTHLY, "b2bdn:DN-A", "accept"))
    ok(cli.act(MONTHLY, "b2bcn:CN-FULL", "accept", "--reduce", "full"))
    ok(cli.act(MONTHLY, "b2bcn:CN-PART", "accept", "--reduce", "0,30,25,0"))
    ok(cli.act(MONTHLY, "b2bcn:CN-NIL", "accept", "--reduce", "nil"))
    ok(cli.act(MONTHLY, "b2bcn:CN-REJ", "reject"))
    ok(cli.act(MONTHLY, "b2bcn:CN-PEND", "pending"))
    ok(cli.act(MONTHLY, "b2bcn:CN-IGST", "accept", "--reduce", "100,0,0,0"))

    refused(cli.recompute(MONTHLY, "112025", today="2025-12-13"), "IMS2B009")
    first = cli.recompute(MONTHLY, "112025", today="2025-12-14")
    ok(first)
    data = first.json()
    assert data["period"] == "112025" and data["change"] is None
    # Gross ITC: A 1000 + N 50 + DN 100 + ECO 25 (CGST/SGST each), IGST 1800: 5 records.
    # Credit notes reduce it: CGST 100 + 10 + 30 + 0 = 140, SGST 100 + 10 + 25 = 135, IGST 100.
    assert _bucket(data, "credit_note_reduction") == (100.0, 140.0, 135.0, 0.0, 5)
    assert _bucket(data, "available") == (1700.0, 1035.0, 1040.0, 0.0, 5)
    assert _bucket(data, "rejected") == (0.0, 360.0, 360.0, 0.0, 2)
    assert _bucket(data, "pending") == (0.0, 240.0, 240.0, 0.0, 2)

    same = cli.recompute(MONTHLY, "112025", today="2025-12-15").json()
    assert same["unchanged"] is True
    assert all(v == 0 for b in same["change"].values() for v in b.values())

    # A wrong rejection found before 3B: accept again, keep P pending no more, recompute.
    ok(cli.act(MONTHLY, "b2b:INV-R", "accept", today="2025-12-15"))
    ok(cli.act(MONTHLY, "b2bcn:CN-PEND", "accept", "--reduce", "nil", today="2025-12-15"))
    second = cli.recompute(MONTHLY, "112025", today="2025-12-16").json()
    assert second["unchanged"] is False
    assert _bucket(second["change"], "rejected") == (0.0, -300.0, -300.0, 0.0, -1)
    assert _bucket(second["change"], "available") == (0.0, 300.0, 300.0, 0.0, 1)
    assert _bucket(second["change"], "pending") == (0.0, -40.0, -40.0, 0.0, -1)
    assert _bucket(second["change"], "credit_note_reduction") == (0.0, 0.0, 0.0, 0.0, 1)

    ok(cli("filed", "--gstin", MONTHLY, "--period", "112025", today="2025-12-18"))
    refused(cli.recompute(MONTHLY, "112025", today="2025-12-18"), "IMS2B007")
    # The earlier period is its own: not filed, so still open for recompute.
    ok(cli.recompute(MONTHLY, "102025", today="2025-12-18"))


def test_recompute_counts_a_credit_note_past_its_window_as_accepted(cli: Cli) -> None:
    cli.load(MONTHLY, doc("b2bcn", "CN-1025", "102025", 90.0),
             doc("b2b", "INV-1025", "102025", 900.0))
    ok(cli.act(MONTHLY, "b2bcn:CN-1025", "pending", today="2025-11-20"))
    held = cli.recompute(MONTHLY, "102025", today="2025-12-20").json()
    assert held["pending"]["count"] == 1 and held["credit_note_reduction"]["count"] == 0
    late = cli.recompute(MONTHLY, "102025", today="2025-12-21").json()
    assert late["pending"]["count"] == 0
    assert _bucket(late, "credit_note_reduction") == (0.0, 90.0, 90.0, 0.0, 1)
    assert _bucket(late, "available") == (0.0, 810.0, 810.0, 0.0, 1)


def test_recompute_downward_amendment_pending_past_its_window(cli: Cli) -> None:
    """A downward amendment of ITC already taken: pending for one tax period, then deemed
    accepted, in GSTR-2B as in the record list."""
    cli.load(MONTHLY, SEP_INV, DOWN_B2BA_OCT, doc("b2ba", "INV-X-A", "102025", 100.0,
                                                  original="INV-X", original_day="05-09-2025"))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025"))
    ok(cli.act(MONTHLY, "b2ba:INV-0925-A", "pending"))
    ok(cli.act(MONTHLY, "b2ba:INV-X-A", "pending"))  # original unknown: ordinary pending
    held = cli.recompute(MONTHLY, "102025", today="2025-12-20").json()
    assert _bucket(held, "pending") == (0.0, 700.0, 700.0, 0.0, 2)
    late = cli.recompute(MONTHLY, "102025", today="2025-12-21").json()
    assert _bucket(late, "pending") == (0.0, 100.0, 100.0, 0.0, 1)
    # Deemed accepted, it counts by its change: 1,000 → 600 takes 400 off ITC (§3).
    assert _bucket(late, "available") == (0.0, -400.0, -400.0, 0.0, 1)
    assert _bucket(late["change"], "pending")[-1] == -1
    view = cli("records", "--gstin", MONTHLY, "--section", "b2ba", "--json",
               today="2025-12-21").json()
    assert {r["number"]: r["effective_status"] for r in view} == {
        "INV-0925-A": "accepted", "INV-X-A": "pending"}


SEP_IGST = doc("b2b", "INV-IG", "092025", 18000.0, supplier=SUPPLIER_GJ, action="A")


def _igst(data: dict[str, Any], name: str) -> tuple[float, int]:
    return data[name]["igst"], data[name]["count"]


def test_amendments_count_by_their_change(cli: Cli) -> None:
    """ims-facts §3: an invoice accepted and claimed in Sep 2025, amended in Nov 2025."""
    down = amend("b2ba", "", "112025", 9000.0, SEP_IGST, supplier=SUPPLIER_GJ)
    cli.load(MONTHLY, SEP_IGST, down, doc("b2b", "INV-NOV", "112025", 1000.0,
                                          supplier=SUPPLIER_GJ))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025"))
    data = cli.recompute(MONTHLY, "112025").json()
    # 1,000 of November's own invoice, less the 9,000 the amendment cut.
    assert _igst(data, "available") == (-8000.0, 2)
    assert data["not_netted"]["count"] == 0


def test_upward_amendment_adds_only_the_difference(cli: Cli) -> None:
    original = doc("b2b", "INV-UP", "092025", 1800.0, supplier=SUPPLIER_GJ, action="A")
    cli.load(MONTHLY, original, amend("b2ba", "", "112025", 3600.0, original,
                                      supplier=SUPPLIER_GJ))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025"))
    assert _igst(cli.recompute(MONTHLY, "112025").json(), "available") == (1800.0, 1)


def test_amendment_of_a_rejected_original_counts_in_full(cli: Cli) -> None:
    original = doc("b2b", "INV-RJ", "092025", 1800.0, supplier=SUPPLIER_GJ, action="R")
    cli.load(MONTHLY, original, amend("b2ba", "", "112025", 3600.0, original,
                                      supplier=SUPPLIER_GJ))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025"))
    assert _igst(cli.recompute(MONTHLY, "112025").json(), "available") == (3600.0, 1)


def test_credit_note_amendment_counts_by_its_change(cli: Cli) -> None:
    cn = doc("b2bcn", "CN-IG", "092025", 1000.0, supplier=SUPPLIER_GJ, action="A")
    cli.load(MONTHLY, cn, amend("b2bcna", "", "112025", 600.0, cn, supplier=SUPPLIER_GJ),
             doc("b2b", "INV-NOV", "112025", 5000.0, supplier=SUPPLIER_GJ))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025"))
    data = cli.recompute(MONTHLY, "112025").json()
    # The credit note shrank by 400: that much ITC comes back.
    assert _igst(data, "credit_note_reduction") == (-400.0, 1)
    assert _igst(data, "available") == (5400.0, 1)


def test_amendment_without_its_original_is_not_counted_silently(cli: Cli) -> None:
    lone = doc("b2ba", "INV-LONE-A", "112025", 9000.0, supplier=SUPPLIER_GJ,
               original="INV-LONE", original_day="05-09-2025")
    cli.load(MONTHLY, lone, doc("b2b", "INV-NOV", "112025", 1000.0, supplier=SUPPLIER_GJ))
    data = cli.recompute(MONTHLY, "112025").json()
    assert _igst(data, "available") == (1000.0, 1)
    assert _igst(data, "not_netted") == (9000.0, 1)
    assert any("1 amendment(s) could not be netted" in note for note in data["notes"])
    text = cli("recompute", "--gstin", MONTHLY, "--period", "112025").stdout
    assert "could not be netted" in text


def test_declared_reduction_of_a_downward_amendment_is_capped_by_the_cut(cli: Cli) -> None:
    original = doc("b2b", "INV-CAP", "092025", 18000.0, supplier=SUPPLIER_GJ, action="A")
    cli.load(MONTHLY, original, amend("b2ba", "", "112025", 12000.0, original,
                                      supplier=SUPPLIER_GJ))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025"))
    refused(cli.act(MONTHLY, "b2ba:INV-CAP-A", "accept", "--reduce", "6001,0,0,0"),
            "REDUCTION_EXCEEDS_TAX")
    ok(cli.act(MONTHLY, "b2ba:INV-CAP-A", "accept", "--reduce", "2000,0,0,0"))
    assert _igst(cli.recompute(MONTHLY, "112025").json(), "available") == (-2000.0, 1)


def test_saved_records_count_in_no_gstr2b_figure_until_filed(cli: Cli) -> None:
    cli.load(MONTHLY, doc("b2b", "INV-SAVED", "112025", 700.0, filed=False),
             doc("b2bcn", "CN-SAVED", "112025", 70.0, filed=False),
             doc("b2b", "INV-FILED", "112025", 100.0))
    ok(cli.act(MONTHLY, "b2b:INV-SAVED", "accept"))  # acting on a saved record is allowed
    data = cli.recompute(MONTHLY, "112025").json()
    assert _bucket(data, "available") == (0.0, 100.0, 100.0, 0.0, 1)
    assert _bucket(data, "credit_note_reduction") == (0.0, 0.0, 0.0, 0.0, 0)
    assert _bucket(data, "not_filed") == (0.0, 770.0, 770.0, 0.0, 2)
    # Once the supplier files them, they count.
    cli.load(MONTHLY, doc("b2b", "INV-SAVED", "112025", 700.0, action="A"),
             doc("b2bcn", "CN-SAVED", "112025", 70.0))
    later = cli.recompute(MONTHLY, "112025", today="2025-12-17").json()
    assert _bucket(later, "not_filed")[-1] == 0
    assert _bucket(later, "available") == (0.0, 730.0, 730.0, 0.0, 2)


def test_section_16_4_keeps_time_barred_itc_out_of_available(cli: Cli) -> None:
    """An FY 2024-25 invoice the supplier reported in Nov 2025: its 3B comes after the Oct 2025
    return, the last that can carry that year's ITC."""
    late = doc("b2b", "INV-2425", "112025", 500.0, day="20-03-2025")
    cli.load(MONTHLY, late, doc("b2b", "INV-NOV", "112025", 100.0))
    refused(cli.act(MONTHLY, "b2b:INV-2425", "pending"), "ITC_TIME_LIMIT_PASSED")
    accepted = cli.act(MONTHLY, "b2b:INV-2425", "accept")
    ok(accepted)
    assert "time-barred under Section 16(4)" in accepted.stdout
    assert "brings no ITC" in accepted.stdout
    record = cli.records(MONTHLY)["b2b:INV-2425"]
    assert "FY 2024-25" in record["time_barred"]
    data = cli.recompute(MONTHLY, "112025").json()
    assert _bucket(data, "available") == (0.0, 100.0, 100.0, 0.0, 1)
    assert _bucket(data, "time_barred") == (0.0, 500.0, 500.0, 0.0, 1)


def test_section_16_4_once_the_october_return_is_filed(cli: Cli) -> None:
    pending = doc("b2b", "INV-0925", "092025", 300.0, day="10-03-2025")
    cli.load(MONTHLY, pending)
    ok(cli.act(MONTHLY, "b2b:INV-0925", "pending", today="2025-10-10"))
    ok(cli("filed", "--gstin", MONTHLY, "--period", "092025", today="2025-10-18"))
    # Before the Oct 2025 return is filed, it may still wait (30 Nov has not passed).
    before = cli("records", "--gstin", MONTHLY, "--json", today="2025-11-10").json()
    assert before[0]["time_barred"] is None
    ok(cli("filed", "--gstin", MONTHLY, "--period", "102025", today="2025-11-15"))
    accepted = cli.act(MONTHLY, "b2b:INV-0925", "accept", today="2025-11-16")
    ok(accepted)
    assert "brings no ITC" in accepted.stdout
    refused(cli.act(MONTHLY, "b2b:INV-0925", "pending", today="2025-11-16"),
            "ITC_TIME_LIMIT_PASSED")


def test_annual_return_filed_early_ends_the_time_limit(cli: Cli) -> None:
    cli.load(MONTHLY, doc("b2b", "INV-0925", "092025", 300.0, day="10-03-2025"))
    ok(cli.act(MONTHLY, "b2b:INV-0925", "pending", today="2025-10-10"))
    result = cli("annual-return", "--gstin", MONTHLY, "--fy", "2024-25", "--filed-on",
                 "2025-10-20", today="2025-10-25")
    ok(result)
    assert "FY 2024-25" in result.stdout
    ok(cli.act(MONTHLY, "b2b:INV-0925", "accept", today="2025-10-25"))
    refused(cli.act(MONTHLY, "b2b:INV-0925", "pending", today="2025-10-25"),
            "ITC_TIME_LIMIT_PASSED")
    future = cli("annual-return", "--gstin", MONTHLY, "--fy", "2024-25", "--filed-on",
                 "2025-11-20", today="2025-10-25")
    refused(future, "PERIOD_NOT_ENDED")
    assert cli("annual-return", "--gstin", MONTHLY, "--fy", "24", "--filed-on",
               "2025-10-20").code == ExitCode.USAGE


def test_recompute_qrmp_covers_the_quarter(cli: Cli) -> None:
    cli.load(QRMP_24, doc("b2b", "OCT", "102025", 100.0), doc("b2b", "NOV", "112025", 200.0),
             doc("b2b", "DEC", "122025", 300.0), doc("b2bcn", "CN", "112025", 50.0),
             frequency="quarterly")
    refused(cli.recompute(QRMP_24, "112025", today="2026-01-13"), "IMS2B009")
    data = cli.recompute(QRMP_24, "102025", today="2026-01-14").json()
    assert data["period"] == "122025" and data["frequency"] == "quarterly"
    assert _bucket(data, "available") == (0.0, 550.0, 550.0, 0.0, 3)
    assert _bucket(data, "credit_note_reduction") == (0.0, 50.0, 50.0, 0.0, 1)
    ok(cli("filed", "--gstin", QRMP_24, "--period", "122025", today="2026-01-20"))
    refused(cli.recompute(QRMP_24, "112025", today="2026-01-20"), "IMS2B007")


# ------------------------------------------------------------------------ export


def test_export_carries_the_portal_fields(cli: Cli) -> None:
    cli.load(
        MONTHLY,
        INV_NOV,
        doc("b2b", "INV-PEND", "112025"),
        doc("b2b", "INV-PORTAL", "112025", action="A"),  # already saved on the portal
        doc("b2b", "INV-FLIP", "112025", action="P"),
        CN_NOV,
        doc("b2bcn", "CN-NIL", "112025", 70.0),
        doc("b2bcn", "CN-FULL", "112025", 60.0),
        CN_SEP,
    )
    ok(cli.act(MONTHLY, "b2b:INV-1125", "reject", "--remarks", "Not our purchase"))
    ok(cli.act(MONTHLY, "b2b:INV-PEND", "pending", "--remarks", "Goods in transit"))
    ok(cli.act(MONTHLY, "b2b:INV-FLIP", "accept"))
    # The IGST head of an intra-state note holds nothing: 10 IGST is above it.
    refused(cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "10,20,30,0"),
            "REDUCTION_EXCEEDS_TAX")
    ok(cli.act(MONTHLY, "b2bcn:CN-NIL", "accept", "--reduce", "nil"))
    ok(cli.act(MONTHLY, "b2bcn:CN-FULL", "accept"))
    ok(cli.act(MONTHLY, "b2bcn:CN-0925P", "accept"))
    result = cli("export", "--gstin", MONTHLY)
    ok(result)
    save = result.json()
    assert save["rtin"] == MONTHLY and save["reqtyp"] == "SAVE"
    b2b = {r["inum"]: r for r in save["invdata"]["b2b"]}
    assert set(b2b) == {"INV-1125", "INV-PEND", "INV-FLIP"}  # INV-PORTAL: nothing to save
    assert b2b["INV-1125"]["action"] == "R" and b2b["INV-1125"]["prev_status"] == "N"
    assert b2b["INV-1125"]["remarks"] == "Not our purchase"
    assert b2b["INV-1125"]["stin"] == SUPPLIER and b2b["INV-1125"]["idt"] == "05-11-2025"
    assert "hash" not in b2b["INV-1125"]  # the providers' schemas forbid it (IMSSAV005)
    assert b2b["INV-PEND"]["action"] == "P" and b2b["INV-PEND"]["remarks"] == "Goods in transit"
    assert b2b["INV-FLIP"]["action"] == "A" and b2b["INV-FLIP"]["prev_status"] == "P"
    assert "itcRedReq" not in b2b["INV-FLIP"] and "remarks" not in b2b["INV-FLIP"]
    cn = {r["nt_num"]: r for r in save["invdata"]["b2bcn"]}
    assert cn["CN-NIL"]["itcRedReq"] == "N" and "declCgst" not in cn["CN-NIL"]
    assert cn["CN-FULL"]["itcRedReq"] == "Y" and "declCgst" not in cn["CN-FULL"]
    assert "itcRedReq" not in cn["CN-0925P"]  # before Oct 2025: no declaration
    assert "CN-1125" not in cn  # the refused partial reduction saved nothing


def test_export_partial_reduction_and_its_change(cli: Cli) -> None:
    cli.load(MONTHLY, CN_NOV)
    ok(cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "0,30,30,0"))
    changed = cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "0,50,45,0")
    ok(changed)
    assert "nothing changed" not in changed.stdout  # the last declaration wins
    item = cli("export", "--gstin", MONTHLY).json()["invdata"]["b2bcn"][0]
    assert (item["action"], item["itcRedReq"]) == ("A", "Y")
    assert (item["declIgst"], item["declCgst"], item["declSgst"], item["declCess"]) == (
        0.0, 50.0, 45.0, 0.0)
    data = cli.recompute(MONTHLY, "112025").json()
    assert _bucket(data, "credit_note_reduction") == (0.0, 50.0, 45.0, 0.0, 1)
    same = cli.act(MONTHLY, "b2bcn:CN-1125", "accept", "--reduce", "0,50,45,0")
    ok(same)
    assert "nothing changed" in same.stdout


def test_export_reset_for_a_record_taken_back_to_no_action(cli: Cli, tmp_path: Path) -> None:
    cli.load(MONTHLY, INV_NOV, doc("b2b", "INV-P", "112025", action="P"))
    ok(cli.act(MONTHLY, "b2b:INV-P", "accept"))
    ok(cli("undo", "--gstin", MONTHLY, str(cli.ids["b2b:INV-P"])))  # pending again
    ok(cli.act(MONTHLY, "b2b:INV-1125", "accept"))
    # The accept was uploaded: the next download shows it; then it is undone locally.
    cli.load(MONTHLY, doc("b2b", "INV-1125", "112025", action="A"),
             doc("b2b", "INV-P", "112025", action="P"))
    ok(cli("undo", "--gstin", MONTHLY, str(cli.ids["b2b:INV-1125"])))
    target = tmp_path / "save.json"
    result = cli("export", "--gstin", MONTHLY, "-o", str(target))
    ok(result)
    assert json.loads(target.read_text())["invdata"] == {}
    assert "RESET" in result.stderr
    reset = json.loads(target.with_suffix(".reset.json").read_text())
    [item] = reset["invdata"]["b2b"]
    assert reset["reqtyp"] == "RESET" and item["inum"] == "INV-1125"
    assert "action" not in item and item["prev_status"] == "A"  # a reset item has no action
