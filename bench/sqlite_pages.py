"""SQLite bulk-insert cost by page size, for rows shaped like ingest's (sealed JSON of ~0.5 and ~1.1 KB).

    python bench/sqlite_pages.py [--rows 100000] [--repeat 2]

Inserts the rows in transactions of 2,000 (as ingest commits them) into a fresh WAL database with
the store's schema for ``source_records`` and the consent ledger, one row of each per record, and
prints CPU and wall microseconds per record for each page size. Why new stores use 16 KB pages:
hub/store/engine.py.
"""

from __future__ import annotations

import argparse
import base64
import os
import sqlite3
import tempfile
import time
from pathlib import Path

RECORDS = """CREATE TABLE source_records (id INTEGER PRIMARY KEY, connection VARCHAR(200) NOT NULL,
  stream VARCHAR(200) NOT NULL, source_pk VARCHAR(500) NOT NULL, record_hash VARCHAR(64) NOT NULL,
  raw TEXT NOT NULL, canonical TEXT NOT NULL, first_seen_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
  run_id INTEGER NOT NULL, CONSTRAINT uq_source_records_key UNIQUE (connection, stream, source_pk))"""
RECORDS_INDEX = "CREATE INDEX ix_source_records_resolve ON source_records (id, record_hash)"
CONSENTS = """CREATE TABLE privacy_consent_events (id INTEGER PRIMARY KEY, subject VARCHAR(120) NOT NULL,
  purpose VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, effective_from DATETIME NOT NULL,
  recorded_at DATETIME NOT NULL)"""
CONSENTS_INDEX = "CREATE INDEX ix_privacy_consent_subject ON privacy_consent_events (subject, purpose)"


def rows(count: int) -> tuple[list[tuple], list[tuple]]:
    def sealed(size: int) -> str:
        return "ch1." + base64.b64encode(os.urandom(size)).decode()

    now = "2026-11-24 06:00:00.000000"
    records = [("expo", "signups", str(n), os.urandom(16).hex(), sealed(360), sealed(840), now, now, 1)
               for n in range(1, count + 1)]
    consents = [(f"record:{n}", "marketing", "granted", now, now) for n in range(1, count + 1)]
    return records, consents


def insert_all(page_size: int, records: list[tuple], consents: list[tuple], workdir: Path) -> tuple[float, float]:
    path = workdir / f"pages_{page_size}.db"
    for leftover in workdir.glob(f"pages_{page_size}.db*"):
        leftover.unlink()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in (f"PRAGMA page_size={page_size}", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                   f"PRAGMA wal_autocheckpoint={(64 << 20) // page_size}", "PRAGMA secure_delete=ON"):
        db.execute(pragma)
    for ddl in (RECORDS, RECORDS_INDEX, CONSENTS, CONSENTS_INDEX):
        db.execute(ddl)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(records), 2000):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO source_records (connection, stream, source_pk, record_hash, raw, canonical, "
                       "first_seen_at, updated_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       records[start:start + 2000])
        db.executemany("INSERT INTO privacy_consent_events (subject, purpose, status, effective_from, recorded_at) "
                       "VALUES (?, ?, ?, ?, ?)", consents[start:start + 2000])
        db.execute("COMMIT")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db.close()
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    records, consents = rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.repeat + 1):
            for page_size in (4096, 8192, 16384, 32768):
                cpu, wall = insert_all(page_size, records, consents, Path(tmp))
                print(f"round {round_no}  page {page_size:>6}: {cpu / args.rows * 1e6:5.1f} us/record CPU, "
                      f"{wall / args.rows * 1e6:5.1f} wall")


if __name__ == "__main__":
    main()
