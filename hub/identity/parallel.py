"""Feature extraction and golden profiles on worker processes, so that a large run uses every core.

Reading, opening (decrypting) and parsing the canonical records and computing their blind indexes,
and at the end building and sealing each profile's golden record, are most of a full run's work
and need nothing from other records (or other profiles). The main process splits the
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
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, func, select

from hub.identity import keys, storage
from hub.identity.features import Features, extract
from hub.identity.golden import Member, build_golden
from hub.identity.settings import IdentitySettings
from hub.privacy.settings import PrivacySettings
from hub.store.schema import source_records

MIN_RECORDS = 150_000  # below this a pool's start-up costs more than it saves
RANGE = 20_000  # record ids per task
_to_tuple = attrgetter(*Features.__slots__)  # a Features as a plain tuple (cheap to pickle), in C


def workers() -> int:
    return min(os.cpu_count() or 1, 4)


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


class Pool:
    """``workers()`` spawned processes for one full run: features first, golden profiles at the end."""

    def __init__(self, conn: Connection, settings: IdentitySettings, privacy: PrivacySettings,
                 base_dir: Path) -> None:
        url = conn.engine.url.render_as_string(hide_password=False)
        self.executor = ProcessPoolExecutor(
            max_workers=workers(), mp_context=multiprocessing.get_context("spawn"), initializer=_init,
            initargs=(url, settings, privacy, str(base_dir), keys.plaintext_mode(),
                      hasattr(sys, "_called_from_test")))

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def features(self, conn: Connection) -> list[Features]:
        """Features of every stored record, in id order."""
        ranges = id_ranges(conn)
        out: list[Features] = []
        for part in self.executor.map(_extract_range, [r[0] for r in ranges], [r[1] for r in ranges]):
            out.extend(from_tuple(t) for t in part)
        return out

    def golden(self, clusters: Sequence[tuple[int, Sequence[int]]]) -> Iterator[list[tuple[str, int]]]:
        """Batches of (sealed golden JSON, profile id) for (profile id, member record ids) clusters;
        the workers start on them at once, so the caller may do other work before reading them."""
        batches, batch, size = [], [], 0
        for pid, members in clusters:
            batch.append((pid, list(members)))
            size += len(members)
            if size >= GOLDEN_BATCH:
                batches.append(batch)
                batch, size = [], 0
        if batch:
            batches.append(batch)
        return self.executor.map(_golden_batch, batches)


GOLDEN_BATCH = 10_000  # member records per task


def _golden_batch(clusters: list[tuple[int, list[int]]]) -> list[tuple[str, int]]:
    assert _engine is not None and _settings is not None
    with _engine.connect() as conn:
        rows = {row[0]: row for row in storage.iter_records(conn, [r for _, c in clusters for r in c])}
    out = []
    for pid, members in clusters:
        group = [Member(rid, c, s, pk, storage.open_canonical(c, s, pk, canonical))
                 for rid, c, s, pk, _, canonical in (rows[r] for r in sorted(members))]
        out.append((storage.seal_golden(pid, orjson.dumps(build_golden(group, _settings)).decode()), pid))
    return out


def extract_all(conn: Connection, settings: IdentitySettings, privacy: PrivacySettings,
                base_dir: Path) -> list[Features]:
    """Features of every stored record, in id order, extracted by ``workers()`` spawned processes."""
    with Pool(conn, settings, privacy, base_dir) as pool:
        return pool.features(conn)
