"""Fault injection against a real local HTTP fake of Zoho CRM (hub.sync.testing.FakeZoho, in a thread).

Each upsert request may meet a fault: 429 with Retry-After, 500/503, a slow answer, an answer later
than the client's timeout (the write applied), a connection dropped after the write was applied,
a truncated JSON body or an invalid (HTML) body after the write was applied. Oracle: after the faults
stop, repeated syncs end with every profile in the CRM exactly once with its latest values, every
link synced and every outbox row settled; while a destination keeps failing its runs are ``partial``
and its circuit breaker opens, and a healthy destination beside it syncs everything.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from urllib.parse import urlparse

import orjson
import pytest

from hub.cli.common import open_store
from hub.config import load_config
from hub.sync.breaker import breaker_for, reset_breakers
from hub.sync.retry import RetryPolicy
from hub.sync.runner import sync_destination
from hub.sync.testing import FakeZoho, person, seed_profiles, update_profile
from tests.sync_support import make_config

MAP = {"name": "out_zoho", "key": "Custhub_Id", "fields": {"Last_Name": "person.name.family",
                                                          "Email": "person.emails[0].address"}}
APPLIED_FAULTS = ("late", "drop_after_apply", "truncated_after_apply", "invalid_after_apply")
FAULTS = ("429", "500", "503", "slow", "late", "drop_after_apply", "truncated_after_apply", "invalid_after_apply")
FAST = RetryPolicy(attempts=4, max_inline_wait=5, jitter=0.0, backoff=lambda state: 0.01)


class FaultyZoho(FakeZoho):
    """FakeZoho whose upsert requests meet the faults in ``plan`` (one per request, then none)."""

    def __init__(self, plan=(), client_timeout: float = 1.0) -> None:
        self.plan = list(plan)
        self.client_timeout = client_timeout
        self.seen: Counter = Counter()
        super().__init__()

    def next_fault(self) -> str | None:
        with self.lock:
            fault = self.plan.pop(0) if self.plan else None
            if fault:
                self.seen[fault] += 1
            return fault

    def _handler(self):
        base = super()._handler()
        fake = self

        class Handler(base):
            def do_POST(self) -> None:  # noqa: N802
                if urlparse(self.path).path.endswith("/oauth/v2/token"):
                    return base.do_POST(self)
                fault = fake.next_fault()
                if fault is None:
                    return base.do_POST(self)
                length = int(self.headers.get("Content-Length") or 0)
                body = orjson.loads(self.rfile.read(length)) if length else {}
                if fault == "429":
                    return self._raw(429, json.dumps({"code": "TOO_MANY_REQUESTS", "status": "error"}).encode(),
                                     {"Retry-After": "1"})
                if fault in ("500", "503"):
                    return self._raw(int(fault), b'{"code":"INTERNAL_ERROR","status":"error"}')
                applied = json.dumps({"data": fake.upsert(body["data"], body.get("duplicate_check_fields") or [])})
                if fault == "slow":
                    time.sleep(fake.client_timeout * 0.5)
                    return self._raw(200, applied.encode())
                if fault == "late":  # applied, answered after the client gave up
                    time.sleep(fake.client_timeout * 1.5)
                    return self._raw(200, applied.encode())
                if fault == "drop_after_apply":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if fault == "truncated_after_apply":
                    data = applied.encode()
                    return self._raw(200, data[: len(data) // 2], length=len(data))
                return self._raw(200, b"<html>502 Bad Gateway</html>")  # invalid_after_apply

            def _raw(self, status: int, data: bytes, headers: dict | None = None, length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length if length is not None else len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                if length is not None:
                    self.close_connection = True

        return Handler


def destination(crm: FakeZoho, **extra) -> dict:
    return {"connector": "zoho", "mapping": "out_zoho", "config": {
        "client_id": "i", "client_secret": "s", "refresh_token": "r", "accounts_url": crm.url, "api_domain": crm.url,
        "batch_size": 10, "timeout": crm.client_timeout if isinstance(crm, FaultyZoho) else 5, **extra}}


def synced(store, name: str) -> tuple[dict, int]:
    with store.reading() as conn:
        statuses = dict(conn.exec_driver_sql(
            "SELECT status, count(*) FROM sync_outbox WHERE destination = ? GROUP BY status"
            if store.dialect == "sqlite" else
            "SELECT status, count(*) FROM sync_outbox WHERE destination = %s GROUP BY status", (name,)).all())
        linked = conn.exec_driver_sql(
            ("SELECT count(*) FROM sync_links WHERE destination = ? AND external_id IS NOT NULL AND status = 'synced'"
             if store.dialect == "sqlite" else
             "SELECT count(*) FROM sync_links WHERE destination = %s AND external_id IS NOT NULL "
             "AND status = 'synced'"), (name,)).scalar_one()
    return statuses, linked


@pytest.fixture(autouse=True)
def fresh_breakers():
    reset_breakers()
    yield
    reset_breakers()


def test_every_fault_kind_ends_with_one_record_per_profile(tmp_path, store_url):
    profiles = 120
    rng_plan = list(itertools.islice(itertools.cycle(FAULTS), 40))
    with FaultyZoho(plan=rng_plan) as crm:
        cfg = make_config(tmp_path, store_url, {"zoho": destination(crm, max_attempts=50)}, outmap=MAP)
        cfg = load_config(cfg.file)
        store = open_store(cfg)
        ids = seed_profiles(store, [person(i) for i in range(profiles)])
        latest = {pid: f"p{i}@example.com" for i, pid in enumerate(ids)}
        statuses = []
        for round_ in range(12):
            if round_ in (2, 5):  # profiles change between runs
                for pid in ids[round_::7]:
                    email = f"r{round_}-{pid.rsplit(':', 1)[1]}@example.com"
                    update_profile(store, pid, {"person": {"name": {"family": "F"}, "emails": [{"address": email}]}})
                    latest[pid] = email
            reset_breakers()
            result = sync_destination(cfg, store, "zoho", policy=FAST)
            statuses.append(result.status)
            if result.status == "succeeded" and round_ >= 6 and not crm.plan:
                break
        assert set(crm.seen) == set(FAULTS), crm.seen  # every fault kind was met
        assert "partial" in statuses or "failed" in statuses  # runs said so while faults lasted
        assert statuses[-1] == "succeeded", statuses
        assert len(crm.by_key) == profiles and len(crm.records) == profiles  # exactly one record per profile
        assert {r["Custhub_Id"]: r["Email"] for r in crm.records.values()} == latest  # nothing lost or stale
        outbox, linked = synced(store, "zoho")
        assert set(outbox) <= {"succeeded", "superseded"}, outbox
        assert linked == profiles
        store.close()


@pytest.mark.parametrize("fault", ["late", "drop_after_apply", "invalid_after_apply", "truncated_after_apply"])
def test_an_applied_write_with_a_lost_answer_is_not_a_rejection(tmp_path, fault):
    """The CRM applied the batch but the answer was lost or unreadable: custhub must treat the outcome as
    unknown (resend, the upsert keeps one record), never as a content rejection of the rows."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with FaultyZoho(plan=[fault]) as crm:
        cfg = load_config(make_config(tmp_path, url, {"zoho": destination(crm)}, outmap=MAP).file)
        store = open_store(cfg)
        seed_profiles(store, [person(i) for i in range(10)])
        result = sync_destination(cfg, store, "zoho", policy=FAST)
        outbox, linked = synced(store, "zoho")
        store.close()
        assert result.delivery.rejected == 0 and "rejected" not in outbox, (fault, result.status, outbox)
        assert len(crm.records) == 10 and linked == 10


def test_the_breaker_isolates_a_failing_destination(tmp_path, store_url):
    profiles = 60
    with FaultyZoho(plan=["503"] * 10_000) as bad, FakeZoho() as good:
        cfg = make_config(tmp_path, store_url, {"bad": destination(bad, fail_max=2, reset_timeout=3600),
                                                "good": destination(good)}, outmap=MAP)
        cfg = load_config(cfg.file)
        store = open_store(cfg)
        seed_profiles(store, [person(i) for i in range(profiles)])
        first = sync_destination(cfg, store, "bad", policy=FAST)
        assert first.status == "partial"
        assert breaker_for("bad").state == "open"
        calls = bad.seen["503"]
        second = sync_destination(cfg, store, "bad", policy=FAST)  # open: not called at all
        assert second.status == "partial" and bad.seen["503"] == calls
        healthy = sync_destination(cfg, store, "good", policy=FAST)
        assert healthy.status == "succeeded" and len(good.records) == profiles
        assert breaker_for("good").state == "closed"
        outbox, _ = synced(store, "bad")
        assert "rejected" not in outbox and "dead" not in outbox  # nothing given up: still pending
        store.close()
