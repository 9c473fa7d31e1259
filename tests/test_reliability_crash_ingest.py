"""Crash suite, ingest flow: SIGKILL a forked ``run_connection`` at random delays and at the ingest
failpoints (``ingest.mid_batch``, ``ingest.before_commit``, ``ingest.after_commit`` at their N-th hit),
rerun, and check that every source row is stored or quarantined exactly once with the state at the end.

Kill points are counted per flow and printed (``KILLPOINTS ...``). CI runs >= 200 per backend;
``pytest -m slow tests/test_reliability_crash_ingest.py`` runs 1,000.
"""

from __future__ import annotations

import json
import random
import time

import pytest
import yaml

from bench.datagen import bad_row_count, write_csv
from hub.cli.common import open_store
from hub.config import load_config
from hub.ingest.pipeline import run_connection
from tests.helpers import table_rows
from tests.reliability_support import CI_KILLS, KILLED, KillTally, available_failpoints, backend_of, fork_call, report

ROWS, BAD_EVERY, BATCH = 400, 50, 20
FAILPOINTS = ("ingest.mid_batch", "ingest.before_commit", "ingest.after_commit")


def write_config(tmp_path, url: str, episodes: int):
    write_csv(tmp_path / "signups.csv", ROWS, bad_every=BAD_EVERY)
    connection = {"source": "file", "streams": {"signups": {"mapping": "exhibition_signup"}},
                  "config": {"files": [{"path": "signups.csv", "stream": "signups", "primary_key": ["序号"]}],
                             "checkpoint_every": BATCH}}
    config = {"version": 1, "store": {"url": url}, "ingest": {"batch_size": BATCH, "workers": 1},
              "identity": {"resolve_after_ingest": False},
              "connections": {f"e{n}": connection for n in range(episodes + 1)}}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return path


def ingest(path, name: str):
    def run() -> None:
        cfg = load_config(path)
        store = open_store(cfg)
        result = run_connection(cfg, store, name)
        store.close()
        assert result.status == "succeeded", result.error
    return run


def check_episode(url: str, name: str) -> None:
    bad = bad_row_count(ROWS, BAD_EVERY)
    where = f"WHERE connection = '{name}'"  # episode names are e<N>: no quoting needed
    stored = table_rows(url, f"SELECT count(*), count(DISTINCT source_pk) FROM source_records {where}")  # noqa: S608
    assert stored == [(ROWS - bad, ROWS - bad)]
    assert table_rows(url, f"SELECT count(*) FROM quarantine {where} AND status = 'open'") == [(bad,)]  # noqa: S608
    pks = [int(pk) for (pk,) in table_rows(url, f"SELECT source_pk FROM source_records {where}")]  # noqa: S608
    pks += [int(pk) for (pk,) in table_rows(url, f"SELECT source_pk FROM quarantine {where}")]  # noqa: S608
    assert sorted(pks) == list(range(1, ROWS + 1))  # every row exactly once, stored or quarantined
    statuses = {s for (s,) in table_rows(url, f"SELECT status FROM runs WHERE target = '{name}'")}  # noqa: S608
    assert statuses <= {"interrupted", "succeeded"}, statuses
    (state,), = table_rows(url, f"SELECT state FROM stream_state {where} AND stream = 'signups'")  # noqa: S608
    blob = json.loads(state)["stream"]["stream_state"]
    assert blob["offset"] == ROWS and blob["done"] is True


def warm_up(path, name: str) -> None:
    """One clean run in the test process itself: children inherit its imports and warmed caches."""
    cfg = load_config(path)
    store = open_store(cfg)
    try:
        assert run_connection(cfg, store, name).status == "succeeded"
    finally:
        store.close()  # no open connection may cross a fork


def crash_episodes(tmp_path, url: str, *, target: int, seed: int, max_episodes: int = 80) -> KillTally:
    rng = random.Random(seed)
    path = write_config(tmp_path, url, max_episodes)
    log = tmp_path / "children.log"
    warm_up(path, "e0")
    check_episode(url, "e0")
    named = available_failpoints(*FAILPOINTS)
    tally = KillTally("ingest", backend_of(url))
    batches = ROWS // BATCH
    started = time.monotonic()
    assert fork_call(ingest(path, "e1"), log=log) == "ok", log.read_text()[-3000:]
    full_run = time.monotonic() - started  # one clean run in a child: the span random kills land in
    check_episode(url, "e1")
    episode = 1
    while tally.kills < target:
        episode += 1
        assert episode <= max_episodes, tally.line()
        name = f"e{episode}"
        while True:
            if named and rng.random() < 0.6:  # a named step, at its N-th hit
                point = f"{rng.choice(named)}:{rng.randint(1, max(1, batches // 4))}"
                outcome = fork_call(ingest(path, name), failpoint=point, log=log)
            else:  # anywhere: start-up, reading, cleaning, mid-transaction
                point = "timer"
                outcome = fork_call(ingest(path, name), kill_after=rng.uniform(0.0, full_run * 0.7), log=log)
            assert outcome in (KILLED, "ok"), log.read_text()[-3000:]
            tally.record(point, outcome)
            if outcome == "ok":  # this episode's run got through: check it, start the next one
                break
        check_episode(url, name)
    if url.startswith("sqlite"):
        assert table_rows(url, "PRAGMA integrity_check") == [("ok",)]
    return tally


@pytest.mark.crash
@pytest.mark.parametrize("target", [pytest.param(CI_KILLS, id="ci"),
                                    pytest.param(1000, id="long", marks=pytest.mark.slow)])
def test_sigkill_ingest_stores_every_row_once(tmp_path, store_url, capsys, target):
    tally = crash_episodes(tmp_path, store_url, target=target, seed=target, max_episodes=max(20, target // 3))
    report(capsys, tally)
    assert tally.kills >= target
