"""Ingest one connection: read its source, then map, clean and store every stream it selects.

Records are committed in batches; a STATE message is committed in the same transaction as every
record of its stream read before it, so a crash at any point resumes without loss, and the
idempotent upsert turns re-read records into no-ops. A failing stream is reported and the others go
on (their records and state are committed independently).
"""

from __future__ import annotations

import gc
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.cleaning import Cleaner
from hub.config import Config, Connection
from hub.errors import ConfigError, CusthubError
from hub.failpoints import failpoint
from hub.ingest.commit import store_batch, suppression_in_use
from hub.ingest.processor import StreamProcessor
from hub.ingest.workers import WorkerPool
from hub.mapping import Mapping, find_mapping, load_mapping
from hub.privacy.runtime import ensure_active
from hub.protocol import GLOBAL_STATE_KEY, ConfigUpdate, Log, Record, State, StreamFailure
from hub.sources import source_for
from hub.store import Store, records, runs
from hub.store.records import BadRecord, GoodRecord
from hub.store.runs import StreamCounts

log = logging.getLogger("custhub.ingest")
ProgressCallback = Callable[[int], None]
MAX_PENDING_BATCHES = 6  # batches in flight on workers; bounds memory
# Batches stay alive while workers process them, so at Python's default (700) the collector walks
# them again and again: ~1 s of the main process per 300,000 records, ~0.04 s at this threshold.
GC_YOUNG_THRESHOLD = 50_000
EARLY_WORKERS_AT = 4  # batches a source must expect for its workers to start before reading


