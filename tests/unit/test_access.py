"""Pure parts of access: GSTIN messages and the button payloads that carry workspace ids."""

from __future__ import annotations

import pytest

from handlers.callbackdata import (
    AskRevoke,
    BulkUndo,
    CancelCode,
    ConfirmAction,
    ConfirmRevoke,
    InvalidCallbackData,
    PendingFilter,
    PendingPage,
    parse,
)
from ims_bot.access import parse_gstin
from ims_bot.errors import InvalidInput

BIG_USER = 8_123_456_789  # Telegram user ids no longer fit in 10**9


@pytest.mark.parametrize(
    "data",
    [
        ConfirmAction(12, 345, 2, "R", "-"),
        ConfirmAction(12, 345, 2, "A", "full"),
        PendingPage(3, 2, "b2bcn", "27AABCT1332L1ZE", 1),
        PendingFilter(3, "sup", "-", "-", 2),
        AskRevoke(3, BIG_USER),
        ConfirmRevoke(3, BIG_USER),
        CancelCode(3, "K7M2QX9P"),
        BulkUndo(3, "0b6f6c52-8f1e-4f5e-9f5a-2d7c5a1e9b11"),
    ],
)
def test_record_buttons_round_trip_within_64_bytes(data: object) -> None:
    raw = data.pack()  # type: ignore[attr-defined]
    assert len(raw.encode()) <= 64
    assert parse(raw) == data


@pytest.mark.parametrize(
    "raw",
    ["rec:ok:1:2:3:A", "rec:ok:1:2:x:A:-", "rec:open:-1:2", "pend:page:1:1:b2b:-", "ws:use:",
     "bulk:ask:1:sup:27AAB CT", "rec:accept:17", "ws:revokeok:3", "ws:revokeok:3:-5",
     "ws:uncode:3:K7M2 QX9P", "ws:uncode:3:K7M2:QX9P", "ws:revoke:3:5:6"],
)
def test_forged_record_buttons_are_refused_by_the_parser(raw: str) -> None:
    with pytest.raises(InvalidCallbackData):
        parse(raw)


def test_gstin_problems_are_named() -> None:
    with pytest.raises(InvalidInput, match="check character"):
        parse_gstin("27AAPFU0939F1ZA")
    with pytest.raises(InvalidInput, match="state code"):
        parse_gstin("00AAPFU0939F1ZV")
    assert parse_gstin(" 27aapfu0939f1zv ") == "27AAPFU0939F1ZV"
