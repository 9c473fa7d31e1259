"""Scheduler with a controllable clock: cron and interval fire, misfire policy, persistence, no overlap (T9, T10)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from hub.config import load_config
from hub.schedule.jobs import Job, make_trigger
from hub.schedule.runner import job_runner
from hub.schedule.scheduler import Scheduler
from hub.store import Store
from tests.helpers import copy_example, table_rows

T0 = datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


def job(job_id, schedule):
    grace = schedule.get("misfire_grace")
    from hub.schedule.jobs import duration

    return Job(job_id, schedule, make_trigger(schedule, file="f", where="w"), coalesce=schedule.get("coalesce", True),
               misfire_grace=duration(grace) if grace else None)


def scheduler(store_url, jobs, clock, runs=None, owner=None):
    runs = [] if runs is None else runs

    def runner(job_id):
        runs.append((job_id, clock()))
        return "succeeded"

    s = Scheduler(Store.open(store_url), jobs, runner, clock=clock, owner=owner)
    s.sync_jobs()
    return s, runs


def test_interval_fires_on_time_and_not_before(store_url):
    clock = Clock()
    s, runs = scheduler(store_url, [job("connection:a", {"interval": "30m"})], clock)
    clock.advance(minutes=29)
    assert s.tick() == []
    clock.advance(minutes=1)
    assert [(j, w, st) for j, w, st in s.tick()] == [("connection:a", T0 + timedelta(minutes=30), "succeeded")]
    clock.advance(minutes=10)
    assert s.tick() == [] and len(runs) == 1


def test_cron_fires_at_its_minute_in_its_timezone(store_url):
    clock = Clock(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    s, runs = scheduler(store_url, [job("destination:crm", {"cron": "0 2 * * *", "timezone": "Asia/Shanghai"})],
                        clock)
    clock.advance(minutes=59)
    assert s.tick() == []
    clock.advance(minutes=1, seconds=5)  # 18:00 UTC is 02:00 in Shanghai
    fired = s.tick()
    assert [f[0] for f in fired] == ["destination:crm"] and fired[0][1] == datetime(2026, 11, 23, 18, tzinfo=UTC)


@pytest.mark.parametrize(("schedule", "statuses"), [
    ({"interval": "30m"}, ["succeeded"]),  # default: coalesce the backlog into one run
    ({"interval": "30m", "coalesce": False}, ["succeeded"] * 3),
    ({"interval": "30m", "misfire_grace": "1m"}, ["missed"]),  # too late: skipped and logged
    ({"interval": "30m", "misfire_grace": "10m"}, ["succeeded"]),
])
def test_misfire_policy_after_the_scheduler_was_down_for_three_intervals(store_url, schedule, statuses, caplog):
    clock = Clock()
    scheduler(store_url, [job("connection:a", schedule)], clock)  # persisted, then the process stops
    clock.advance(minutes=95)
    restarted, runs = scheduler(store_url, [job("connection:a", schedule)], clock)  # knows what it missed
    assert [st for _, _, st in restarted.tick()] == statuses
    assert len(runs) == statuses.count("succeeded")
    if "missed" in statuses:
        assert "missed" in caplog.text
    clock.advance(minutes=20)  # the next run is back on the grid (T0 + 120 min)
    assert restarted.tick() == []
    clock.advance(minutes=5)
    assert len(restarted.tick()) == 1


def test_two_schedulers_on_one_store_never_overlap_a_connection(store_url, caplog):
    clock = Clock()
    active, overlaps, ran = [0], [], []
    lock = threading.Lock()

    def slow(job_id):
        with lock:
            active[0] += 1
            overlaps.append(active[0])
        time.sleep(0.5)
        with lock:
            active[0] -= 1
        ran.append(job_id)
        return "succeeded"

    jobs = [job("connection:a", {"interval": "30m"})]
    a = Scheduler(Store.open(store_url), jobs, slow, clock=clock, owner="host-a:1:a")
    b = Scheduler(Store.open(store_url), jobs, slow, clock=clock, owner="host-b:2:b")
    a.sync_jobs()
    b.sync_jobs()
    results = {}
    threads = [threading.Thread(target=lambda s=s, k=k: results.__setitem__(k, s.run("connection:a")))
               for k, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["skipped", "succeeded"] and max(overlaps) == 1
    assert "already running elsewhere" in caplog.text
    clock.advance(minutes=30)  # both tick at once: the due run is claimed by one of them only
    fired = []
    threads = [threading.Thread(target=lambda s=s: fired.extend(s.tick())) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [f[2] for f in fired] == ["succeeded"] and max(overlaps) == 1


def test_an_ingest_triggers_the_syncs_that_wait_for_it(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = copy_example(tmp_path, store_url)
    raw = yaml.safe_load(path.read_text("utf-8"))
    raw["destinations"]["contacts_file"]["after"] = ["website_forms"]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    cfg = load_config(path)
    store = Store.open(store_url)
    s = Scheduler(store, [], job_runner(cfg, store, "me:1:x"), owner="me:1:x")
    assert s.run("connection:website_forms") == "succeeded"
    kinds = table_rows(store_url, "SELECT kind, target, status FROM runs ORDER BY id")
    assert kinds == [("ingest", "website_forms", "succeeded"), ("sync", "contacts_file", "succeeded")]
    assert len((tmp_path / "out/contacts.csv").read_text("utf-8").splitlines()) == 11  # header + 10 profiles