@contextmanager
def fewer_collections(threshold: int = GC_YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation less often for the duration (cycles are still collected)."""
    young, *older = gc.get_threshold()
    gc.set_threshold(max(young, threshold), *older)
    try:
        yield
    finally:
        gc.set_threshold(young, *older)


@dataclass
class _Pending:
    """A batch handed to processing, committed in read order together with the state after it."""

    stream: str
    result: Future | tuple[list[GoodRecord], list[BadRecord]]
    state: dict[str, Any] | None


@dataclass
class RunResult:
    run_id: int
    connection: str
    status: str
    streams: dict[str, StreamCounts] = field(default_factory=dict)
    error: str | None = None

    @property
    def totals(self) -> StreamCounts:
        total = StreamCounts()
        for c in self.streams.values():
            total.read += c.read
            total.inserted += c.inserted
            total.updated += c.updated
            total.unchanged += c.unchanged
            total.quarantined += c.quarantined
        return total


def mapping_for(config: Config, name: str) -> Mapping:
    path = find_mapping(name, config.mappings_dirs)
    if path is None:
        raise ConfigError(f"mapping '{name}' not found", file=str(config.file))
    return load_mapping(path)


def mapping_digest(mapping: Mapping) -> str:
    return hashlib.sha1(mapping.path.read_bytes(), usedforsecurity=False).hexdigest()[:16]


def source_config(config: Config, store: Store, connection: Connection, spec: dict[str, Any]) -> dict[str, Any]:
    """The connection's source config with secrets resolved, rotated values applied, base_dir set."""
    resolved = config.resolve(connection.config)
    with store.reading() as conn:
        rotated = runs.load_connector_config(conn, connection.name)
    if rotated:
        resolved.update(rotated)
    if "base_dir" in spec.get("properties", {}) and "base_dir" not in resolved:
        resolved["base_dir"] = str(config.base_dir)
    if "store_url" in spec.get("properties", {}) and "store_url" not in resolved:
        resolved["store_url"] = config.store_url  # sources that read the store itself (the webhook inbox)
    if "config_file" in spec.get("properties", {}) and "config_file" not in resolved:
        resolved["config_file"] = str(config.file)  # ... and the config's other sections (its webhook forms)
    return resolved


def stream_primary_keys(config: Config, connection: Connection, source: Any,
                        src_config: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each selected stream's primary key: declared in the config, else defined by the source."""
    declared = {s.name: s.primary_key for s in connection.streams.values()}
    if all(declared.values()):
        return declared
    discovered = {info.name: info for info in source.discover(src_config)}
    keys = {}
    for name, pk in declared.items():
        where = f"connections.{connection.name}.streams.{name}"
        info = discovered.get(name)
        if info is None:
            raise ConfigError(f"the source has no stream '{name}'", file=str(config.file), path=where,
                              fix="streams offered: " + ", ".join(sorted(discovered)))
        keys[name] = pk or info.source_defined_primary_key
        if not keys[name]:
            raise ConfigError("stream has no primary key", file=str(config.file), path=f"{where}.primary_key",
                              fix="declare primary_key, e.g. [[id]]")
    return keys


class _StreamRun:
    def __init__(self, processor: StreamProcessor, batch_size: int) -> None:
        self.processor = processor
        self.batch_size = batch_size
        self.buffer: list[dict[str, Any]] = []
        self.counts = StreamCounts()
        self.has_open_quarantine = True


class IngestRun:
    """One run of one connection."""

    def __init__(self, config: Config, store: Store, connection: Connection, *,
                 progress: ProgressCallback | None = None, full_refresh: bool = False) -> None:
        self.config, self.store, self.connection = config, store, connection
        self.progress = progress
        self.full_refresh = full_refresh
        self.streams: dict[str, _StreamRun] = {}
        self.run_id = 0
        self.pending: deque[_Pending] = deque()
        self.pool: WorkerPool | None = None

    def execute(self) -> RunResult:
        # Keys for sealing (idempotent; the CLI has usually done it): tests and the scheduler call in here.
        ensure_active(self.store.engine, self.config.privacy, self.config.base_dir)
        source = source_for(self.connection)
        cleaner = Cleaner(default_region=self.config.default_region)
        selections = [s.selection() for s in self.connection.streams.values()]
        src_config = source_config(self.config, self.store, self.connection, source.spec())
        primary_keys = stream_primary_keys(self.config, self.connection, source, src_config)
        for stream in self.connection.streams.values():
            mapping = mapping_for(self.config, stream.mapping)
            processor = StreamProcessor(self.connection.name, stream.name, mapping, cleaner,
                                        primary_keys[stream.name], mapping_digest(mapping),
                                        self.config.privacy.region)
            self.streams[stream.name] = _StreamRun(processor, self.config.batch_size)
        with self.store.transaction() as conn:
            runs.mark_interrupted(conn, "ingest", self.connection.name)
            self.run_id = runs.start_run(conn, "ingest", self.connection.name)
            state = {} if self.full_refresh else runs.load_state(conn, self.connection.name)
            for name, run in self.streams.items():
                run.has_open_quarantine = records.open_quarantine_count(conn, self.connection.name, name) > 0
        error = None
        try:
            if self._large_read(source, src_config, selections, state):
                self._start_pool()  # the workers start up while the source does
            with fewer_collections():
                self._consume(source.read(src_config, selections, state))
        except CusthubError as exc:
            error = str(exc)
            self._flush_all()
        except BaseException:
            self._flush_all()
            self._finish("failed", "interrupted")
            raise
        else:
            self._flush_all()
        finally:
            if self.pool is not None:
                self.pool.close()
        return self._finish(*self._outcome(error))

    def _consume(self, messages: Any) -> None:
        seen = 0
        for message in messages:
            if isinstance(message, Record):
                stream = self.streams.get(message.stream)
                if stream is None:
                    continue
                stream.buffer.append(message.data)
                stream.counts.read += 1
                if len(stream.buffer) >= stream.batch_size:
                    self._flush(message.stream, None)
                seen += 1
                if self.progress and seen % 1000 == 0:
                    self.progress(1000)
            elif isinstance(message, State):
                if message.stream == GLOBAL_STATE_KEY:
                    self._flush_all()  # commits every batch read before this state
                    with self.store.transaction() as conn:
                        runs.save_state(conn, self.connection.name, GLOBAL_STATE_KEY, message.message,
                                        self.run_id)
                elif message.stream in self.streams:
                    self._flush(message.stream, message.message)
            elif isinstance(message, StreamFailure):
                self._fail(message)
            elif isinstance(message, ConfigUpdate):
                with self.store.transaction() as conn:
                    runs.save_connector_config(conn, self.connection.name, message.config)
            elif isinstance(message, Log):
                log.debug("source %s: %s", self.connection.name, message.message)
        if self.progress and seen % 1000:
            self.progress(seen % 1000)

    def _fail(self, failure: StreamFailure) -> None:
        targets = [failure.stream] if failure.stream in self.streams else list(self.streams)
        for name in targets:
            self._flush(name, None)
            counts = self.streams[name].counts
            # A transient failure (a daily quota, say) resumes from the committed state next run.
            counts.status = "deferred" if failure.failure_type == "transient_error" else "failed"
            counts.error = failure.message
        log.warning("connection %s: stream %s failed: %s", self.connection.name, failure.stream or "*",
                    failure.message)

    def _flush_all(self) -> None:
        for name in self.streams:
            self._flush(name, None)
        self._drain(0)

    def _flush(self, name: str, state: dict[str, Any] | None) -> None:
        """Hand the stream's buffered records (and the state that covers them) to processing."""
        stream = self.streams[name]
        if not stream.buffer and state is None:
            return
        if not stream.buffer and self.pending and self.pending[-1].stream == name and self.pending[-1].state is None:
            self.pending[-1].state = state  # it covers the batch still in flight: one transaction for both
            return
        batch, stream.buffer = stream.buffer, []
        read_at = datetime.now(UTC).isoformat(timespec="seconds")
        result: Future | tuple[list[GoodRecord], list[BadRecord]] = ([], [])
        if batch:
            pool = self._pool_for(batch)
            digests = self._suppression_in_use()
            result = (pool.submit(name, batch, read_at, digests) if pool
                      else stream.processor.process(batch, read_at, digests))
        self.pending.append(_Pending(name, result, state))
        self._drain(MAX_PENDING_BATCHES)

    def _suppression_in_use(self) -> bool:
        """Whether records need their suppression digests (re-checked at commit, see hub.ingest.commit)."""
        with self.store.reading() as conn:
            return suppression_in_use(conn)

    def _pool_for(self, batch: list[dict[str, Any]]) -> WorkerPool | None:
        """Worker processes pay off for large reads only: start them at the first full batch (or
        before reading, see ``_large_read``)."""
        if self.pool is None and len(batch) >= self.config.batch_size:
            self._start_pool()
        return self.pool

    def _start_pool(self) -> None:
        workers = self.config.workers
        if workers > 1:
            self.pool = WorkerPool([s.processor for s in self.streams.values()], workers,
                                   store_url=self.config.store_url, privacy=self.config.privacy,
                                   base_dir=self.config.base_dir)
            self.pool.start()

    def _large_read(self, source: Any, src_config: dict[str, Any], selections: list[Any],
                    state: dict[str, Any]) -> bool:
        """Whether the source expects enough records to keep the workers busy from the start.

        Starting them before the first record saves their start-up (~1 s) where the source takes
        long to bring it (the file source checks a whole file first)."""
        estimate = getattr(source, "estimated_records", None)
        if estimate is None:
            return False
        try:
            expected = estimate(src_config, selections, state)
        except CusthubError:
            return False  # reading reports what is wrong
        return expected is not None and expected >= EARLY_WORKERS_AT * self.config.batch_size

    def _drain(self, keep: int) -> None:
        """Commit finished batches in the order they were read until at most ``keep`` are in flight."""
        while len(self.pending) > keep:
            item = self.pending.popleft()
            good, bad = item.result.result() if isinstance(item.result, Future) else item.result
            self._commit(item.stream, good, bad, item.state)

    def _commit(self, name: str, good: list[GoodRecord], bad: list[BadRecord],
                state: dict[str, Any] | None) -> None:
        """Store one processed batch, its quarantine rows and the state after it, in one transaction."""
        stream = self.streams[name]
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            stored = store_batch(conn, self.connection.name, name, good, bad, self.run_id, now,
                                 resolve=stream.has_open_quarantine)
            if stored.quarantined:
                stream.has_open_quarantine = True
            if state is not None:
                runs.save_state(conn, self.connection.name, name, state, self.run_id)
            c = stream.counts
            c.inserted += stored.counts.inserted
            c.updated += stored.counts.updated
            c.unchanged += stored.counts.unchanged
            c.quarantined += stored.quarantined
            runs.save_stream_counts(conn, self.run_id, name, c)
            failpoint("ingest.before_commit")
        failpoint("ingest.after_commit")

    def _outcome(self, error: str | None) -> tuple[str, str | None]:
        """failed: nothing could be done; partial: some streams failed or were deferred to the next run."""
        if error:
            return "failed", error
        failed = [n for n, s in self.streams.items() if s.counts.status == "failed"]
        deferred = [n for n, s in self.streams.items() if s.counts.status == "deferred"]
        if not failed and not deferred:
            return "succeeded", None
        summary = "; ".join(f"{n}: {self.streams[n].counts.error}" for n in failed + deferred)
        return ("failed" if len(failed) == len(self.streams) else "partial"), summary

    def _finish(self, status: str, error: str | None) -> RunResult:
        result = RunResult(self.run_id, self.connection.name, status,
                           {n: s.counts for n, s in self.streams.items()}, error)
        with self.store.transaction() as conn:
            for name, stream in self.streams.items():
                if stream.counts.status == "running":
                    stream.counts.status = "succeeded" if status != "failed" or not error else "failed"
                runs.save_stream_counts(conn, self.run_id, name, stream.counts)
            runs.finish_run(conn, self.run_id, status, result.totals, error)
        return result


def run_connection(config: Config, store: Store, name: str, *, progress: ProgressCallback | None = None,
                   full_refresh: bool = False) -> RunResult:
    """Ingest connection ``name`` once; returns the run's outcome (never raises for a stream failure)."""
    return IngestRun(config, store, config.connection(name), progress=progress,
                     full_refresh=full_refresh).execute()
