"""Small builders for portal records and files used across the tests."""

from __future__ import annotations

import io
import json
from typing import Any

from ims_bot.gstin import make_gstin

RECIPIENT = make_gstin("27", "AAPFU0939F")
SUPPLIER_A = make_gstin("27", "AABCT1332L")  # Tata Steel Distributors (Maharashtra)
SUPPLIER_B = make_gstin("24", "AACCG9012M")  # Gujarat Chemicals
QRMP_RECIPIENT = make_gstin("09", "AAKCS1234Q")  # Uttar Pradesh: QRMP 3B on the 24th


def invoice(number: str, *, period: str = "112025", supplier: str = SUPPLIER_A,
            tax: float = 900.0, **extra: Any) -> dict[str, Any]:
    record = {
        "stin": supplier,
        "trdnm": "Tata Steel Distributors" if supplier == SUPPLIER_A else "Gujarat Chemicals",
        "rtnprd": period,
        "srcform": "R1",
        "srcfilstatus": "Filed",
        "inum": number,
        "idt": f"05-{period[:2]}-{period[2:]}",
        "inv_typ": "R",
        "pos": "27",
        "val": 10000 + 2 * tax,
        "txval": 10000.0,
        "iamt": 0,
        "camt": tax,
        "samt": tax,
        "cess": 0,
        "action": "N",
        "hash": f"hash-{number}",
    }
    record.update(extra)
    return record


def note(number: str, *, period: str = "112025", supplier: str = SUPPLIER_A,
         tax: float = 90.0, **extra: Any) -> dict[str, Any]:
    record = invoice(number, period=period, supplier=supplier, tax=tax, **extra)
    record["nt_num"] = record.pop("inum")
    record["nt_dt"] = record.pop("idt")
    return record


def portal_file(wrapper: bool = True, **sections: list[dict[str, Any]]) -> bytes:
    body: dict[str, Any] = dict(sections)
    return json.dumps({"imsDetails": body} if wrapper else body).encode()


def stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
