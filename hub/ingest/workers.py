"""Map and clean large reads on worker processes, so ingest uses every core.

The main process reads the source and writes the store; workers turn raw batches into stored
records and quarantine rows. Workers are spawned (not forked: a source may run threads), each
rebuilding its stream processors from plain settings.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.cleaning import Cleaner
from hub.ingest.processor import StreamProcessor
from hub.mapping import load_mapping
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

    @classmethod
    def of(cls, processor: StreamProcessor) -> ProcessorSettings:
        return cls(processor.connection, processor.stream, str(processor.mapping.path),
                   processor.cleaner.default_region, processor.primary_key, processor.mapping_digest)

    def build(self) -> StreamProcessor:
        return StreamProcessor(self.connection, self.stream, load_mapping(Path(self.mapping_path)),
                               Cleaner(default_region=self.default_region), self.primary_key,
                               self.mapping_digest)


_processors: dict[str, StreamProcessor] = {}


def _init_worker(settings: list[ProcessorSettings], in_tests: bool) -> None:
    if in_tests:
        sys._called_from_test = True  # type: ignore[attr-defined]  # same plugins as the parent
    for item in settings:
        _processors[item.stream] = item.build()


def _process(stream: str, batch: list[dict[str, Any]], read_at: str) -> tuple[list[GoodRecord], list[BadRecord]]:
    return _processors[stream].process(batch, read_at)


class WorkerPool:
    """A pool of spawned processes that process batches of the given streams."""

    def __init__(self, processors: list[StreamProcessor], workers: int) -> None:
        self.executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=([ProcessorSettings.of(p) for p in processors], hasattr(sys, "_called_from_test")))

    def submit(self, stream: str, batch: list[dict[str, Any]], read_at: str):  # noqa: ANN201
        return self.executor.submit(_process, stream, batch, read_at)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
