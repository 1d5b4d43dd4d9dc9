"""Rupee amounts as Indians write them: ₹12,34,567.50 (lakh and crore grouping)."""

from __future__ import annotations

from decimal import Decimal


def rupees(amount: object) -> str:
    """₹ with Indian digit grouping; whole rupees drop the paise: ₹12,34,567 / ₹1,250.50."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    sign = "-" if value < 0 else ""
    whole, _, paise = f"{abs(value):.2f}".partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    grouped = ",".join([*groups, tail]) if groups else tail
    return f"{sign}₹{grouped}.{paise}" if paise != "00" else f"{sign}₹{grouped}"
