"""A large read starts its worker processes before the source brings its first record.

The file source guesses how many rows a read brings from the file sizes (``connectors.file.estimate``);
the pipeline starts its workers before reading when that fills several batches.
"""

from __future__ import annotations

import os

import pytest

from connectors.file.estimate import estimated_rows
from hub.ingest.workers import WorkerPool
from hub.privacy import runtime
from hub.sources.cdk_runner import CdkSourceConnector
from tests.test_ingest_privacy import ingest, make_config, signup, write_signups


def file_config(tmp_path, *names: str) -> dict:
    return {"files": [{"path": str(tmp_path / f"{name}.csv"), "stream": name, "primary_key": ["序号"]}
                      for name in names]}


def saved(mtime_ns: int, size: int, offset: int, done: bool) -> dict:
    state = {"mtime_ns": mtime_ns, "size": size, "offset": offset, "done": done}
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"}, "stream_state": state}}


def test_the_file_source_guesses_the_rows_left_to_read(tmp_path):
    write_signups(tmp_path / "a.csv", [signup(i, name="王" * (1 + i % 7)) for i in range(1, 5001)])
    write_signups(tmp_path / "b.csv", [signup(i) for i in range(1, 301)])
    config = file_config(tmp_path, "a", "b")
    both = estimated_rows(config, ["a", "b"], {})
    assert 5301 * 0.9 <= both <= 5301 * 1.1
    alone = estimated_rows(config, ["a"], {})
    assert 5001 * 0.9 <= alone <= 5001 * 1.1  # the header line counts as one

    stat = os.stat(tmp_path / "a.csv")
    assert estimated_rows(config, ["a"], {"a": saved(stat.st_mtime_ns, stat.st_size, 5000, True)}) == 0
    part_way = estimated_rows(config, ["a"], {"a": saved(stat.st_mtime_ns, stat.st_size, 4000, False)})
    assert part_way == alone - 4000
    changed = estimated_rows(config, ["a"], {"a": saved(stat.st_mtime_ns + 1, stat.st_size, 5000, True)})
    assert changed == alone  # another file at that path: all of it is read again
    assert estimated_rows(config, ["a"], {"a": {"not": "a state message"}}) == alone


def test_no_guess_for_a_workbook_and_nothing_for_a_missing_file(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["序号"])
    workbook.save(tmp_path / "w.xlsx")
    config = {"files": [{"path": str(tmp_path / "w.xlsx"), "stream": "w", "primary_key": ["序号"]}]}
    assert estimated_rows(config, ["w"], {}) is None
    assert estimated_rows(file_config(tmp_path, "gone"), ["gone"], {}) == 0  # reading it says why
    (tmp_path / "folder.csv").mkdir()  # stat works, opening does not
    assert estimated_rows(file_config(tmp_path, "folder"), ["folder"], {}) == 0


@pytest.fixture
def events(monkeypatch):
    """The order in which the workers were started and the source began to read."""
    seen: list[str] = []
    start, read = WorkerPool.start, CdkSourceConnector.read

    def recording_start(self):
        seen.append("workers")
        return start(self)

    def recording_read(self, *args, **kwargs):
        seen.append("read")
        return read(self, *args, **kwargs)

    monkeypatch.setattr(WorkerPool, "start", recording_start)
    monkeypatch.setattr(CdkSourceConnector, "read", recording_read)
    runtime.deactivate()
    yield seen
    runtime.deactivate()


def test_a_large_read_starts_its_workers_first_and_an_unchanged_file_none(tmp_path, events):
    rows = [signup(i) for i in range(1, 201)]
    config_path = make_config(tmp_path, rows, workers=2, batch_size=20)  # 10 batches
    _, store, result = ingest(config_path)
    assert events == ["workers", "read"]
    assert result.totals.inserted == 200
    store.engine.dispose()

    events.clear()
    _, store, again = ingest(config_path)  # read to its end already: nothing to read, no workers
    assert events == ["read"]
    assert again.totals.read == 0
    store.engine.dispose()


def test_a_small_read_starts_its_workers_at_the_first_full_batch(tmp_path, events):
    rows = [signup(i) for i in range(1, 51)]
    config_path = make_config(tmp_path, rows, workers=2, batch_size=20)  # under 4 batches
    _, store, result = ingest(config_path)
    assert events == ["read", "workers"]
    assert result.totals.inserted == 50
    store.engine.dispose()


def test_one_worker_never_starts_a_pool(tmp_path, events):
    config_path = make_config(tmp_path, [signup(i) for i in range(1, 201)], workers=1, batch_size=20)
    _, store, result = ingest(config_path)
    assert events == ["read"] and result.totals.inserted == 200
    store.engine.dispose()


def test_a_failing_guess_does_not_stop_the_read(tmp_path, events, monkeypatch):
    from hub.errors import ConfigError

    def broken(*_args):
        raise ConfigError("cannot tell")

    from connectors.file import FILE_SOURCE

    monkeypatch.setattr(FILE_SOURCE, "_estimate", broken)
    config_path = make_config(tmp_path, [signup(i) for i in range(1, 201)], workers=2, batch_size=20)
    _, store, result = ingest(config_path)
    assert events == ["read", "workers"] and result.totals.inserted == 200
    store.engine.dispose()
