"""The console demo connects to the stand-in provider: a newcomer sees the portal flow
(/connect, /sync, /upload, /regenerate) without a provider account."""

from __future__ import annotations

import io

import pytest

from ims_bot.console import console_main
from ims_bot.demo import DEMO_GSTIN, demo_file
from tests.botkit import make_settings
from tests.e2e.gsp_server import GspServer


def test_console_demo_runs_the_portal_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ims_bot.gsp.service.POLL", (0.01,))
    server = GspServer().start()
    try:
        for section, items in demo_file()["imsDetails"].items():
            server.add_records(DEMO_GSTIN, section, items)
        settings = make_settings(
            database_url="sqlite:///:memory:", today_override=None, gsp_url=server.url,
            gsp_api_key=server.api_key, gsp_api_secret=server.api_secret,
            secret_key="demo-secret-key")
        script = "\n".join(["/connect", "/say demo_user", "/say 575757", "/sync",
                            "/upload", "/regenerate 112025", "/disconnect", "/quit"]) + "\n"
        out = io.StringIO()
        code = console_main(settings, demo=True, stdin=io.StringIO(script), stdout=out)
    finally:
        server.stop()
    text = out.getvalue()
    assert code == 0, text
    assert "python -m tests.e2e.gsp_server" in text  # the banner says how
    assert "Manage API Access" in text and "connected to the GST portal" in text
    assert "Synced" in text and "Nothing to upload" in text
    assert "regenerated" in text and "Disconnected" in text
    assert "575757" not in text.split("/say 575757")[-1]  # the OTP is not echoed back
