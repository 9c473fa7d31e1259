"""SQLite store settings applied on every connection: page size for new files, WAL checkpoint size."""

from __future__ import annotations

import sqlite3

from hub.store.engine import SQLITE_PAGE_SIZE, WAL_CHECKPOINT_BYTES, create_store_engine


def _pragmas(url: str) -> dict[str, object]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("page_size", "journal_mode", "wal_autocheckpoint", "secure_delete", "foreign_keys")}
    finally:
        engine.dispose()


def test_a_new_store_gets_large_pages_and_a_64_mb_checkpoint(tmp_path):
    got = _pragmas(f"sqlite:///{tmp_path / 'new.db'}")
    assert got == {"page_size": SQLITE_PAGE_SIZE, "journal_mode": "wal",
                   "wal_autocheckpoint": WAL_CHECKPOINT_BYTES // SQLITE_PAGE_SIZE, "secure_delete": 1,
                   "foreign_keys": 1}


def test_an_existing_store_keeps_its_page_size_and_checkpoints_by_bytes(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)  # made as earlier releases made it: 4 KB pages, then WAL
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t (x)")
    old.execute("INSERT INTO t VALUES (1)")
    old.commit()
    old.close()
    got = _pragmas(f"sqlite:///{path}")
    assert got["page_size"] == 4096 and got["wal_autocheckpoint"] == WAL_CHECKPOINT_BYTES // 4096
    assert sqlite3.connect(path).execute("SELECT x FROM t").fetchall() == [(1,)]
