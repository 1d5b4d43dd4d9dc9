"""Bench (prints, not a test): 100,000 IMS records against a 100,000-row purchase register.

    .venv/bin/python bench/reconcile.py [RECORDS]

Times reading the register (CSV) and matching it (the pure module), and prints the peak
memory Python allocated (tracemalloc) and the process's peak RSS. The mix: 90% matched
(numbers written differently in the books), 3% amount mismatches, 2% near matches, 5% not in
the books, and as many rows not on the portal. Aim: under 5 s in all.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

from ims_bot.domain import Tax
from ims_bot.gstin import make_gstin
from ims_bot.reconcile import Doc, reconcile
from ims_bot.register import read_register

HEADER = ("GSTIN/UIN,Particulars,Supplier Invoice No.,Supplier Invoice Date,Taxable Value,"
          "Integrated Tax Amount,Central Tax Amount,State Tax Amount,Cess Amount\n")


def data(n: int) -> tuple[list[Doc], bytes]:
    rng = random.Random(13)
    pans = [f"AAB{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}{1000 + i:04d}L" for i in range(2000)]
    suppliers = [make_gstin("27", p) for p in pans]
    records, lines = [], [HEADER]
    start = date(2025, 4, 1)
    for i in range(n):
        gstin = suppliers[i % len(suppliers)]
        number = f"INV/{i:06d}/25-26"
        day = start + timedelta(days=rng.randrange(200))
        cgst = Decimal(rng.randrange(10_000, 900_000)) / 100
        records.append(Doc(i + 1, gstin, number, day, Tax(Decimal(0), cgst, cgst, Decimal(0))))
        kind = rng.random()
        if kind < 0.05:
            continue  # not in the books
        books_no, books_cgst = f"inv-{i}", cgst
        if kind < 0.08:
            books_cgst = cgst + 50  # amount mismatch
        elif kind < 0.10:
            books_no = f"INV{i}A"  # near match
        lines.append(f"{gstin},Supplier {i % 2000},{books_no},{day:%d-%m-%Y},{cgst * 9:.2f},0,"
                     f"{books_cgst:.2f},{cgst:.2f},0\n")
    for j in range(n - len(lines) + 1):
        lines.append(f"{suppliers[j % len(suppliers)]},Supplier X,MISSING-{j},01-11-2025,100,0,"
                     "9,9,0\n")
    return records, "".join(lines).encode()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    records, csv_bytes = data(n)
    print(f"{len(records):,} IMS records, register {len(csv_bytes) / 1e6:.1f} MB")
    c0, t0 = time.process_time(), time.perf_counter()
    register = read_register(csv_bytes)
    t1 = time.perf_counter()
    result = reconcile(records, register.rows)
    c2, t2 = time.process_time(), time.perf_counter()
    # Memory on a second, traced pass: tracing slows Python down several times.
    tracemalloc.start()
    reconcile(records, read_register(csv_bytes).rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{len(register.rows):,} register rows read in {t1 - t0:.2f} s")
    print(f"matched in {t2 - t1:.2f} s; total {t2 - t0:.2f} s wall, {c2 - c0:.2f} s CPU "
          f"(aim < 5 s; load average {os.getloadavg()[0]:.1f})")
    for group, totals in result.summary().items():
        print(f"  {group:<16}{totals['count']:>8,}")
    print(f"peak traced memory {peak / 1e6:.0f} MB; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
