"""purchase-register reconciliation; portal sync through a GST Suvidha Provider

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_mappings",
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("taxpayer_id"),
    )
    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reconcile_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconcile_runs_taxpayer_id"), ["taxpayer_id"], unique=False
        )
    op.create_table(
        "gsp_sessions",
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("token_enc", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("taxpayer_id"),
    )
    op.create_table(
        "gsp_platform_tokens",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("token_enc", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider"),
    )
    op.create_table(
        "gsp_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gsp_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gsp_requests_taxpayer_id"), ["taxpayer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gsp_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gsp_requests_taxpayer_id"))
    op.drop_table("gsp_requests")
    op.drop_table("gsp_platform_tokens")
    op.drop_table("gsp_sessions")
    with op.batch_alter_table("reconcile_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_runs_taxpayer_id"))
    op.drop_table("reconcile_runs")
    op.drop_table("register_mappings")
