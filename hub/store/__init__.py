"""The custhub store: SQLAlchemy 2 over SQLite (default) or PostgreSQL, schema by Alembic."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from hub.store.engine import create_store_engine, migrate


class Store:
    """An opened, migrated store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        engine = create_store_engine(url)
        migrate(engine)
        return cls(engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


def serialize(conn: Connection, name: str) -> None:
    """Make concurrent transactions that call this with the same ``name`` run one after another.

    SQLite transactions already do (``BEGIN IMMEDIATE``); PostgreSQL takes a transaction-scoped
    advisory lock, released at commit or rollback.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(name.encode())})


__all__ = ["Store", "serialize"]
