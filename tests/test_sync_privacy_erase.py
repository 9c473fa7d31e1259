"""Erasure in destinations (T19, destination half): delete or anonymise by capability, a status per destination.

CRM APIs are mocked with ``responses`` in their exact shapes: HubSpot's GDPR delete, Zoho's
``DELETE ?ids=`` and search, FxiaoKe's ``invalid`` then ``delete``.
"""

from __future__ import annotations

import csv
import json

import pytest
import responses
import sqlalchemy as sa

from hub.privacy import audit
from hub.sync import erase, sync_destination
from hub.sync.erase import DestinationErasure, erase_in_destinations
from hub.sync.retry import RetryPolicy
from hub.sync.tables import sync_links, sync_outbox
from hub.sync.testing import delete_profile, person, seed_profiles
from tests.sync_support import OUTMAP, Recorder, make_config, open_store, registered

HS = "https://api.hubapi.com/crm/v3/objects/contacts"
HS_MAP = {"name": "out_hs", "key": "custhub_id", "fields": {"email": "person.emails[0].address"}}
NO_SLEEP = RetryPolicy(attempts=2, sleep=lambda s: None)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(erase, "retry_policy", lambda: NO_SLEEP)


@pytest.fixture
def recorder():
    rec = Recorder()
    with registered(rec):
        yield rec


def hs_upsert(request):
    inputs = json.loads(request.body)["inputs"]
    return 200, {}, json.dumps({"status": "COMPLETE", "results": [
        {"id": str(1000 + int(i["objectWriteTraceId"])), "objectWriteTraceId": i["objectWriteTraceId"],
         "properties": i["properties"]} for i in inputs]})


def rows_of(store, table, **where):
    with store.reading() as conn:
        query = sa.select(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return conn.execute(query).mappings().all()


def write_hs_map(tmp_path):
    import yaml

    (tmp_path / "maps" / "outbound" / "out_hs.yaml").write_text(yaml.safe_dump(HS_MAP), "utf-8")


@responses.activate
def test_t19_each_destination_by_its_capability_with_a_status_each(tmp_path, store_url, recorder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    responses.add_callback(responses.POST, f"{HS}/batch/upsert", callback=hs_upsert)
    gdpr = responses.post(f"{HS}/gdpr-delete", status=204)
    dests = {"file": {"connector": "file", "mapping": "out_test", "config": {"path": "out/c.csv"}},
             "table": {"connector": "sql", "mapping": "out_test",
                       "config": {"url": f"sqlite:///{tmp_path / 'dest.db'}"}},
             "crm": {"connector": "recorder", "mapping": "out_test"},
             "hs": {"connector": "hubspot", "mapping": "out_hs", "config": {"access_token": "t"}}}
    cfg = make_config(tmp_path, store_url, dests)
    write_hs_map(tmp_path)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(3)])
    for name in dests:
        assert sync_destination(cfg, store, name).status == "succeeded"
    hs_id = [r["external_id"] for r in rows_of(store, sync_links, destination="hs", profile_id=ids[0])][0]

    results = erase_in_destinations(store, cfg, [ids[0], "crm:contacts:never-sent"])

    assert results == [DestinationErasure("crm", "anonymised", "1 record(s) anonymised"),
                       DestinationErasure("file", "deleted", "1 record(s) deleted"),
                       DestinationErasure("hs", "deleted", "1 record(s) deleted"),
                       DestinationErasure("table", "deleted", "1 record(s) deleted")]
    with open(tmp_path / "out" / "c.csv", encoding="utf-8") as fh:
        assert [r["custhub_id"] for r in csv.DictReader(fh)] == ids[1:]
    with sa.create_engine(f"sqlite:///{tmp_path / 'dest.db'}").connect() as conn:
        assert conn.exec_driver_sql("SELECT custhub_id FROM custhub_profiles ORDER BY 1").scalars().all() == ids[1:]
    assert recorder.held[ids[0]] == {"custhub_id": ids[0], "name": None, "email": None, "phone": None,
                                     "opt_out": True}  # every mapped value cleared, opted out
    assert json.loads(gdpr.calls[0].request.body) == {"objectId": hs_id}
    for name in dests:  # nothing of the person left in sync's tables; the others untouched
        assert rows_of(store, sync_links, destination=name, profile_id=ids[0]) == []
        assert rows_of(store, sync_outbox, destination=name, profile_id=ids[0]) == []
        assert len(rows_of(store, sync_links, destination=name)) == 2
    with store.reading() as conn:
        entries = [e for e in reversed(audit.show(conn)) if e.action == "erase"]
    assert [(e.subjects[0], e.outcome, e.row_count) for e in entries] == [
        ("destination:crm", "anonymised", 1), ("destination:file", "deleted", 1),
        ("destination:hs", "deleted", 1), ("destination:table", "deleted", 1)]
    assert "p0@example.com" not in repr(entries) and "Person 0" not in repr(entries)


