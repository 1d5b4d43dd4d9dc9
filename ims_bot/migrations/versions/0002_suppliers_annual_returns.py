"""supplier names, annual returns, the portal's declaration of a record

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.Column("gstin", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("taxpayer_id", "gstin"),
    )
    op.create_table(
        "annual_returns",
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.Column("fy_start", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("taxpayer_id", "fy_start"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("portal_decision", sa.String(length=400), nullable=True))
    # Names already imported (a provider's trdnm kept on each record) become the suppliers'.
    op.execute(
        "INSERT INTO suppliers (taxpayer_id, gstin, name, source, updated_at) "
        "SELECT taxpayer_id, supplier_gstin, MAX(supplier_name), 'portal', CURRENT_TIMESTAMP "
        "FROM records WHERE supplier_name <> '' AND supplier_gstin <> '' "
        "GROUP BY taxpayer_id, supplier_gstin"
    )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("portal_decision")
    op.drop_table("annual_returns")
    op.drop_table("suppliers")
