"""Alembic environment: runs on the connection the application hands over (see db.Database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ims_bot.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    # Command-line use (`alembic -x url=...`), e.g. to autogenerate a revision.
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///alembic-dev.sqlite3")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
