"""Feature extraction and golden profiles on worker processes, so that a large run uses every core.

Reading, opening (decrypting) and parsing the canonical records and computing their blind indexes,
and at the end building and sealing each profile's golden record, are most of a full run's work
and need nothing from other records (or other profiles). The main process splits the
records into id ranges; each spawned worker opens the store itself, activates the privacy layer in
its initialiser (``activate``: key material is never pickled, a worker loads the KEK as its parent
did, and the parent's ``ensure_active`` already made the keys) and
returns its records' features as plain tuples, marshalled, which are cheap to send back. Workers only
read (a snapshot of the committed records), so the parent may hold its write transaction meanwhile.
In a full run on SQLite they also return the key rows as JSON (written by SQLite on a thread of the
parent, see ``hub.identity.key_writer``) and the opened records, which the parent keeps and hands back
with the golden-profile tasks: each record is decrypted once a run.
"""

from __future__ import annotations

import atexit
import gc
import marshal
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
from hub.identity.golden import Member, golden_text
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

    # As in the parent (resolver._no_cyclic_gc): a task builds hundreds of thousands of small acyclic
    # objects, and the collector would rescan the worker's caches each time (~40% of a task's time).
    # A worker lives for one run; reference counting frees what it builds.
    gc.disable()
    # Its results delivered (multiprocessing flushes them before the interpreter's exit handlers run),
    # a worker leaves without tearing down its heap object by object: the pool's shutdown waits for it.
    atexit.register(os._exit, 0)
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


Opened = tuple[str, str, str, bytes]  # a record's (connection, stream, source_pk, canonical JSON), opened


def _extract_range(lo: int, hi: int, key_json: bool = False) -> bytes:
    """The features of the records with ids in [lo, hi); with ``key_json`` also their key rows as JSON
    and the records themselves, opened (for their golden profiles: each is decrypted once a run).
    Marshalled: (feature tuples, key JSON or None, opened records), a few times cheaper than pickled."""
    return marshal.dumps(_extract(lo, hi, key_json))


def _extract(lo: int, hi: int, key_json: bool) -> tuple[list[tuple], str | None, list[Opened]]:
    assert _engine is not None and _settings is not None
    with _engine.connect() as conn:
        rows = list(storage.iter_id_range(conn, lo, hi))
    if not key_json:
        return [_to_tuple(f) for f in extract_rows(rows, _settings)], None, []
    opened: list[Opened] = []
    features = []
    for rid, connection, stream, pk, record_hash, canonical in rows:
        text = storage.open_canonical_text(connection, stream, pk, canonical)
        text = text.encode() if isinstance(text, str) else text  # bytes: compact, and cheap to pickle
        f = extract(rid, orjson.loads(text), _settings)
        f.record_hash = record_hash
        features.append(f)
        opened.append((sys.intern(connection), sys.intern(stream), pk, text))
    return [_to_tuple(f) for f in features], storage.key_rows_json(features), opened


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
        self.opened: dict[int, Opened] = {}  # record id -> the record, opened (see ``features``)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def features(self, conn: Connection, key_json: list[str] | None = None) -> list[Features]:
        """Features of every stored record, in id order. With a ``key_json`` list, their key rows are
        appended to it too, as JSON chunks in the same order (``storage.key_rows_json``), and the
        records, opened, are kept for ``golden``."""
        ranges = id_ranges(conn)
        out: list[Features] = []
        for result in self.executor.map(_extract_range, [r[0] for r in ranges], [r[1] for r in ranges],
                                        [key_json is not None] * len(ranges)):
            part, keys_part, opened = marshal.loads(result)
            start = len(out)
            out.extend(from_tuple(t) for t in part)
            if key_json is not None and keys_part is not None:
                key_json.append(keys_part)
                self.opened.update(zip([f.record_id for f in out[start:]], opened, strict=True))
        return out

    def golden(self, clusters: Sequence[tuple[int, Sequence[int]]]) -> Iterator[list[tuple[str, int]]]:
        """Batches of (sealed golden JSON, profile id) for (profile id, member record ids) clusters;
        the workers start on them at once, so the caller may do other work before reading them.
        Members come with their records when ``features`` kept them (and are read again otherwise)."""
        batches, batch, size = [], [], 0
        opened, self.opened = self.opened, {}  # only the batches hold the records from here on
        for pid, members in clusters:
            batch.append((pid, [(r, *opened[r]) for r in sorted(members)] if opened else list(members)))
            size += len(members)
            if size >= GOLDEN_BATCH:
                batches.append(batch)
                batch, size = [], 0
        if batch:
            batches.append(batch)
        return self.executor.map(_golden_batch, batches)


GOLDEN_BATCH = 10_000  # member records per task


def _golden_batch(clusters: list[tuple[int, list]]) -> list[tuple[str, int]]:
    """Sealed golden records of (profile id, members) clusters, members as record ids (read from the
    store) or as (record id, *``Opened``) sorted by record id."""
    assert _engine is not None and _settings is not None
    out = []
    for pid, group in _members(clusters):
        out.append((storage.seal_golden(pid, golden_text(group, _settings)), pid))
    return out


def _members(clusters: list[tuple[int, list]]) -> Iterator[tuple[int, list[Member]]]:
    if clusters and clusters[0][1] and isinstance(clusters[0][1][0], tuple):
        for pid, members in clusters:
            yield pid, [Member(rid, c, s, pk, orjson.loads(text)) for rid, c, s, pk, text in members]
        return
    assert _engine is not None
    with _engine.connect() as conn:
        rows = {row[0]: row for row in storage.iter_records(conn, [r for _, c in clusters for r in c])}
    for pid, members in clusters:
        yield pid, [Member(rid, c, s, pk, storage.open_canonical(c, s, pk, canonical))
                    for rid, c, s, pk, _, canonical in (rows[r] for r in sorted(members))]


def extract_all(conn: Connection, settings: IdentitySettings, privacy: PrivacySettings,
                base_dir: Path) -> list[Features]:
    """Features of every stored record, in id order, extracted by ``workers()`` spawned processes."""
    with Pool(conn, settings, privacy, base_dir) as pool:
        return pool.features(conn)
