"""Two real scheduler processes on one store never run a connection twice at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from bench.datagen import write_csv
from tests.helpers import REPO, table_rows

RUN_ONE_JOB = """
import sys
from hub.cli.common import open_store
from hub.config import load_config
from hub.schedule import locks
from hub.schedule.jobs import jobs_from_config
from hub.schedule.runner import job_runner
from hub.schedule.scheduler import Scheduler

cfg = load_config(sys.argv[1])
store = open_store(cfg)
owner = locks.new_owner()
scheduler = Scheduler(store, jobs_from_config(cfg), job_runner(cfg, store, owner), owner=owner)
scheduler.sync_jobs()
print("RESULT", scheduler.run("connection:expo"))
"""


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_scheduler_processes_run_a_connection_once(tmp_path, backend, request):
    url = f"sqlite:///{tmp_path / 'store.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    write_csv(tmp_path / "signups.csv", 40_000)  # a few seconds of work, so the two runs would overlap
    config = {"version": 1, "store": {"url": url}, "identity": {"resolve_after_ingest": False},
              "connections": {"expo": {
                  "source": "file", "schedule": {"interval": "1h"},
                  "config": {"files": [{"path": "signups.csv", "stream": "signups", "primary_key": ["序号"]}]},
                  "streams": {"signups": {"mapping": "exhibition_signup"}}}}}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    subprocess.run([sys.executable, "-m", "hub", "--config", str(path), "status"], cwd=REPO, check=True,
                   capture_output=True)  # create the store first, so both processes only race for the lease
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", RUN_ONE_JOB, str(path)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    results = sorted(line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("RESULT"))
    assert results == ["skipped", "succeeded"], outputs
    assert any("already running elsewhere" in err for _, err in outputs)
    assert table_rows(url, "SELECT status FROM runs WHERE kind = 'ingest'") == [("succeeded",)]
    assert table_rows(url, "SELECT count(*) FROM source_records") == [(40_000 - 80,)]
