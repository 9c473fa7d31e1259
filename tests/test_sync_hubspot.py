"""HubSpot destination quirks: idProperty upsert, duplicate ids in a batch, 207 + numErrors, 429 policies."""

from __future__ import annotations

import json

import pytest
import responses

from connectors.destinations.hubspot import HubSpotWriter
from hub.sync import sync_destination
from hub.sync.destination import OutRow
from hub.sync.errors import RateLimited
from hub.sync.retry import RetryPolicy
from hub.sync.testing import person, seed_profiles
from tests.sync_support import make_config, open_store

UPSERT = "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert"
CONFIG = {"access_token": "pat-na1-secret"}
MAP = {"name": "out_hs", "key": "custhub_id", "fields": {"email": "person.emails[0].address",
                                                        "lastname": "person.name.family"}}


def row(i, email=None):
    pid = f"crm:contacts:p{i:07d}"
    return OutRow(i, pid, "upsert", {"custhub_id": pid, "email": email or f"p{i}@example.com"})


def result(r, new=True):
    return {"id": str(1000 + int(r["objectWriteTraceId"])), "new": new, "archived": False,
            "properties": r["properties"], "createdAt": "2024-05-01T10:00:00.000Z",
            "updatedAt": "2024-05-01T10:00:00.000Z", "objectWriteTraceId": r["objectWriteTraceId"]}


def echo(request):
    inputs = json.loads(request.body)["inputs"]
    ids = [i["id"].lower() for i in inputs]
    if len(ids) != len(set(ids)):
        return 400, {}, json.dumps({"status": "error", "message": f"Duplicate IDs found in batch input: {ids}. "
                                    "IDs must be unique", "correlationId": "c", "context": {"ids": ids},
                                    "category": "VALIDATION_ERROR"})
    return 200, {}, json.dumps({"status": "COMPLETE", "results": [result(r) for r in inputs],
                                "requestedAt": "x", "startedAt": "x", "completedAt": "x"})


@responses.activate
def test_upsert_uses_id_property_and_sends_a_duplicate_id_in_a_later_request():
    responses.add_callback(responses.POST, UPSERT, callback=echo)
    writer = HubSpotWriter({**CONFIG, "id_property": "email"}, "custhub_id")
    results = writer.write([row(1, "Same@x.org"), row(2), row(3, "same@x.org")])
    assert [r.status for r in results] == ["synced"] * 3
    bodies = [json.loads(c.request.body)["inputs"] for c in responses.calls]
    assert [[i["id"] for i in b] for b in bodies] == [["Same@x.org", "p2@example.com"], ["same@x.org"]]
    assert bodies[0][0]["idProperty"] == "email"
    assert responses.calls[0].request.headers["Authorization"] == "Bearer pat-na1-secret"


@responses.activate
def test_207_maps_errors_back_to_rows_by_trace_id_without_values():
    def reply(request):
        inputs = json.loads(request.body)["inputs"]
        return 207, {}, json.dumps({
            "status": "COMPLETE", "results": [result(inputs[0])], "numErrors": 1,
            "errors": [{"status": "error", "category": "VALIDATION_ERROR",
                        "message": 'Property values were not valid: [{"isValid":false,"message":"p2@example.com is '
                                   'invalid","error":"INVALID_EMAIL","name":"email"}]',
                        "context": {"objectWriteTraceId": [inputs[1]["objectWriteTraceId"]]}, "errors": []}]})

    responses.add_callback(responses.POST, UPSERT, callback=reply)
    results = HubSpotWriter(CONFIG, "custhub_id").write([row(1), row(2)])
    assert (results[0].status, results[0].external_id) == ("synced", "1001")
    assert (results[1].status, results[1].code, results[1].reason) == ("rejected", "VALIDATION_ERROR",
                                                                       "INVALID_EMAIL email")
    assert "example.com" not in results[1].reason


@responses.activate
def test_ten_secondly_429_waits_and_does_not_use_up_attempts():
    for _ in range(6):
        responses.post(UPSERT, status=429, json={"status": "error", "message": "You have reached your "
                       "ten_secondly_rolling limit.", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"})
    responses.add_callback(responses.POST, UPSERT, callback=echo)
    slept = []
    writer = HubSpotWriter(CONFIG, "custhub_id")
    results = RetryPolicy(attempts=2, sleep=slept.append, jitter=0).call(writer.write, [row(1)])
    assert results[0].status == "synced" and slept == [10.0] * 6


@responses.activate
def test_daily_429_ends_the_run_partial_with_the_rest_deferred(tmp_path, store_url):
    responses.add_callback(responses.POST, UPSERT, callback=echo)
    responses.post(UPSERT, status=429, json={"status": "error", "message": "You have reached your daily limit.",
                                             "errorType": "RATE_LIMIT", "policyName": "DAILY"})
    # responses serves matching registrations in order: the first call succeeds, then DAILY from there on
    cfg = make_config(tmp_path, store_url, {"hs": {"connector": "hubspot", "mapping": "out_hs",
                                                   "config": {**CONFIG, "batch_size": 2}}}, outmap=MAP)
    store = open_store(store_url)
    seed_profiles(store, [person(i) for i in range(6)])
    slept = []
    outcome = sync_destination(cfg, store, "hs", policy=RetryPolicy(sleep=slept.append))
    assert outcome.status == "partial" and "daily" in outcome.error
    assert outcome.delivery.created == 2 and outcome.delivery.deferred == 4 and slept == []
    with store.reading() as conn:
        later = conn.exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE status='pending'").scalar_one()
    assert later == 4
    responses.calls.reset()
    again = sync_destination(cfg, store, "hs")  # deferred until the reset: nothing sent now
    assert len(responses.calls) == 0 and again.plan.still_queued == 4


@responses.activate
def test_a_bad_property_rejecting_the_whole_batch_is_split_to_the_bad_row():
    def reply(request):
        inputs = json.loads(request.body)["inputs"]
        if any("bad" in i["properties"]["email"] for i in inputs):
            return 400, {}, json.dumps({"status": "error", "category": "VALIDATION_ERROR", "correlationId": "c",
                                        "message": 'Property values were not valid: [{"isValid":false,"message":'
                                                   '"Property \\"x\\" does not exist","error":"PROPERTY_DOESNT_EXIST",'
                                                   '"name":"x"}]'})
        return echo(request)

    responses.add_callback(responses.POST, UPSERT, callback=reply)
    from hub.sync.destination import RowResult
    from hub.sync.retry import deliver

    writer = HubSpotWriter(CONFIG, "custhub_id")
    batch = [row(1), row(2), row(3, "bad@x.org"), row(4)]
    results = deliver(writer.write, batch, RetryPolicy(), lambda e: RowResult.rejected(e.code, str(e)))
    assert [r.status for r in results] == ["synced", "synced", "rejected", "synced"]
    assert results[2].reason == "HubSpot: PROPERTY_DOESNT_EXIST x"


def test_daily_rate_limit_is_never_slept_inline():
    policy = RetryPolicy(sleep=lambda s: pytest.fail("slept"))
    calls = []

    def write(rows):
        calls.append(1)
        raise RateLimited("daily", scope="daily", retry_after=40000)

    with pytest.raises(RateLimited):
        policy.call(write, [])
    assert calls == [1]
