"""The database: engine, session factory and schema migrations (Alembic, run by the app itself).

Nothing here runs at import; `Database(url)` creates the engine, `upgrade()` migrates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock key held while migrating ("IMSBOT" in ASCII).
MIGRATION_LOCK = 0x494D53424F54


class DatabaseUrlError(ValueError):
    """The configured database URL cannot be used."""


def parse_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"IMS_BOT_DATABASE_URL is not a database URL: {url!r} "
            "(expected e.g. sqlite:///ims.sqlite3 or postgresql+psycopg://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"IMS_BOT_DATABASE_URL uses {backend!r}; IMS Bot supports sqlite and postgresql"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


#: Execution option marking the engine of read-only units of work.
READ_ONLY = "ims_read_only"


def _sqlite_begin(connection: Any) -> None:
    deferred = connection.get_execution_options().get(READ_ONLY)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MB of page cache (default 2 MB): large imports touch many index pages.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


class Database:
    """Owns the engine and the session factory for one database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = parse_database_url(url)
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            database = parsed.database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # One connection per thread is fine for SQLite; the bot runs handlers in one loop.
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
            # Fail fast (and say so) when the server is down, instead of hanging.
            kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except NoSuchModuleError as exc:
            raise DatabaseUrlError(f"IMS_BOT_DATABASE_URL: unsupported driver ({exc})") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # SQLite starts a write transaction lazily; BEGIN IMMEDIATE takes the write lock
            # up front so that a read-then-write unit of work cannot be overtaken. Read-only
            # units (`read()`) begin deferred: in WAL mode they never wait for a writer.
            event.listen(self.engine, "begin", _sqlite_begin)
            event.listen(
                self.engine,
                "connect",
                lambda dbapi_conn, _rec: setattr(dbapi_conn, "isolation_level", None),
            )
        self.session_factory: sessionmaker[Session] = sessionmaker(
            self.engine, expire_on_commit=False
        )
        read_only = self.engine.execution_options(**{READ_ONLY: True})
        self._read_factory: sessionmaker[Session] = sessionmaker(
            read_only, expire_on_commit=False
        )
        # `read_rows()` units run one statement each (one snapshot by itself): on PostgreSQL
        # in autocommit, which saves the BEGIN and ROLLBACK round trips around it.
        self._rows_engine = (
            read_only if self.is_sqlite else read_only.execution_options(
                isolation_level="AUTOCOMMIT")
        )

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self.session_factory.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work: on SQLite it takes no write lock, so a long import or
        bulk action in another process or thread never makes it wait ("database is locked").
        Nothing written in it is kept."""
        with self._read_factory() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def read_rows(self) -> Iterator[Connection]:
        """Like `read()`, without an ORM session: a Core connection for hot point reads of
        ONE statement each (a prompt looked up on every command or message, the active
        workspace). On PostgreSQL it runs in autocommit, so several statements in it would
        not share a snapshot: use `read()` for those. Nothing written in it is kept on
        SQLite; do not write in it."""
        with self._rows_engine.connect() as connection:
            yield connection

    def alembic_config(self) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        return config

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        from alembic import command

        config = self.alembic_config()
        with self.engine.begin() as connection:
            if not self.is_sqlite:
                # Replicas and CLI runs may start together on a fresh database: one migrates,
                # the others wait here, then find the schema at head. (SQLite's BEGIN
                # IMMEDIATE already serialises them.) Released when this transaction ends.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (all with the same keys) in the session's transaction: COPY on
    PostgreSQL, one DBAPI executemany on SQLite.

    SQLAlchemy's Core executemany spends ~40 µs a row building parameters; here each
    column's own bind processor (the conversion SQLAlchemy itself would apply) runs in a
    tight loop, which doubles the rate of large imports and bulk actions.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    if dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk path: several times faster than executemany.
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with dbapi.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
        return
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    pick = itemgetter(*columns)
    convert = [(i, process) for i, process in enumerate(processors) if process is not None]
    params = []
    for row in rows:
        values = list(pick(row)) if len(columns) > 1 else [pick(row)]
        for i, process in convert:
            values[i] = process(values[i])
        params.append(tuple(values))
    connection.exec_driver_sql(sql, params)
