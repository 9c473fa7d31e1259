"""Map and clean large reads on worker processes, so ingest uses every core.

The main process reads the source and writes the store; workers turn raw batches into stored
records and quarantine rows, sealed (each worker activates the store's keys in its initialiser:
key material is never pickled). Workers are spawned (not forked: a source may run threads), each
rebuilding its stream processors from plain settings.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.cleaning import Cleaner
from hub.ingest.processor import StreamProcessor
from hub.mapping import load_mapping
from hub.privacy.runtime import activate
from hub.privacy.settings import PrivacySettings
from hub.store.engine import create_store_engine
from hub.store.records import BadRecord, GoodRecord


@dataclass(frozen=True)
class ProcessorSettings:
    """Everything a worker needs to rebuild one stream's processor."""

    connection: str
    stream: str
    mapping_path: str
    default_region: str
    primary_key: tuple[tuple[str, ...], ...]
    mapping_digest: str
    jurisdiction: str

    @classmethod
    def of(cls, processor: StreamProcessor) -> ProcessorSettings:
        return cls(processor.connection, processor.stream, str(processor.mapping.path),
                   processor.cleaner.default_region, processor.primary_key, processor.mapping_digest,
                   processor.jurisdiction)

    def build(self) -> StreamProcessor:
        return StreamProcessor(self.connection, self.stream, load_mapping(Path(self.mapping_path)),
                               Cleaner(default_region=self.default_region), self.primary_key,
                               self.mapping_digest, self.jurisdiction)


_processors: dict[str, StreamProcessor] = {}


def _exit_with_parent(parent_pid: int) -> None:
    """A killed run (even by SIGKILL) must not leave its workers waiting on a queue nobody feeds."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="custhub-parent-watch", daemon=True).start()


def _init_worker(settings: list[ProcessorSettings], in_tests: bool, store_url: str,
                 privacy: PrivacySettings, base_dir: str, parent_pid: int) -> None:
    _exit_with_parent(parent_pid)
    if in_tests:
        sys._called_from_test = True  # type: ignore[attr-defined]  # same plugins as the parent
    # The worker seals: it loads the store's keys itself (the KEK from the same env var or key file).
    # The parent has already created them; activate only reads (ensure_active would take SQLite's
    # write lock, which the parent may hold).
    engine = create_store_engine(store_url)
    try:
        activate(engine, privacy, Path(base_dir))
    finally:
        engine.dispose()
    for item in settings:
        _processors[item.stream] = item.build()
    # What exists now (modules, schemas, mappings) lives as long as the worker: keep it out of the
    # collector's full passes, which otherwise walk it again and again as the caches grow.
    gc.freeze()


def _process(stream: str, batch: list[dict[str, Any]], read_at: str,
             digests: bool) -> tuple[list[GoodRecord], list[BadRecord]]:
    return _processors[stream].process(batch, read_at, digests)


class WorkerPool:
    """A pool of spawned processes that process batches of the given streams."""

    def __init__(self, processors: list[StreamProcessor], workers: int, *, store_url: str,
                 privacy: PrivacySettings, base_dir: Path) -> None:
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=([ProcessorSettings.of(p) for p in processors], hasattr(sys, "_called_from_test"),
                      store_url, privacy, str(base_dir), os.getpid()))

    def start(self) -> None:
        """Spawn every worker now (the executor spawns them at the first tasks otherwise)."""
        for _ in range(self.workers):
            self.executor.submit(os.getpid)  # a no-op task: each one that finds no idle worker spawns one

    def submit(self, stream: str, batch: list[dict[str, Any]], read_at: str, digests: bool):  # noqa: ANN201
        return self.executor.submit(_process, stream, batch, read_at, digests)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
