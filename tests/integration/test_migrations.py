"""Schema migrations carry existing data forward."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from ims_bot.db import Database


def test_supplier_names_already_imported_become_the_suppliers_names(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = db.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO taxpayers (id, gstin, owner_id, name, state_code, frequency, created_at)"
            " VALUES (1, '27AAPFU0939F1ZV', 0, '', '27', 'monthly', '2025-11-01')"
        ))
        for rid, supplier, name in ((1, "27AABCT1332L1ZT", "Tata Steel"),
                                    (2, "27AABCT1332L1ZT", ""),
                                    (3, "24AACCG9012M1Z5", "")):
            conn.execute(text(
                "INSERT INTO records (id, taxpayer_id, section, natural_key, supplier_gstin, "
                "supplier_name, number, supplier_period, period_key, itc_period_key, "
                "source_filed, doc_value, taxable_value, igst, cgst, sgst, cess, status, "
                "portal_status, boe_gstin_amended, content_hash, updated_at, version) VALUES "
                f"({rid}, 1, 'b2b', 'k{rid}', '{supplier}', '{name}', 'N{rid}', '112025', "
                "202511, 202511, 1, 0, 0, 0, 0, 0, 0, 'no_action', 'no_action', 0, 'h', "
                "'2025-11-01', 1)"
            ))
    db.upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT gstin, name, source FROM suppliers")).all()
    assert rows == [("27AABCT1332L1ZT", "Tata Steel", "portal")]
    db.dispose()


def test_a_reminder_chat_stored_from_a_group_becomes_the_users_private_chat(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = db.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    with db.engine.begin() as conn:
        for user, chat in ((501, 501), (502, -1001234567890)):
            conn.execute(text(
                "INSERT INTO users (id, chat_id, created_at, reminders_enabled, remind_days, "
                "remind_time, remind_kinds, all_clear) VALUES "
                f"({user}, {chat}, '2025-11-01', 1, '3,1', '09:00', 'draft_2b', 1)"
            ))
    db.upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, chat_id, name, username FROM users ORDER BY id"))
        assert rows.all() == [(501, 501, None, None), (502, 502, None, None)]
    db.dispose()