def test_nothing_sent_is_not_present_without_a_call(tmp_path, store_url, recorder):
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test"}})
    store = open_store(store_url)
    seed_profiles(store, [person(0)])
    assert erase_in_destinations(store, cfg, ["crm:contacts:p0000000"]) == [
        DestinationErasure("crm", "not_present", "no record of these profiles was sent there")]
    assert recorder.batches == []


def test_the_configured_erasure_must_be_a_capability(tmp_path, store_url, recorder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = make_config(tmp_path, store_url, {
        "crm": {"connector": "recorder", "mapping": "out_test", "config": {"erasure": "delete"}},
        "file": {"connector": "file", "mapping": "out_test", "config": {"path": "c.jsonl", "erasure": "anonymise"}}},
        outmap={**OUTMAP, "on_erasure": {"name": "Erased"}})
    store = open_store(store_url)
    ids = seed_profiles(store, [person(0)])
    sync_destination(cfg, store, "file")
    crm, file = erase_in_destinations(store, cfg, ids)
    assert crm.status == "failed" and "cannot delete" in crm.detail and "anonymise" in crm.detail
    assert file == DestinationErasure("file", "anonymised", "1 record(s) anonymised")
    line = json.loads((tmp_path / "c.jsonl").read_text("utf-8"))
    assert line == {"custhub_id": ids[0], "name": "Erased", "email": None, "phone": None, "opt_out": True}


@responses.activate
def test_a_failed_erasure_is_reported_then_retried_by_the_next_sync_run(tmp_path, store_url):
    responses.add_callback(responses.POST, f"{HS}/batch/upsert", callback=hs_upsert)
    down = responses.post(f"{HS}/gdpr-delete", status=503)
    cfg = make_config(tmp_path, store_url, {"hs": {"connector": "hubspot", "mapping": "out_hs",
                                                   "config": {"access_token": "t"}}})
    write_hs_map(tmp_path)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(0), person(1)])
    sync_destination(cfg, store, "hs", policy=NO_SLEEP)
    [result] = erase_in_destinations(store, cfg, [ids[0]])
    assert result.status == "failed" and "Transient" in result.detail and "next sync run" in result.detail
    assert down.call_count == 2  # the retry policy's attempts
    [queued] = rows_of(store, sync_outbox, destination="hs", profile_id=ids[0])
    assert (queued["kind"], queued["op"], queued["status"]) == ("erase", "erase", "pending")
    [link] = rows_of(store, sync_links, destination="hs", profile_id=ids[0])
    assert link["status"] == "erasing" and link["external_id"] == queued["external_id"]
    responses.replace(responses.POST, f"{HS}/gdpr-delete", status=204)
    with store.transaction() as conn:  # the retry is due
        conn.execute(sa.update(sync_outbox).values(next_attempt_at=sa.func.current_timestamp()))
    later = sync_destination(cfg, store, "hs", policy=NO_SLEEP)
    assert later.delivery.deleted == 1 and later.delivery.created == 0  # the pending erasure is not superseded
    assert [r["status"] for r in rows_of(store, sync_outbox, destination="hs", profile_id=ids[0])] == ["succeeded"]
    assert rows_of(store, sync_links, destination="hs", profile_id=ids[0]) == []  # not re-linked


