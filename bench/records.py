"""Records core benchmark: import, first page of pending, bulk accept, recompute.

Prints figures for SQLite (a file in a temp dir) and PostgreSQL (a throwaway database on
127.0.0.1, skipped when unreachable). Not a test: nothing is asserted.

    .venv/bin/python bench/records.py [--import-n 100000] [--page-n 1000000] [--bulk-n 10000]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ims_bot.db import Database
from ims_bot.domain import Action, Period
from ims_bot.gstin import make_gstin
from ims_bot.importer import import_file
from ims_bot.models import Record
from ims_bot.recompute import PeriodService
from ims_bot.records import RecordFilter, RecordService, Sort
from ims_bot.settings import INDIA
from ims_bot.workspaces import ensure_workspace

TODAY = date(2025, 12, 16)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SUPPLIERS = [make_gstin("27", f"AABC{chr(65 + i % 26)}{1000 + i:04d}L") for i in range(200)]


def portal_bytes(n: int, prefix: str = "INV") -> bytes:
    rows = []
    for i in range(n):
        tax = 100 + i % 900
        rows.append(
            {
                "stin": SUPPLIERS[i % len(SUPPLIERS)],
                "trdnm": f"Supplier {i % 200}",
                "rtnprd": "112025",
                "srcform": "R1",
                "srcfilstatus": "Filed",
                "inum": f"{prefix}{i}",
                "idt": "05-11-2025",
                "inv_typ": "R",
                "pos": "27",
                "val": 10000 + 2 * tax,
                "txval": 10000,
                "iamt": 0,
                "camt": tax,
                "samt": tax,
                "cess": 0,
                "action": "N",
                "hash": f"h{i}",
            }
        )
    return json.dumps({"imsDetails": {"b2b": rows}}).encode()


def bulk_rows(taxpayer_id: int, start: int, n: int) -> list[dict]:
    now = datetime.now(INDIA)
    statuses = ("no_action", "accepted", "pending", "rejected")
    return [
        {
            "taxpayer_id": taxpayer_id,
            "section": "b2b",
            "natural_key": f"b2b|X|N{i}|2025",
            "supplier_gstin": SUPPLIERS[i % 200],
            "supplier_name": f"Supplier {i % 200}",
            "number": f"N{i}",
            "doc_date": date(2025, 11, 5),
            "supplier_period": "112025",
            "period_key": 202511,
            "itc_period_key": 202511,
            "source_filed": True,
            "doc_value": Decimal(10000 + i % 5000),
            "taxable_value": Decimal(10000),
            "igst": Decimal(0),
            "cgst": Decimal(90),
            "sgst": Decimal(90),
            "cess": Decimal(0),
            "status": statuses[i % 4],
            "portal_status": statuses[i % 4],
            "boe_gstin_amended": False,
            "content_hash": "x",
            "updated_at": now,
            "version": 1,
        }
        for i in range(start, start + n)
    ]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(label: str, url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    db.upgrade()
    print(f"\n== {label}")
    # 1. Import
    data = portal_bytes(args.import_n)
    ws = ensure_workspace(db, make_gstin("27", "AAPFU0939F"))
    seconds, report = timed(
        lambda: import_file(db, ws.id, io.BytesIO(data), actor="b", channel="cli")
    )
    print(
        f"import {report.created:,} records: {seconds:.2f} s "
        f"= {report.created / seconds:,.0f} records/s (aim >= 20,000/s)"
    )
    seconds, report = timed(
        lambda: import_file(db, ws.id, io.BytesIO(data), actor="b", channel="cli")
    )
    print(f"re-import (idempotent, {report.unchanged:,} unchanged): {seconds:.2f} s")
    clock = lambda: TODAY  # noqa: E731
    records = RecordService(db, clock)
    # 2. Recompute over the imported records
    periods = PeriodService(db, clock)
    times = [timed(lambda: periods.recompute(ws.id, Period(2025, 11)))[0] for _ in range(5)]
    print(
        f"recompute over {args.import_n:,}: median {statistics.median(times) * 1000:.0f} ms "
        "(aim < 300 ms)"
    )
    # 3. Bulk accept (rows inserted directly into a workspace of their own)
    big = ensure_workspace(db, make_gstin("27", "AAPFU0939F"), owner_id=1)
    open_rows = bulk_rows(big.id, 0, args.bulk_n)
    for row in open_rows:  # every one needing a decision, so the bulk changes them all
        row["status"] = row["portal_status"] = "no_action"
    with db.begin() as session:
        session.execute(Record.__table__.insert(), open_rows)
    seconds, outcome = timed(
        lambda: records.act_bulk(
            big.id, RecordFilter(needs_decision=True), Action.ACCEPT, actor="b", channel="cli"
        )
    )
    print(
        f"bulk accept {outcome.changed:,} records: {seconds * 1000:.0f} ms (aim < 1 s for 10,000)"
    )
    # 4. First page of pending among many records
    many = ensure_workspace(db, make_gstin("27", "AAPFU0939F"), owner_id=2)
    start = time.perf_counter()
    step = 50_000
    for offset in range(0, args.page_n, step):
        with db.begin() as session:
            session.execute(
                Record.__table__.insert(),
                bulk_rows(many.id, offset, min(step, args.page_n - offset)),
            )
    print(f"(loaded {args.page_n:,} records directly in {time.perf_counter() - start:.0f} s)")
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE records"))
    times = [
        timed(
            lambda: records.list(
                many.id,
                RecordFilter(needs_decision=True),
                sort=Sort.CREDIT_NOTES_FIRST,
                page_size=10,
            )
        )[0]
        for _ in range(7)
    ]
    print(
        f"first page of pending among {args.page_n:,}: median "
        f"{statistics.median(times) * 1000:.1f} ms (aim < 20 ms)"
    )
    times = [
        timed(lambda: records.list(many.id, RecordFilter(statuses=()), page_size=10))[0]
        for _ in range(7)
    ]
    print(
        f"first page (all, newest first) among {args.page_n:,}: median "
        f"{statistics.median(times) * 1000:.1f} ms"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--import-n", type=int, default=100_000)
    parser.add_argument("--page-n", type=int, default=1_000_000)
    parser.add_argument("--bulk-n", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args)
    if args.skip_postgres:
        return
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"ims_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"\n== PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return
    try:
        run("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
