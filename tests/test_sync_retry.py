"""Retry-After (seconds and HTTP-date), attempt budgets, and the circuit breaker per destination (T11, T37)."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest
import responses

from hub.sync import sync_destination
from hub.sync.breaker import CircuitBreaker, reset_breakers
from hub.sync.destination import RowResult
from hub.sync.errors import DestinationUnavailable, RateLimited, Transient
from hub.sync.retry import RetryPolicy, parse_retry_after
from hub.sync.testing import person, seed_profiles
from tests.sync_support import Recorder, make_config, open_store, registered

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("2", 2.0), (" 120 ", 120.0), (email.utils.format_datetime(NOW + timedelta(seconds=3), usegmt=True), 3.0),
    (email.utils.format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0), ("soon", None), (None, None),
])
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_waits_follow_retry_after_and_burst_waits_do_not_count_as_attempts():
    outcomes = [RateLimited("b", retry_after=2), RateLimited("b", retry_after=3), Transient("5xx"),
                RateLimited("b", retry_after=2), "ok"]
    slept = []

    def call():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert RetryPolicy(attempts=2, sleep=slept.append, jitter=0).call(call) == "ok"
    assert slept[:2] == [2, 3] and slept[3] == 2


def test_transient_failures_stop_after_the_attempt_budget():
    calls = []

    def call():
        calls.append(1)
        raise Transient("HTTP 503")

    with pytest.raises(Transient):
        RetryPolicy(attempts=3, sleep=lambda s: None).call(call)
    assert len(calls) == 3


def test_a_wait_longer_than_the_inline_limit_is_not_slept():
    with pytest.raises(RateLimited):
        RetryPolicy(max_inline_wait=60, sleep=lambda s: pytest.fail("slept")).call(
            lambda: (_ for _ in ()).throw(RateLimited("b", retry_after=3600)))


@responses.activate
def test_zoho_429_with_http_date_is_honoured_end_to_end(tmp_path, store_url):
    responses.post("https://accounts.zoho.com/oauth/v2/token", json={"access_token": "t",
                                                                      "api_domain": "https://www.zohoapis.com"})
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    url = "https://www.zohoapis.com/crm/v2/Leads/upsert"
    responses.post(url, status=429, headers={"Retry-After": later}, json={"code": "TOO_MANY_REQUESTS"})
    responses.post(url, json={"data": [{"status": "success", "code": "SUCCESS", "details": {"id": "9"}}]})
    cfg = make_config(tmp_path, store_url, {"z": {"connector": "zoho", "mapping": "out_test", "config": {
        "client_id": "i", "client_secret": "s", "refresh_token": "r"}}})
    store = open_store(store_url)
    seed_profiles(store, [person(1)])
    slept = []
    assert sync_destination(cfg, store, "z", policy=RetryPolicy(sleep=slept.append, jitter=0)).status == "succeeded"
    assert len(slept) == 1 and 15 <= slept[0] <= 30  # the date was 30 s ahead when the test started


class Failing(Recorder):
    name = "failing"

    def write(self, rows):
        self.batches.append(rows)
        raise Transient("HTTP 503")


class Refusing(Recorder):
    name = "refusing"

    def write(self, rows):
        self.batches.append(rows)
        return [RowResult.rejected("INVALID_DATA", "INVALID_DATA on field Email") for _ in rows]


def test_circuit_breaker_isolates_a_failing_destination(tmp_path, store_url):
    reset_breakers()
    bad, good, refusing = Failing(), Recorder(), Refusing()
    with registered(bad, good, refusing):
        cfg = make_config(tmp_path, store_url, {
            "a": {"connector": "failing", "mapping": "out_test", "config": {"batch_size": 1, "fail_max": 2,
                                                                            "max_attempts": 99}},
            "b": {"connector": "recorder", "mapping": "out_test", "config": {"batch_size": 1}},
            "c": {"connector": "refusing", "mapping": "out_test", "config": {"batch_size": 1, "fail_max": 2}}})
        store = open_store(store_url)
        seed_profiles(store, [person(i) for i in range(5)])
        policy = RetryPolicy(attempts=1, sleep=lambda s: None)
        a = sync_destination(cfg, store, "a", policy=policy)
        assert a.status == "partial" and "circuit opened" in a.error and len(bad.batches) == 2
        a2 = sync_destination(cfg, store, "a", policy=policy)  # open: no request at all
        assert len(bad.batches) == 2 and "unavailable" in a2.error
        assert sync_destination(cfg, store, "b", policy=policy).delivery.created == 5  # unaffected
        c = sync_destination(cfg, store, "c", policy=policy)  # rejections never open the breaker
        assert c.delivery.rejected == 5 and len(refusing.batches) == 5
    reset_breakers()


def test_breaker_half_opens_after_the_reset_timeout():
    now = [0.0]
    breaker = CircuitBreaker("x", fail_max=1, reset_timeout=30, clock=lambda: now[0])
    breaker.failure()
    with pytest.raises(DestinationUnavailable):
        breaker.before()
    now[0] = 31
    breaker.before()  # half-open probe allowed
    breaker.failure()
    with pytest.raises(DestinationUnavailable):
        breaker.before()
    now[0] = 62
    breaker.before()
    breaker.success()
    assert breaker.state == "closed"