@responses.activate
def test_hubspot_looks_up_an_unacknowledged_record_and_reports_not_present(tmp_path, store_url):
    responses.post(f"{HS}/batch/upsert", status=503)  # sent, never acknowledged
    cfg = make_config(tmp_path, store_url, {"hs": {"connector": "hubspot", "mapping": "out_hs",
                                                   "config": {"access_token": "t"}}})
    write_hs_map(tmp_path)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(0), person(1)])
    sync_destination(cfg, store, "hs", policy=RetryPolicy(attempts=1, sleep=lambda s: None))
    lookup0 = responses.get(f"{HS}/{ids[0].replace(':', '%3A')}", json={"id": "2001", "properties": {}})
    responses.get(f"{HS}/{ids[1].replace(':', '%3A')}", status=404, json={"status": "error",
                                                                           "category": "OBJECT_NOT_FOUND"})
    gdpr = responses.post(f"{HS}/gdpr-delete", status=204)
    assert erase_in_destinations(store, cfg, [ids[0]]) == [DestinationErasure("hs", "deleted", "1 record(s) deleted")]
    assert "idProperty=custhub_id" in lookup0.calls[0].request.url
    assert json.loads(gdpr.calls[0].request.body) == {"objectId": "2001"}
    assert erase_in_destinations(store, cfg, [ids[1]]) == [
        DestinationErasure("hs", "not_present", "the destination held no such record")]


ZOHO_API, ZOHO_TOKEN = "https://www.zohoapis.com", "https://accounts.zoho.com/oauth/v2/token"
ZOHO_CONFIG = {"client_id": "1000.ID", "client_secret": "s", "refresh_token": "1000.r"}
ZOHO_MAP = {"name": "out_zoho", "key": "Custhub_Id", "fields": {"Last_Name": "person.name.family"}}


@responses.activate
def test_zoho_deletes_by_id_and_finds_unlinked_records_by_search(tmp_path, store_url):
    responses.post(ZOHO_TOKEN, json={"access_token": "1000.t", "api_domain": ZOHO_API, "token_type": "Bearer",
                                     "expires_in": 3600})
    cfg = make_config(tmp_path, store_url, {"zoho": {"connector": "zoho", "mapping": "out_zoho",
                                                     "config": ZOHO_CONFIG}}, outmap=ZOHO_MAP)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(3)])
    now = sa.func.current_timestamp()
    with store.transaction() as conn:  # p0 linked; p1 and p2 sent without an acknowledgement
        conn.execute(sa.insert(sync_links).values(destination="zoho", profile_id=ids[0], external_id="4150868000001",
                                                  status="synced", created_by_custhub=True, last_synced_at=now))
    for pid in ids[1:]:
        with store.transaction() as conn:
            conn.execute(sa.insert(sync_outbox).values(
                destination="zoho", profile_id=pid, op="upsert", kind="create", payload="{}", payload_hash="x",
                status="pending", attempts=1, next_attempt_at=now, created_at=now, updated_at=now))
    search = f"{ZOHO_API}/crm/v2/Leads/search"
    responses.get(search, json={"data": [{"id": "4150868000002", "Custhub_Id": ids[1]}],
                                "info": {"count": 1, "more_records": False}},
                  match=[responses.matchers.query_param_matcher({"criteria": f"(Custhub_Id:equals:{ids[1]})"})])
    responses.get(search, status=204, match=[responses.matchers.query_param_matcher(
        {"criteria": f"(Custhub_Id:equals:{ids[2]})"})])
    deleted = responses.delete(f"{ZOHO_API}/crm/v2/Leads", json={"data": [
        {"code": "SUCCESS", "details": {"id": "4150868000001"}, "message": "record deleted", "status": "success"},
        {"code": "INVALID_DATA", "details": {"id": "4150868000002"}, "message": "the related id given seems to be "
         "invalid", "status": "error"}]})
    [result] = erase_in_destinations(store, cfg, ids)
    assert result == DestinationErasure("zoho", "deleted", "1 record(s) deleted")
    assert deleted.calls[0].request.params == {"ids": "4150868000001,4150868000002"}
    assert rows_of(store, sync_outbox, destination="zoho") == [] and rows_of(store, sync_links) == []


