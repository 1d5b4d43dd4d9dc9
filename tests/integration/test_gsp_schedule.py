"""Scheduled portal sync: the days that matter, once a day, connected GSTINs only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from ims_bot.db import Database
from ims_bot.domain import Frequency
from ims_bot.gsp import schedule
from ims_bot.gsp.service import GspService
from ims_bot.settings import INDIA, Settings
from ims_bot.workspaces import ensure_workspace
from tests.e2e.gsp_server import GspServer
from tests.factories import QRMP_RECIPIENT, RECIPIENT, invoice


@pytest.mark.parametrize(("day", "frequency", "expected"), [
    (date(2025, 12, 13), Frequency.MONTHLY, False),  # before the draft
    (date(2025, 12, 14), Frequency.MONTHLY, True),
    (date(2025, 12, 20), Frequency.MONTHLY, True),  # the 3B due date
    (date(2025, 12, 21), Frequency.MONTHLY, False),
    (date(2025, 12, 16), Frequency.QUARTERLY, False),  # QRMP: mid-quarter
    (date(2026, 1, 16), Frequency.QUARTERLY, True),  # the month after the quarter
])
def test_sync_days(day: date, frequency: Frequency, expected: bool) -> None:
    assert schedule.sync_day(day, frequency, "27") is expected


@pytest.fixture
def server() -> Iterator[GspServer]:
    gsp = GspServer().start()
    gsp.add_records(RECIPIENT, "b2b", [invoice("INV-1")])
    try:
        yield gsp
    finally:
        gsp.stop()


def test_connected_gstins_sync_once_a_day(database: Database, server: GspServer) -> None:
    settings = Settings(database_url="unused", gsp_url=server.url, gsp_api_key=server.api_key,
                        gsp_api_secret=server.api_secret, secret_key="k" * 20)
    service = GspService(database, settings, poll=(0.01,))
    ws = ensure_workspace(database, RECIPIENT)
    ensure_workspace(database, QRMP_RECIPIENT)  # not connected: never synced
    service.request_otp(ws.gstin, "u")
    service.verify_otp(ws.id, ws.gstin, "u", server.otp)
    morning = datetime(2025, 12, 16, 9, tzinfo=INDIA)
    assert schedule.run(service, morning) == 1
    assert schedule.run(service, morning.replace(hour=15)) == 0  # once a day
    assert schedule.run(service, datetime(2025, 12, 17, 9, tzinfo=INDIA)) == 1
    assert schedule.run(service, datetime(2025, 12, 22, 9, tzinfo=INDIA)) == 0  # after 3B
    assert len(server.calls_of("section")) == 16
    server.expire_sessions()  # a failure is logged, and tried again on the next tick
    assert schedule.run(service, datetime(2025, 12, 18, 9, tzinfo=INDIA)) == 0
