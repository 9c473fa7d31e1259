"""Crash safety of ingest: SIGKILL `custhub run` at random points; reruns store each record once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import yaml

from bench.datagen import bad_row_count, write_csv
from tests.helpers import REPO, table_rows

ROWS = 30_000


def make_config(tmp_path, rows: int) -> tuple[str, str]:
    write_csv(tmp_path / "signups.csv", rows)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = {
        "version": 1,
        "store": {"url": url},
        "ingest": {"batch_size": 500},
        "identity": {"resolve_after_ingest": False},  # this test is about ingest alone
        "connections": {"expo": {
            "source": "file",
            "config": {"files": [{"path": "signups.csv", "stream": "signups", "primary_key": ["序号"]}],
                       "checkpoint_every": 500},
            "streams": {"signups": {"mapping": "exhibition_signup"}},
        }},
    }
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return str(path), url


def stored(url: str) -> int:
    try:
        return table_rows(url, "SELECT count(*) FROM source_records")[0][0]
    except Exception:  # the store does not exist yet
        return 0


def start(config: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hub", "--config", config, "run"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def kill_at_random_points(config: str, url: str, kills: int, seed: int) -> int:
    """Start and SIGKILL the run ``kills`` times; returns how many kills landed mid-read."""
    rng = random.Random(seed)
    mid_read = 0
    for attempt in range(kills):
        before = stored(url)
        proc = start(config)
        if attempt % 4 == 3:  # sometimes during start-up, before any record
            time.sleep(rng.uniform(0.05, 1.5))
        else:  # usually while records are being read and committed
            deadline = time.monotonic() + 60
            while stored(url) == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            mid_read += stored(url) > before
        proc.wait()
        if stored(url) >= ROWS - bad_row_count(ROWS):
            break
    return mid_read


@pytest.mark.parametrize("kills", [pytest.param(8, id="ci"), pytest.param(60, id="long", marks=pytest.mark.slow)])
def test_sigkill_during_ingest_loses_and_duplicates_nothing(tmp_path, kills):
    config, url = make_config(tmp_path, ROWS)
    landed = kill_at_random_points(config, url, kills, seed=kills)
    assert landed >= 1, "no kill landed while records were being committed"

    final = subprocess.run([sys.executable, "-m", "hub", "--config", config, "run"], cwd=REPO,
                           capture_output=True, text=True)
    assert final.returncode == 0, final.stderr

    bad = bad_row_count(ROWS)
    assert table_rows(url, "SELECT count(*), count(DISTINCT source_pk) FROM source_records") == [(ROWS - bad,) * 2]
    assert table_rows(url, "SELECT count(*) FROM quarantine WHERE status = 'open'") == [(bad,)]
    pks = {int(pk) for (pk,) in table_rows(url, "SELECT source_pk FROM source_records")}
    pks |= {int(pk) for (pk,) in table_rows(url, "SELECT source_pk FROM quarantine")}
    assert pks == set(range(1, ROWS + 1))  # every row exactly once, in the store or in quarantine
    statuses = {status for (status,) in table_rows(url, "SELECT status FROM runs")}
    assert statuses <= {"interrupted", "succeeded"} and "running" not in statuses
    (state,), = table_rows(url, "SELECT state FROM stream_state WHERE stream = 'signups'")
    blob = json.loads(state)["stream"]["stream_state"]
    assert blob["offset"] == ROWS and blob["done"] is True