FX = "https://open.fxiaoke.com"
FX_CONFIG = {"app_id": "FSAID_1", "app_secret": "sec", "permanent_code": "perm", "current_open_user_id": "FSUID_1"}


@responses.activate
def test_fxiaoke_invalidates_then_deletes(tmp_path, store_url):
    responses.post(f"{FX}/cgi/corpAccessToken/get/V2", json={"errorCode": 0, "errorMessage": "success",
                                                              "corpAccessToken": "T", "corpId": "FSCID_1",
                                                              "expiresIn": 7200})
    ok = {"errorCode": 0, "errorMessage": "OK", "traceId": "E-O.1"}
    invalid = responses.post(f"{FX}/cgi/crm/v2/data/invalid", json=ok)
    delete = responses.post(f"{FX}/cgi/crm/v2/data/delete", json=ok)
    cfg = make_config(tmp_path, store_url, {"fx": {"connector": "fxiaoke", "mapping": "out_test",
                                                   "config": FX_CONFIG}})
    store = open_store(store_url)
    ids = seed_profiles(store, [person(0)])
    now = sa.func.current_timestamp()
    with store.transaction() as conn:
        conn.execute(sa.insert(sync_links).values(destination="fx", profile_id=ids[0], external_id="68fa01",
                                                  status="synced", created_by_custhub=True, last_synced_at=now))
    assert erase_in_destinations(store, cfg, ids) == [DestinationErasure("fx", "deleted", "1 record(s) deleted")]
    assert json.loads(invalid.calls[0].request.body)["data"] == {"dataObjectApiName": "ContactObj",
                                                                 "object_data_id": "68fa01"}
    body = json.loads(delete.calls[0].request.body)
    assert body["data"] == {"dataObjectApiName": "ContactObj", "idList": ["68fa01"]}
    assert body["corpAccessToken"] == "T" and body["currentOpenUserId"] == "FSUID_1"


@responses.activate
def test_a_failed_erasure_is_retried_by_erasing_again_after_the_store_rows_are_gone(tmp_path, store_url):
    responses.add_callback(responses.POST, f"{HS}/batch/upsert", callback=hs_upsert)
    responses.post(f"{HS}/gdpr-delete", status=400, json={"status": "error", "category": "VALIDATION_ERROR",
                                                         "message": "p0@example.com cannot be deleted"})
    cfg = make_config(tmp_path, store_url, {"hs": {"connector": "hubspot", "mapping": "out_hs",
                                                   "config": {"access_token": "t"}}})
    write_hs_map(tmp_path)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(0)])
    sync_destination(cfg, store, "hs", policy=NO_SLEEP)
    [first] = erase_in_destinations(store, cfg, ids)
    assert first.status == "failed" and "VALIDATION_ERROR" in first.detail and "refused" in first.detail
    assert "p0@example.com" not in first.detail
    with store.transaction() as conn:  # the erase command deletes the person's rows, outbox included
        conn.execute(sa.delete(sync_outbox))
    delete_profile(store, ids[0])
    responses.replace(responses.POST, f"{HS}/gdpr-delete", status=204)
    assert erase_in_destinations(store, cfg, ids) == [DestinationErasure("hs", "deleted", "1 record(s) deleted")]
    assert rows_of(store, sync_links) == [] and rows_of(store, sync_outbox) == []
