"""Feature extraction on worker processes, so that a large run uses every core.

Reading, opening (decrypting) and parsing the canonical records and computing their blind indexes
is most of a full run's work and needs nothing from other records. The main process splits the
records into id ranges; each spawned worker opens the store itself, activates the privacy layer in
its initialiser (``activate``: key material is never pickled, a worker loads the KEK as its parent
did, and the parent's ``ensure_active`` already made the keys) and
returns its records' features as plain tuples, which are cheap to send back. Workers only read
(a snapshot of the committed records), so the parent may hold its write transaction meanwhile.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select

from hub.identity import keys, storage
from hub.identity.features import Features, extract
from hub.identity.settings import IdentitySettings
from hub.privacy.settings import PrivacySettings
from hub.store.schema import source_records

MIN_RECORDS = 150_000  # below this a pool's start-up costs more than it saves
RANGE = 20_000  # record ids per task
_FIELDS = Features.__slots__


def workers() -> int:
    return min(os.cpu_count() or 1, 4)


def _to_tuple(f: Features) -> tuple:
    return tuple(getattr(f, name) for name in _FIELDS)


def from_tuple(values: tuple) -> Features:
    return Features(*values)


def extract_rows(rows: Any, settings: IdentitySettings, *, digests: bool = True) -> list[Features]:
    """Features of (id, connection, stream, source_pk, record_hash, canonical) rows."""
    out = []
    for rid, connection, stream, pk, record_hash, canonical in rows:
        features = extract(rid, storage.open_canonical(connection, stream, pk, canonical), settings,
                           digests=digests)
        features.record_hash = record_hash
        out.append(features)
    return out


_engine: Engine | None = None
_settings: IdentitySettings | None = None


def _init(url: str, settings: IdentitySettings, privacy: PrivacySettings, base_dir: str, plain: bool,
          in_tests: bool) -> None:
    global _engine, _settings
    if in_tests:
        sys._called_from_test = True  # type: ignore[attr-defined]
    from hub.privacy.runtime import activate

    _engine = _reader_engine(url)
    activate(_engine, privacy, Path(base_dir))  # the parent's ensure_active made the keys: only read them
    keys.set_plaintext_digests(plain)
    _settings = settings


def _reader_engine(url: str) -> Engine:
    """An engine that only reads. The store's SQLite engine takes the write lock on every BEGIN,
    which the parent's open transaction holds; plain SQLite reads a WAL snapshot without it."""
    from hub.store.engine import create_store_engine

    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return create_store_engine(url)


def _extract_range(lo: int, hi: int) -> list[tuple]:
    assert _engine is not None and _settings is not None
    with _engine.connect() as conn:
        rows = storage.iter_id_range(conn, lo, hi)
        return [_to_tuple(f) for f in extract_rows(rows, _settings)]


def id_ranges(conn: Connection, size: int = RANGE) -> list[tuple[int, int]]:
    lo, hi = conn.execute(select(func.min(source_records.c.id), func.max(source_records.c.id))).one()
    if lo is None:
        return []
    return [(start, min(start + size, hi + 1)) for start in range(lo, hi + 1, size)]


def extract_all(conn: Connection, settings: IdentitySettings, privacy: PrivacySettings,
                base_dir: Path) -> list[Features]:
    """Features of every stored record, in id order, extracted by ``workers()`` spawned processes."""
    url = conn.engine.url.render_as_string(hide_password=False)
    ranges = id_ranges(conn)
    out: list[Features] = []
    with ProcessPoolExecutor(max_workers=workers(), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init, initargs=(url, settings, privacy, str(base_dir),
                                                          keys.plaintext_mode(),
                                                          hasattr(sys, "_called_from_test"))) as pool:
        for part in pool.map(_extract_range, [r[0] for r in ranges], [r[1] for r in ranges]):
            out.extend(from_tuple(t) for t in part)
    return out
