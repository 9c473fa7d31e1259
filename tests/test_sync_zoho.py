"""Zoho CRM destination quirks, HTTP mocked with ``responses`` in Zoho's exact shapes."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from connectors.destinations.zoho import ZohoWriter
from hub.errors import ConnectorError
from hub.sync import sync_destination
from hub.sync.destination import OutRow
from hub.sync.retry import RetryPolicy
from hub.sync.testing import person, seed_profiles, update_profile
from tests.sync_support import make_config, open_store

ACCOUNTS, API = "https://accounts.zoho.com", "https://www.zohoapis.com"
TOKEN = f"{ACCOUNTS}/oauth/v2/token"
UPSERT = f"{API}/crm/v2/Leads/upsert"
CONFIG = {"client_id": "1000.ID", "client_secret": "s", "refresh_token": "1000.r"}
MAP = {"name": "out_zoho", "key": "Custhub_Id", "fields": {"Last_Name": "person.name.family",
                                                          "Email": "person.emails[0].address"}}


def token(access="1000.tok"):
    responses.post(TOKEN, json={"access_token": access, "api_domain": API, "token_type": "Bearer",
                                "expires_in": 3600})


def ok(i, action="insert"):
    return {"code": "SUCCESS", "duplicate_field": None if action == "insert" else "Custhub_Id", "action": action,
            "details": {"id": f"41508680000{i:05d}", "Created_Time": "2024-01-01T00:00:00+05:30"},
            "message": "record added", "status": "success"}


def upsert_echo(request):
    body = json.loads(request.body)
    return 200, {}, json.dumps({"data": [ok(int(r["Custhub_Id"].rsplit("p", 1)[1])) for r in body["data"]]})


def rows(n):
    return [OutRow(i + 1, f"crm:contacts:p{i:07d}", "upsert", {"Custhub_Id": f"crm:contacts:p{i:07d}",
                                                               "Last_Name": f"L{i}"}) for i in range(n)]


@responses.activate
def test_upsert_sends_100_per_call_keyed_on_the_custhub_id_with_the_zoho_auth_header(tmp_path, store_url):
    token()
    responses.add_callback(responses.POST, UPSERT, callback=upsert_echo)
    cfg = make_config(tmp_path, store_url, {"zoho": {"connector": "zoho", "mapping": "out_zoho",
                                                     "config": CONFIG}}, outmap=MAP)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(250)])
    result = sync_destination(cfg, store, "zoho")
    assert result.status == "succeeded" and result.delivery.created == 250
    calls = [c for c in responses.calls if c.request.url == UPSERT]
    assert [len(json.loads(c.request.body)["data"]) for c in calls] == [100, 100, 50]
    for c in calls:
        assert c.request.headers["Authorization"] == "Zoho-oauthtoken 1000.tok"
        body = json.loads(c.request.body)
        assert body["duplicate_check_fields"] == ["Custhub_Id"] and body["trigger"] == []
    # a re-sync with no change sends zero requests; one changed field sends one update of one row
    responses.calls.reset()
    assert sync_destination(cfg, store, "zoho").plan.unchanged == 250
    assert len(responses.calls) == 0
    update_profile(store, ids[7], {"person": {**person(7)["person"], "emails": [{"address": "new@x.org"}]}})
    sync_destination(cfg, store, "zoho")
    upserts = [json.loads(c.request.body)["data"] for c in responses.calls if c.request.url == UPSERT]
    assert upserts == [[{"Custhub_Id": ids[7], "Last_Name": "Family7", "Email": "new@x.org"}]]


@responses.activate
def test_207_is_read_row_by_row_with_value_free_reasons():
    token()
    responses.post(UPSERT, status=207, json={"data": [
        ok(0),
        {"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
         "message": "required field not found", "status": "error"},
        {"code": "DUPLICATE_DATA", "details": {"api_name": "Email", "id": "2008662000006256222"},
         "message": "duplicate data", "status": "error"}]})
    results = ZohoWriter(CONFIG, "Custhub_Id").write(rows(3))
    assert [(r.status, r.external_id, r.code, r.reason) for r in results] == [
        ("synced", "4150868000000000", None, None),
        ("rejected", None, "MANDATORY_NOT_FOUND", "MANDATORY_NOT_FOUND on field Last_Name"),
        ("rejected", None, "DUPLICATE_DATA", "DUPLICATE_DATA on field Email")]


@responses.activate
def test_an_expired_token_is_refreshed_once_and_the_call_retried():
    token("1000.old")
    token("1000.new")
    responses.post(UPSERT, status=401, json={"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                                             "status": "error"},
                   match=[matchers.header_matcher({"Authorization": "Zoho-oauthtoken 1000.old"})])
    responses.post(UPSERT, json={"data": [ok(0)]},
                   match=[matchers.header_matcher({"Authorization": "Zoho-oauthtoken 1000.new"})])
    results = ZohoWriter(CONFIG, "Custhub_Id").write(rows(1))
    assert results[0].status == "synced"
    assert [c.request.url.split("?")[0] for c in responses.calls] == [TOKEN, UPSERT, TOKEN, UPSERT]


@responses.activate
def test_a_token_error_inside_http_200_fails_loudly_without_echoing_secrets():
    responses.post(TOKEN, json={"error": "invalid_code"})
    with pytest.raises(ConnectorError) as info:
        ZohoWriter(CONFIG, "Custhub_Id").write(rows(1))
    assert "invalid_code" in str(info.value) and "1000.r" not in str(info.value)


@responses.activate
def test_429_waits_retry_after_then_succeeds():
    token()
    responses.post(UPSERT, status=429, headers={"Retry-After": "7"},
                   json={"code": "TOO_MANY_REQUESTS", "status": "error", "message": "Rate limit exceeded."})
    responses.post(UPSERT, json={"data": [ok(0)]})
    slept = []
    writer = ZohoWriter(CONFIG, "Custhub_Id")
    results = RetryPolicy(sleep=slept.append, jitter=0).call(writer.write, rows(1))
    assert results[0].status == "synced" and slept == [7.0]


@responses.activate
def test_a_batch_refused_as_a_whole_is_split_to_find_the_bad_row(tmp_path, store_url):
    token()

    def reply(request):
        data = json.loads(request.body)["data"]
        if any(r["Last_Name"] == "Family3" for r in data):
            return 400, {}, json.dumps({"code": "INVALID_DATA", "details": {}, "message": "invalid data",
                                        "status": "error"})
        return 200, {}, json.dumps({"data": [ok(i) for i in range(len(data))]})

    responses.add_callback(responses.POST, UPSERT, callback=reply)
    cfg = make_config(tmp_path, store_url, {"zoho": {"connector": "zoho", "mapping": "out_zoho",
                                                     "config": {**CONFIG, "batch_size": 8}}}, outmap=MAP)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(8)])
    result = sync_destination(cfg, store, "zoho")
    assert (result.delivery.created, result.delivery.rejected) == (7, 1)
    with store.reading() as conn:
        bad = conn.exec_driver_sql("SELECT profile_id, error_code FROM sync_outbox WHERE status='rejected'").all()
    assert [tuple(b) for b in bad] == [(ids[3], "INVALID_DATA")]
