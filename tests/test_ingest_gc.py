"""The main process of a run collects its youngest objects less often (hub.ingest.pipeline)."""

from __future__ import annotations

import gc

import pytest

from hub.ingest.pipeline import GC_YOUNG_THRESHOLD, fewer_collections
from hub.protocol import Record
from tests.helpers import run_cli
from tests.test_ingest_outcomes import ScriptedSource, row, scripted  # noqa: F401 - the fixture


def test_the_threshold_is_raised_for_the_duration_and_restored_even_on_error():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    gc.set_threshold(10 * GC_YOUNG_THRESHOLD)
    try:
        with fewer_collections():  # never lowered
            assert gc.get_threshold()[0] == 10 * GC_YOUNG_THRESHOLD
    finally:
        gc.set_threshold(*before)


def test_a_run_reads_its_source_under_the_raised_threshold(scripted):  # noqa: F811
    config, _ = scripted
    seen = []

    def records():
        seen.append(gc.get_threshold()[0])
        yield Record("a", row(1))
        seen.append(gc.get_threshold()[0])

    ScriptedSource.script = records()
    before = gc.get_threshold()
    assert run_cli("--config", config, "run") == 0
    assert seen == [GC_YOUNG_THRESHOLD, GC_YOUNG_THRESHOLD]
    assert gc.get_threshold() == before
