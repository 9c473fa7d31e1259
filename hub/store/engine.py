"""Open the store: SQLite (WAL, foreign keys, full sync, immediate write transactions) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from hub.errors import StoreError

# In WAL mode, synchronous=NORMAL keeps every committed transaction across a crash of the process
# (kill -9 included); only a power loss may roll back the last few, and then records and their
# state checkpoint roll back together, since they share one transaction. FULL would fsync on every
# commit for no gain in what custhub promises.
# A new store gets 16 KB pages: stored records are sealed JSON of 1-2 KB, and bulk inserts of them
# cost SQLite 20-30% less CPU than on 4 KB pages (bench/sqlite_pages.py). An existing file keeps the
# page size it was made with (it cannot change in WAL mode).
SQLITE_PAGE_SIZE = 16384
WAL_CHECKPOINT_BYTES = 64 << 20  # fewer, larger checkpoints during bulk ingest
SQLITE_PRAGMAS = (
    f"PRAGMA page_size={SQLITE_PAGE_SIZE}",  # before journal_mode: only an empty file takes it
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    # Freed pages are zeroed: an erased person or a row re-sealed by `custhub keys encrypt-plaintext`
    # leaves no old bytes behind in the file.
    "PRAGMA secure_delete=ON",
)


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; PostgreSQL URLs without a driver use psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("store URL is not a valid database URL (use sqlite:///custhub.db or "
                         "postgresql+psycopg://user@host/db)") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see below
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")  # in pages
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Take the write lock up front: two writers never deadlock on a lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _alembic_config(connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "hub.store:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest revision (no-op when it is current)."""
    try:
        with engine.connect() as connection:
            cfg = _alembic_config(connection)
            head = ScriptDirectory.from_config(cfg).get_current_head()
            current = MigrationContext.configure(connection).get_current_revision()
            if current == head:
                return
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # one migrating process at a time
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7243100)")
            command.upgrade(_alembic_config(connection), "head")
    except OperationalError as exc:
        reason = f"{type(exc.orig).__name__}: {_first_line(exc.orig)}"
        raise StoreError(f"cannot open the store ({reason})") from None


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc and str(exc).strip() else "no detail"
