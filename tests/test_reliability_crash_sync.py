"""Crash suite, sync flow: SIGKILL a forked ``sync_destination`` at the sync failpoints (``sync.after_send``:
the CRM applied the batch but custhub did not commit it; ``sync.before_commit``; ``sync.after_commit``)
at their N-th hit and at random delays, while profiles keep changing between crashes.

The fake Zoho CRM runs in the test process, so it keeps what it applied while children die around it.
Oracle: the CRM holds exactly one record per profile with the latest values, every outbox row is
settled and every link synced. ``pytest -m slow tests/test_reliability_crash_sync.py`` runs 1,000 kills.
"""

from __future__ import annotations

import random
import time

import pytest

from hub.cli.common import open_store as open_cli_store
from hub.config import load_config
from hub.sync.runner import sync_destination
from hub.sync.testing import FakeZoho, person, seed_profiles, update_profile
from tests.reliability_support import CI_KILLS, KILLED, KillTally, available_failpoints, backend_of, fork_call, report
from tests.sync_support import make_config

MAP = {"name": "out_zoho", "key": "Custhub_Id", "fields": {"Last_Name": "person.name.family",
                                                          "Email": "person.emails[0].address"}}
FAILPOINTS = ("sync.after_send", "sync.before_commit", "sync.after_commit")
PROFILES, BATCH = 200, 10


def sync_child(config_file):
    def run() -> None:
        cfg = load_config(config_file)
        store = open_cli_store(cfg)
        try:
            sync_destination(cfg, store, "zoho")
        finally:
            store.close()
    return run


def crash_sync(tmp_path, url: str, *, target: int, seed: int) -> tuple[KillTally, FakeZoho]:
    rng = random.Random(seed)
    log = tmp_path / "children.log"
    named = available_failpoints(*FAILPOINTS)
    tally = KillTally("sync", backend_of(url))
    with FakeZoho() as crm:
        cfg = make_config(tmp_path, url, {"zoho": {"connector": "zoho", "mapping": "out_zoho", "config": {
            "client_id": "i", "client_secret": "s", "refresh_token": "r", "accounts_url": crm.url,
            "api_domain": crm.url, "batch_size": BATCH, "max_attempts": 1000}}}, outmap=MAP)
        store = open_cli_store(load_config(cfg.file))
        ids = seed_profiles(store, [person(i) for i in range(PROFILES)])
        latest = {pid: f"p{i}@example.com" for i, pid in enumerate(ids)}
        store.close()
        sync_child(cfg.file)()  # the first sync in the test process: children inherit its warm imports
        started = time.monotonic()
        assert fork_call(sync_child(cfg.file), log=log) == "ok", log.read_text()[-3000:]
        full_run = max(0.2, time.monotonic() - started)
        round_ = 0
        while tally.kills < target:
            round_ += 1
            store = open_cli_store(load_config(cfg.file))
            changed = rng.sample(ids, rng.randint(20, 80))  # profiles keep changing between crashes
            for pid in changed:
                email = f"v{round_}-{pid.rsplit(':', 1)[1]}@example.com"
                update_profile(store, pid, {"person": {"name": {"family": "F"}, "emails": [{"address": email}]}})
                latest[pid] = email
            store.close()  # no open connection may cross a fork
            for _ in range(rng.randint(2, 5)):  # a few crashes on this change set
                if named and rng.random() < 0.7:
                    point = f"{rng.choice(named)}:{rng.randint(1, max(1, len(changed) // BATCH))}"
                    outcome = fork_call(sync_child(cfg.file), failpoint=point, log=log)
                else:
                    point = "timer"
                    outcome = fork_call(sync_child(cfg.file), kill_after=rng.uniform(0.0, full_run), log=log)
                assert outcome in (KILLED, "ok"), log.read_text()[-3000:]
                tally.record(point, outcome)
        assert fork_call(sync_child(cfg.file), log=log) == "ok", log.read_text()[-3000:]
        assert len(crm.by_key) == PROFILES and len(crm.records) == PROFILES  # exactly one record per profile
        assert {r["Custhub_Id"]: r["Email"] for r in crm.records.values()} == latest
        store = open_cli_store(load_config(cfg.file))
        with store.reading() as conn:
            statuses = dict(conn.exec_driver_sql("SELECT status, count(*) FROM sync_outbox GROUP BY status").all())
            linked = conn.exec_driver_sql("SELECT count(*) FROM sync_links WHERE external_id IS NOT NULL "
                                          "AND status = 'synced'").scalar_one()
        store.close()
        assert set(statuses) <= {"succeeded", "superseded"}, statuses
        assert linked == PROFILES
        assert crm.upserted_rows > PROFILES  # resends after the ack-lost window happened and were harmless
        return tally, crm


@pytest.mark.crash
@pytest.mark.parametrize("target", [pytest.param(CI_KILLS, id="ci"),
                                    pytest.param(1000, id="long", marks=pytest.mark.slow)])
def test_sigkill_sync_keeps_one_crm_record_per_profile(tmp_path, store_url, capsys, target):
    tally, _ = crash_sync(tmp_path, store_url, target=target, seed=target)
    report(capsys, tally)
    assert tally.kills >= target
