"""A realistic demo data set: a Maharashtra business and a few hundred IMS records.

Deterministic for a seed, with every portal section, suppliers with valid GSTINs, the
Oct 2025 credit-note cases (pending allowed for one tax period), amendments both ways and a
few records the supplier only saved. Used by the console demo and by the tests.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ims_bot.db import Database
from ims_bot.domain import Frequency, Period
from ims_bot.gstin import make_gstin
from ims_bot.importer import ImportReport, import_file
from ims_bot.recompute import PeriodService
from ims_bot.workspaces import Workspace, ensure_workspace

DEMO_GSTIN = make_gstin("27", "AAPFU0939F")  # a Pune trading firm (Maharashtra)
DEMO_NAME = "Shree Ganesh Traders"
#: The demo's "today": the draft GSTR-2B of Nov 2025 is out (14 Dec), GSTR-3B due 20 Dec.
DEMO_TODAY = date(2025, 12, 16)
#: GSTR-3B already filed in the demo (so those periods are locked, pending carried forward).
DEMO_FILED = (Period(2025, 9), Period(2025, 10))


@dataclass(frozen=True)
class Supplier:
    name: str
    state: str
    pan: str

    @property
    def gstin(self) -> str:
        return make_gstin(self.state, self.pan)


SUPPLIERS = (
    Supplier("Tata Steel Distributors", "27", "AABCT1332L"),
    Supplier("Mahalaxmi Packaging", "27", "AAGFM4521K"),
    Supplier("Sai Logistics", "27", "ABCPS7788Q"),
    Supplier("Gujarat Chemicals Pvt Ltd", "24", "AACCG9012M"),
    Supplier("Bharat Electricals", "29", "AADFB3344N"),
    Supplier("Krishna Office Supplies", "27", "AFZPK2255H"),
    Supplier("Deccan Paper Mills", "36", "AACCD6677P"),
    Supplier("Om Hardware Mart", "27", "BBQPO1122R"),
    Supplier("Vardhman Textiles", "03", "AAACV4455T"),
    Supplier("Annapurna Caterers", "27", "CCHPA8899D"),
    Supplier("Sharma IT Services", "07", "AAKFS5566E"),
    Supplier("Flipkart Marketplace Sellers", "29", "AACCF0683K"),
)


def _tax(rng: random.Random, supplier: Supplier, rate: int) -> dict[str, Any]:
    txval = Decimal(rng.randrange(1500, 250000)).quantize(Decimal("1"))
    tax = (txval * rate / 100).quantize(Decimal("0.01"))
    if supplier.state == "27":
        half = (tax / 2).quantize(Decimal("0.01"))
        heads = {"iamt": 0.0, "camt": float(half), "samt": float(half)}
    else:
        heads = {"iamt": float(tax), "camt": 0.0, "samt": 0.0}
    cess = float((txval * Decimal("0.01")).quantize(Decimal("0.01"))) if rate == 28 else 0.0
    total = txval + tax + Decimal(str(cess))
    return {"txval": float(txval), **heads, "cess": cess, "val": float(total)}


def _date_in(rng: random.Random, period: Period) -> date:
    start = period.first_day
    return start + timedelta(days=rng.randrange(0, 27))


def _base(supplier: Supplier, period: Period, rng: random.Random, form: str = "R1") -> dict:
    return {
        "stin": supplier.gstin,
        "trdnm": supplier.name,
        "rtnprd": str(period),
        "srcform": form,
        "srcfilstatus": "Filed" if rng.random() > 0.08 else "Not Filed",
        "pos": "27",
        "action": "N",
        "ispendactblocked": "N",
    }


def demo_file(seed: int = 7, records: int = 320) -> dict[str, Any]:
    """The demo's portal file, as the IMS offline tool downloads it (`imsDetails`)."""
    rng = random.Random(seed)
    sections: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("b2b", "b2ba", "b2bdn", "b2bdna", "b2bcn", "b2bcna", "ecom", "ecoma")
    }
    periods = [Period(2025, 10), Period(2025, 11), Period(2025, 11), Period(2025, 11)]
    counter = 0

    def number(prefix: str) -> str:
        nonlocal counter
        counter += 1
        return f"{prefix}/{25}-{26}/{counter:04d}"

    n_invoices = int(records * 0.72)
    invoices: list[dict[str, Any]] = []
    for _ in range(n_invoices):
        supplier = rng.choice(SUPPLIERS[:11])
        period = rng.choice(periods)
        rec = _base(supplier, period, rng, rng.choice(["R1", "R1", "IFF", "R1A"]))
        rec.update(inum=number("INV"), idt=_date_in(rng, period).strftime("%d-%m-%Y"),
                   inv_typ="R", **_tax(rng, supplier, rng.choice([5, 12, 18, 18, 28])))
        rec["srcfilstatus"] = "Filed" if rng.random() > 0.05 else "Not Filed"
        rec["hash"] = f"h{counter:06d}"
        if period == Period(2025, 10) and rng.random() < 0.1:
            rec["action"] = "P"
        invoices.append(rec)
    sections["b2b"] = invoices
    for _ in range(int(records * 0.05)):
        supplier = rng.choice(SUPPLIERS[:11])
        period = rng.choice(periods)
        rec = _base(supplier, period, rng)
        rec.update(nt_num=number("DN"), nt_dt=_date_in(rng, period).strftime("%d-%m-%Y"),
                   inv_typ="R", **_tax(rng, supplier, 18))
        sections["b2bdn"].append(rec)
    # Credit notes: Sep 2025 (old rules: never pending), Oct/Nov 2025 (pending one period).
    for cn_period in [Period(2025, 9)] * 4 + [Period(2025, 10)] * 6 + [Period(2025, 11)] * 10:
        supplier = rng.choice(SUPPLIERS[:11])
        rec = _base(supplier, cn_period, rng)
        rec.update(nt_num=number("CN"), nt_dt=_date_in(rng, cn_period).strftime("%d-%m-%Y"),
                   inv_typ="R", **_tax(rng, supplier, 18))
        if cn_period < Period(2025, 10):
            rec["ispendactblocked"] = "Y"
        else:
            rec.update(isItcRedReqBlocked="N", isRemarksBlocked="N")
            if cn_period == Period(2025, 10):
                rec["action"] = "P"  # kept pending in Oct: its window ends with Nov's 3B
        sections["b2bcn"].append(rec)
    # Amendments of invoices: upward (one only saved) and downward.
    for i, original in enumerate(invoices[:12]):
        period = Period(2025, 11)
        supplier = next(s for s in SUPPLIERS if s.gstin == original["stin"])
        rec = _base(supplier, period, rng, "R1A" if i % 2 else "R1")
        factor = Decimal("1.2") if i % 3 == 0 else Decimal("0.8")
        rec.update(inum=original["inum"] + "A", idt=original["idt"],
                   oinum=original["inum"], oidt=original["idt"], inv_typ="R")
        for key in ("txval", "iamt", "camt", "samt", "cess", "val"):
            rec[key] = float((Decimal(str(original[key])) * factor).quantize(Decimal("0.01")))
        rec["srcfilstatus"] = "Not Filed" if i == 0 else "Filed"
        sections["b2ba"].append(rec)
    cn_originals = sections["b2bcn"][4:7]
    for original in cn_originals:
        supplier = next(s for s in SUPPLIERS if s.gstin == original["stin"])
        rec = _base(supplier, Period(2025, 11), rng)
        rec.update(nt_num=original["nt_num"] + "A", nt_dt=original["nt_dt"],
                   ont_num=original["nt_num"], ont_dt=original["nt_dt"], inv_typ="R")
        for key in ("txval", "iamt", "camt", "samt", "cess", "val"):
            rec[key] = float((Decimal(str(original[key])) * Decimal("1.1")).quantize(
                Decimal("0.01")))
        sections["b2bcna"].append(rec)
    dn_original = sections["b2bdn"][0]
    supplier = next(s for s in SUPPLIERS if s.gstin == dn_original["stin"])
    rec = _base(supplier, Period(2025, 11), rng)
    rec.update(nt_num=dn_original["nt_num"] + "A", nt_dt=dn_original["nt_dt"],
               ont_num=dn_original["nt_num"], ont_dt=dn_original["nt_dt"], inv_typ="R")
    for key in ("txval", "iamt", "camt", "samt", "cess", "val"):
        rec[key] = float((Decimal(str(dn_original[key])) * Decimal("0.9")).quantize(
            Decimal("0.01")))
    sections["b2bdna"].append(rec)
    marketplace = SUPPLIERS[11]
    for _ in range(max(4, records - sum(len(v) for v in sections.values()) - 2)):
        period = rng.choice(periods)
        rec = _base(marketplace, period, rng)
        rec.update(inum=number("ECO"), idt=_date_in(rng, period).strftime("%d-%m-%Y"),
                   inv_typ="R", **_tax(rng, marketplace, 5))
        sections["ecom"].append(rec)
    for original in sections["ecom"][:2]:
        rec = _base(marketplace, Period(2025, 11), rng)
        rec.update(inum=original["inum"] + "A", idt=original["idt"], oinum=original["inum"],
                   oidt=original["idt"], inv_typ="R")
        for key in ("txval", "iamt", "camt", "samt", "cess", "val"):
            rec[key] = float((Decimal(str(original[key])) * Decimal("0.5")).quantize(
                Decimal("0.01")))
        sections["ecoma"].append(rec)
    return {"imsDetails": sections}


def demo_bytes(seed: int = 7, records: int = 320) -> bytes:
    return json.dumps(demo_file(seed, records), indent=1).encode()


def load_demo(
    db: Database,
    owner_id: int,
    *,
    today: Callable[[], date] = lambda: DEMO_TODAY,
    seed: int = 7,
    records: int = 320,
) -> tuple[Workspace, ImportReport]:
    """Create the demo workspace for `owner_id`, import the demo file, file Sep/Oct 2025."""
    workspace = ensure_workspace(
        db, DEMO_GSTIN, owner_id, frequency=Frequency.MONTHLY, name=DEMO_NAME
    )
    report = import_file(
        db, workspace.id, io.BytesIO(demo_bytes(seed, records)), actor="demo", channel="system"
    )
    periods = PeriodService(db, today)
    for period in DEMO_FILED:
        periods.mark_filed(workspace.id, period, actor="demo", channel="system")
    return workspace, report
