"""A SIGKILLed ``custhub run`` must not leave its ingest worker processes behind.

With ``ingest.workers > 1`` the run starts a spawned ProcessPoolExecutor (hub/ingest/workers.py). When the
run is killed with SIGKILL, its workers are re-parented to init and keep waiting on their task queue,
holding memory and the parent's stdout/stderr pipes (a caller waiting for EOF on those pipes hangs).
Found by the crash suite; each worker now watches its parent and exits when it is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from bench.datagen import write_csv
from tests.helpers import REPO, table_rows


def workers_of(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_run_leaves_no_worker_processes(tmp_path):
    write_csv(tmp_path / "signups.csv", 60_000)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = {"version": 1, "store": {"url": url}, "ingest": {"batch_size": 2000, "workers": 2},
              "identity": {"resolve_after_ingest": False},
              "connections": {"expo": {"source": "file", "streams": {"signups": {"mapping": "exhibition_signup"}},
                                       "config": {"files": [{"path": "signups.csv", "stream": "signups",
                                                             "primary_key": ["序号"]}]}}}}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    marker = f"CUSTHUB_ORPHAN_TEST={tmp_path.name}"
    env = {**os.environ, "PYTHONPATH": str(REPO), marker.split("=")[0]: marker.split("=")[1]}
    proc = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(path), "run"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and len(workers_of(marker)) < 3:  # the run and its 2 workers
            time.sleep(0.1)
        while time.monotonic() < deadline:  # ... storing records
            try:
                if table_rows(url, "SELECT count(*) FROM source_records")[0][0] > 0:
                    break
            except Exception:  # the store is not created yet
                pass
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(5)
        left = workers_of(marker)
        assert left == [], f"{len(left)} worker process(es) outlived the killed run"
    finally:
        for pid in workers_of(marker):  # clean up what this test started
            os.kill(pid, signal.SIGKILL)
