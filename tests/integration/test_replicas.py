"""Two bot replicas on one PostgreSQL database: shared state, no silent overwrite."""

from __future__ import annotations

import pytest

from ims_bot.db import Database
from ims_bot.demo import DEMO_TODAY
from ims_bot.domain import Status
from tests.botkit import USER, bot_harness, make_core, make_settings

pytestmark = pytest.mark.postgres


def _texts(calls) -> str:
    return "\n".join(c.text or "" for c in calls)


async def test_two_replicas_share_records_and_refuse_a_stale_conflicting_action(postgres_db):
    url = postgres_db.url.render_as_string(hide_password=False)
    db_a, db_b = Database(url), Database(url)
    settings = make_settings(today_override=DEMO_TODAY)
    core_a, core_b = make_core(settings, db=db_a), make_core(settings, db=db_b)
    async with bot_harness(core_a) as a, bot_harness(core_b) as b:
        await a.command(USER, "demo")  # replica A loads the demo workspace

        # Replica B sees what A wrote, and opens the first record's card.
        listing = (await b.command(USER, "pending"))[-1]
        first_label, first_data = listing.buttons()[0]
        record_id = int(first_data.rsplit(":", 1)[1])
        b_list = b.last_message_id(USER)
        await b.press(USER, b_list, first_label)
        await b.press(USER, b_list, "❌ Reject")  # B's confirmation carries version 2

        # Meanwhile replica A accepts the same record.
        await a.command(USER, "pending")
        a_list = a.last_message_id(USER)
        await a.press(USER, a_list, first_label)
        await a.press(USER, a_list, "✅ Accept")
        await a.press(USER, a_list, "Reduce in full (default)")

        # B's stale confirmation is refused: the record changed; nothing is overwritten.
        calls = await b.press(USER, b_list, "❌ Yes, reject")
        assert "changed" in _texts(calls).lower()

        workspace_id = core_a.access.active(USER).id
        view = core_b.records.get(workspace_id, record_id)
        assert view.status is Status.ACCEPTED
        history = core_b.records.history(workspace_id, record_id=record_id)
        assert [(e.kind, e.to_status) for e in history] == [("action", Status.ACCEPTED)]
    db_a.dispose()
    db_b.dispose()


def test_replicas_starting_together_on_a_fresh_database_all_migrate(postgres_url):
    """Issue 12: every process migrates at start; on a fresh database they race for
    `alembic_version`. The advisory lock makes one migrate and the others wait."""
    import subprocess
    import sys
    import uuid

    from sqlalchemy import create_engine, make_url, text

    from tests.conftest import ADMIN_URL

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    script = "import sys; from ims_bot.db import Database; Database(sys.argv[1]).upgrade()"
    try:
        for _ in range(2):
            name = f"ims_bot_race_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            try:
                procs = [
                    subprocess.Popen([sys.executable, "-c", script, url],
                                     stderr=subprocess.PIPE, text=True)
                    for _ in range(4)
                ]
                results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "")
                           for p in procs]
                assert [code for code, _ in results] == [0, 0, 0, 0], results
                db = Database(url)
                assert db.current_revision() == db.head_revision()
                db.dispose()
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


async def test_remarks_typed_without_a_reply_link_finish_on_the_other_replica(postgres_db):
    """Issue 12: the prompt lived in one replica's memory; on the other, typed remarks were
    taken as an FAQ question and the record was not rejected."""
    url = postgres_db.url.render_as_string(hide_password=False)
    db_a, db_b = Database(url), Database(url)
    settings = make_settings(today_override=DEMO_TODAY)
    core_a, core_b = make_core(settings, db=db_a), make_core(settings, db=db_b)
    async with bot_harness(core_a) as a, bot_harness(core_b) as b:
        await a.command(USER, "demo")
        listing = (await a.command(USER, "pending"))[-1]
        first_label, first_data = listing.buttons()[0]
        record_id = int(first_data.rsplit(":", 1)[1])
        card = a.last_message_id(USER)
        await a.press(USER, card, first_label)
        await a.press(USER, card, "❌ Reject")
        await a.press(USER, card, "Add remarks")
        calls = await b.text(USER, "Goods never received")  # no reply link, other replica
        assert "Rejected" in _texts(calls)
        workspace_id = core_a.access.active(USER).id
        view = core_a.records.get(workspace_id, record_id)
        assert (view.status, view.remarks) == (Status.REJECTED, "Goods never received")
    db_a.dispose()
    db_b.dispose()
