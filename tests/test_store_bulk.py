"""Bulk writes of the ingest path: the ids of inserted rows, known without reading them back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from hub.store import Store
from hub.store.bulk import insert_rows_with_ids
from hub.store.records import RECORD_COLUMNS
from hub.store.schema import source_records

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _rows(pks: list[str]) -> list[tuple]:
    return [("expo", "signups", pk, "h", "ch1.1.x", "ch1.1.y", NOW, NOW, 1) for pk in pks]


def _stored_ids(conn, pks: list[str]) -> list[int]:
    ids = dict(conn.execute(select(source_records.c.source_pk, source_records.c.id)).all())
    return [ids[pk] for pk in pks]


def test_inserted_ids_are_the_ids_the_rows_got(store_url):
    store = Store.open(store_url)
    with store.transaction() as conn:
        first = insert_rows_with_ids(conn, source_records, RECORD_COLUMNS, _rows(["a", "b", "c"]))
        conn.execute(source_records.delete().where(source_records.c.source_pk.in_(["b", "c"])))  # a gap, then the end
        second = insert_rows_with_ids(conn, source_records, RECORD_COLUMNS, _rows(["d", "e"]))
        if store_url.startswith("sqlite"):
            assert list(first) == _stored_ids(conn, ["a"]) + [first[1], first[2]]
            assert list(second) == _stored_ids(conn, ["d", "e"])
            assert second[0] == first[1]  # SQLite hands out the deleted last id again
        else:  # PostgreSQL: read back by key (a sequence may interleave with other sessions)
            assert first is None and second is None
            assert len(set(_stored_ids(conn, ["a", "d", "e"]))) == 3


def test_inserted_ids_are_not_guessed_when_sqlite_picks_random_ids(tmp_path):
    """At the largest possible id SQLite picks unused ids at random: then the ids are not known."""
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    with store.transaction() as conn:
        values = dict(zip(RECORD_COLUMNS, _rows(["top"])[0], strict=True))
        conn.execute(source_records.insert().values(id=2**63 - 1, **values))
        assert insert_rows_with_ids(conn, source_records, RECORD_COLUMNS, _rows(["x", "y"])) is None
        assert len(set(_stored_ids(conn, ["x", "y"]))) == 2
