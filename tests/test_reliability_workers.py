"""Several scheduler worker processes on one PostgreSQL store (real processes, ``python -c``).

- Three workers each try every one of three connections, in different orders, at the same time. The
  work is shared, and no connection ever has two ingest runs whose time spans overlap; every record
  is stored once.
- A worker whose lease owner is on another machine (so its death cannot be seen through its pid) is
  SIGKILLed mid-run. Until its lease expires another worker skips the connection; after that it runs
  it, finishes the ingest, and stores every record once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from bench.datagen import bad_row_count, write_csv
from tests.helpers import REPO, table_rows

pytestmark = pytest.mark.postgres

WORKER = """
import sys
from datetime import timedelta
from hub.cli.common import open_store
from hub.config import load_config
from hub.schedule import locks
from hub.schedule.jobs import jobs_from_config
from hub.schedule.runner import job_runner
from hub.schedule.scheduler import Scheduler

config, order, remote, ttl = sys.argv[1], sys.argv[2].split(","), sys.argv[3] == "1", float(sys.argv[4])
locks.acquire.__defaults__ = (timedelta(seconds=ttl),)  # a short lease, so the test need not wait 15 min
cfg = load_config(config)
store = open_store(cfg)
owner = locks.new_owner()
if remote:  # as if this worker ran on another machine: its pid cannot be checked from here
    owner = "another-host:" + owner.split(":", 1)[1]
scheduler = Scheduler(store, jobs_from_config(cfg), job_runner(cfg, store, owner), owner=owner)
scheduler.sync_jobs()
for name in order:
    print("RESULT", name, scheduler.run("connection:" + name), flush=True)
"""
ROWS = 20_000


def make_config(tmp_path, url: str, names: list[str], rows: int = ROWS):
    connections = {}
    for n, name in enumerate(names):
        write_csv(tmp_path / f"{name}.csv", rows, seed=n + 1)
        connections[name] = {"source": "file", "schedule": {"interval": "1h"},
                             "config": {"files": [{"path": f"{name}.csv", "stream": "signups",
                                                   "primary_key": ["序号"]}], "checkpoint_every": 500},
                             "streams": {"signups": {"mapping": "exhibition_signup"}}}
    config = {"version": 1, "store": {"url": url}, "identity": {"resolve_after_ingest": False},
              "ingest": {"batch_size": 500, "workers": 1}, "connections": connections}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    subprocess.run([sys.executable, "-m", "hub", "--config", str(path), "status"], cwd=REPO, check=True,
                   capture_output=True)  # create the store first, so workers only race for leases
    return path


def worker(path, order: list[str], *, remote: bool = False, ttl: float = 900) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUSTHUB_LOAD_PLUGINS": "0"}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(path), ",".join(order), "1" if remote else "0",
                             str(ttl)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def results(out: str) -> dict[str, str]:
    return {line.split()[1]: line.split()[2] for line in out.splitlines() if line.startswith("RESULT")}


def test_workers_share_connections_and_never_overlap_one(tmp_path, pg_url):
    names = ["alpha", "beta", "gamma"]
    path = make_config(tmp_path, pg_url, names)
    orders = [names, names[1:] + names[:1], names[2:] + names[:2]]
    procs = [worker(path, order) for order in orders]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    by_worker = [results(out) for out, _ in outputs]
    ran = [{n for n, status in r.items() if status == "succeeded"} for r in by_worker]
    assert set().union(*ran) == set(names)  # every connection ran
    assert sum(1 for r in ran if r) >= 2  # ... and the work was shared
    runs = table_rows(pg_url, "SELECT target, started_at, finished_at, status FROM runs WHERE kind = 'ingest' "
                              "ORDER BY target, started_at")
    for name in names:
        spans = [(s, f) for t, s, f, _ in runs if t == name]
        assert spans and all(f is not None for _, f in spans)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two runs of {name} overlapped"  # never twice at once
    bad = bad_row_count(ROWS)
    counts = dict(table_rows(pg_url, "SELECT connection, count(DISTINCT source_pk) FROM source_records GROUP BY 1"))
    assert counts == {name: ROWS - bad for name in names}
    assert table_rows(pg_url, "SELECT count(*) FROM source_records") == [(3 * (ROWS - bad),)]


def test_a_killed_worker_leaves_the_connection_to_another_after_its_lease(tmp_path, pg_url):
    path = make_config(tmp_path, pg_url, ["alpha"], rows=40_000)
    ttl = 6.0
    victim = worker(path, ["alpha"], remote=True, ttl=ttl)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it is storing records, then kill it
        if table_rows(pg_url, "SELECT count(*) FROM source_records")[0][0] > 0:
            break
        time.sleep(0.1)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()
    killed_at = time.monotonic()
    stored_at_kill = table_rows(pg_url, "SELECT count(*) FROM source_records")[0][0]
    assert 0 < stored_at_kill < 40_000 - bad_row_count(40_000), "the kill did not land mid-run"

    early = worker(path, ["alpha"], ttl=ttl)  # the lease is still live: skipped
    out, err = early.communicate(timeout=120)
    if time.monotonic() - killed_at < ttl:
        assert results(out) == {"alpha": "skipped"}, err[-2000:]

    time.sleep(max(0.0, ttl - (time.monotonic() - killed_at)) + 0.5)
    late = worker(path, ["alpha"], ttl=ttl)
    out, err = late.communicate(timeout=600)
    assert results(out) == {"alpha": "succeeded"}, err[-2000:]
    bad = bad_row_count(40_000)
    assert table_rows(pg_url, "SELECT count(*), count(DISTINCT source_pk) FROM source_records") == \
        [(40_000 - bad, 40_000 - bad)]
    statuses = [s for s, in table_rows(pg_url, "SELECT status FROM runs WHERE kind = 'ingest' ORDER BY id")]
    assert statuses[0] == "interrupted" and set(statuses[1:]) == {"succeeded"}  # the killed run is marked
