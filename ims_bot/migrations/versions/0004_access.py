"""users' names for /members; reminder chats are private chats

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column("username", sa.String(length=40), nullable=True))
    # /link, /join or /remind typed in a group used to store the group as the user's chat.
    # Reminders now go to the private chat (whose id is the user's id) whatever is stored;
    # this makes the stored value say the same.
    op.execute("UPDATE users SET chat_id = id WHERE chat_id <> id")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("username")
        batch_op.drop_column("name")
