"""Sync and file import share one path: the same sections give the same records, through
`import_file` (a downloaded file) and `import_sections` (fetched section by section)."""

from __future__ import annotations

from sqlalchemy import select

from ims_bot.db import Database
from ims_bot.importer import import_file, import_sections
from ims_bot.models import Record
from ims_bot.workspaces import ensure_workspace
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note, portal_file, stream


def _rows(db: Database, taxpayer_id: int) -> list[tuple]:
    with db.read() as session:
        return [
            (r.natural_key, r.status, r.portal_status, r.content_hash, r.taxable_value)
            for r in session.scalars(
                select(Record).where(Record.taxpayer_id == taxpayer_id)
                .order_by(Record.natural_key))
        ]


def test_sections_import_like_the_file(database: Database) -> None:
    sections = {"b2b": [invoice("INV-1"), invoice("INV-2", supplier=SUPPLIER_B)],
                "b2bcn": [note("CN-1", action="A")], "isd": [{"x": 1}]}
    by_file = ensure_workspace(database, RECIPIENT, owner_id=1)
    by_api = ensure_workspace(database, RECIPIENT, owner_id=2)
    file_report = import_file(database, by_file.id, stream(portal_file(**sections)),
                              actor="t", channel="cli")
    api_report = import_sections(database, by_api.id, sections, actor="t", channel="cli")
    assert api_report == file_report
    assert api_report.not_handled == {"isd": 1}
    assert _rows(database, by_file.id) == _rows(database, by_api.id)
