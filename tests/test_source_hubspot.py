"""The HubSpot source (a declarative manifest): the conformance suite and HubSpot's quirks.

The fake speaks HubSpot's shapes (``reference/api-shapes-and-reverse-etl.md`` B.2): the search
endpoint with ``filterGroups``/``sorts``/``after``, string property values, ``paging.next.after``
(absent on the last page), and 429 bodies whose ``policyName`` tells a burst from the daily limit.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import responses

from connectors.hubspot import HUBSPOT_SOURCE
from hub.protocol import State
from hub.sources.conformance import FakeApi, SourceConformance, failures, read, record_ids

BASE = "https://api.hubapi.com"
SEARCH = f"{BASE}/crm/v3/objects/contacts/search"
NAMES = [("Brian", "Halligan"), ("伟", "张"), ("Ada", "Lovelace"), ("娜", "李")]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def limit_body(policy: str) -> str:
    return json.dumps({"status": "error", "message": f"You have reached your {policy.lower()} limit.",
                       "errorType": "RATE_LIMIT", "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
                       "policyName": policy, "requestId": "3d3e35b7-0dae-4b9f-a6e3-9c230cbcf8dd"})


class FakeHubspot(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.token = "pat-na1-good"
        self.bodies: list[dict] = []
        self.daily_after: int | None = None  # answer DAILY 429 once this many data calls were served

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.POST, SEARCH, callback=self.search)

    def search(self, request):
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}, json.dumps({"status": "error", "message": "Authentication credentials not found.",
                                        "correlationId": "a1", "category": "INVALID_AUTHENTICATION"})
        body = json.loads(request.body)
        self.bodies.append(body)
        if self.daily_after is not None and self.data_calls >= self.daily_after:
            return 429, {}, limit_body("DAILY")
        if self.take_429():
            return 429, {"Retry-After": "1"}, limit_body("TEN_SECONDLY_ROLLING")
        rows = sorted(self.records["contacts"].values(),
                      key=lambda r: (int(r["_ms"]), int(r["id"])))
        for flt in body["filterGroups"][0]["filters"]:
            assert flt["propertyName"] == "lastmodifieddate"
            bound = int(flt["value"])
            keep = {"GT": lambda ms, b=bound: ms > b, "GTE": lambda ms, b=bound: ms >= b,
                    "LTE": lambda ms, b=bound: ms <= b}[flt["operator"]]
            rows = [r for r in rows if keep(r["_ms"])]
        start = int(body.get("after") or 0)
        limit = int(body["limit"])
        page = rows[start:start + limit]
        self.data_calls += 1
        result = {"total": len(rows), "results": [self.public(r, body["properties"]) for r in page]}
        if start + limit < len(rows):
            result["paging"] = {"next": {"after": str(start + limit),
                                         "link": f"{SEARCH}?after={start + limit}"}}
        return 200, {}, json.dumps(result)

    @staticmethod
    def public(row: dict, properties: list[str]) -> dict:
        props = {k: v for k, v in row["properties"].items() if k in properties}
        props["hs_object_id"] = row["id"]
        return {"id": row["id"], "properties": props, "createdAt": "2019-10-30T03:30:17.883Z",
                "updatedAt": iso(row["_ms"]), "archived": False}

    def seed(self, stream: str, n: int) -> None:
        table = self.records.setdefault(stream, {})
        for i in range(len(table), len(table) + n):
            given, family = NAMES[i % len(NAMES)]
            ms = self.tick()
            row_id = str(512 + i)
            table[row_id] = {"id": row_id, "_ms": ms, "properties": {
                "email": f"contact{i}@hubspot.com", "firstname": given, "lastname": family,
                "phone": f"+86 10 6552 {i % 10000:04d}", "company": "HubSpot", "jobtitle": "CEO",
                "lifecyclestage": "lead" if i % 2 else "customer",
                "hs_email_optout": "true" if i % 3 == 0 else "false",
                "createdate": "2019-10-30T03:30:17.883Z", "lastmodifieddate": iso(ms)}}

    def touch(self, stream: str, ids) -> None:
        for row_id in ids:
            row = self.records[stream][row_id]
            row["_ms"] = self.tick()
            row["properties"]["lastmodifieddate"] = iso(row["_ms"])


def config_for(api: FakeHubspot, **extra) -> dict:
    start = iso(api.clock - api.clock % 1000)
    return {"access_token": api.token, "page_size": 3, "window": "PT3S", "start_date": start,
            "base_url": BASE, **extra}


class TestHubspotConformance(SourceConformance):
    connector = HUBSPOT_SOURCE
    streams = {"contacts": "hubspot_contacts"}
    secret_fields = ("access_token",)
    crm_system = "hubspot"

    def make_api(self):
        api = FakeHubspot()
        api.start = config_for(api)["start_date"]
        return api

    def make_config(self, api):
        return {**config_for(api), "start_date": api.start}

    def bad_config(self, api):
        return {**self.make_config(api), "access_token": "pat-na1-revoked"}


# --- HubSpot quirks --------------------------------------------------------------------------------


@pytest.fixture
def hubspot(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    api = FakeHubspot()
    api.slept = slept
    api.start = config_for(api)["start_date"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        api.rsps = rsps
        yield api


def test_search_pages_with_after_in_the_body(hubspot):
    hubspot.seed("contacts", 7)
    messages = read(HUBSPOT_SOURCE, {**config_for(hubspot), "start_date": hubspot.start, "window": "P1D"},
                    "contacts")
    assert len(record_ids(messages)) == 7
    # the CDK sends a numeric-looking token as a JSON number; HubSpot's own tokens are opaque text
    assert [str(b["after"]) if "after" in b else None for b in hubspot.bodies] == [None, "3", "6"]
    assert all(b["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
               for b in hubspot.bodies)


def test_incremental_filters_lastmodifieddate_from_the_saved_cursor(hubspot):
    hubspot.seed("contacts", 4)
    config = {**config_for(hubspot), "start_date": hubspot.start, "window": "P1D"}
    final = [m for m in read(HUBSPOT_SOURCE, config, "contacts") if isinstance(m, State)][-1]
    newest = max(r["_ms"] for r in hubspot.records["contacts"].values())
    assert final.message["stream"]["stream_state"]["updatedAt"].startswith(iso(newest)[:23])
    read(HUBSPOT_SOURCE, config, "contacts", {"contacts": final.message})
    gte = hubspot.bodies[-1]["filterGroups"][0]["filters"][0]
    assert gte["operator"] == "GTE" and int(gte["value"]) == newest + 1


def test_burst_429_waits_and_goes_on(hubspot):
    hubspot.seed("contacts", 4)
    hubspot.rate_limit_next(2)
    messages = read(HUBSPOT_SOURCE, {**config_for(hubspot), "start_date": hubspot.start}, "contacts")
    assert not failures(messages) and len(record_ids(messages)) == 4
    assert len([s for s in hubspot.slept if s >= 1]) >= 2  # Retry-After: 1 (the CDK adds a second)


def test_daily_429_ends_the_stream_without_sleeping_and_the_next_run_resumes(hubspot):
    hubspot.seed("contacts", 9)
    config = {**config_for(hubspot), "start_date": hubspot.start}
    hubspot.daily_after = 2
    messages = read(HUBSPOT_SOURCE, config, "contacts")
    failed = failures(messages)
    assert len(failed) == 1 and "daily API limit" in failed[0].message and failed[0].stream == "contacts"
    assert failed[0].failure_type == "transient_error"
    assert hubspot.slept == []
    got = record_ids(messages)
    states = [m for m in messages if isinstance(m, State)]
    hubspot.daily_after = None
    resumed = record_ids(read(HUBSPOT_SOURCE, config, "contacts", {"contacts": states[-1].message}))
    assert set(got) | set(resumed) == set(hubspot.records["contacts"])


def test_wrong_token_fails_check_with_one_line(hubspot):
    result = HUBSPOT_SOURCE.check({**config_for(hubspot), "access_token": "pat-na1-other-portal"})
    assert not result.ok
    assert result.message == "HubSpot: the access token was refused (HTTP 401); check access_token"


@pytest.mark.parametrize(("portal", "ok", "message"), [
    (62515, True, ""),
    (99999, False, "HubSpot: the access token belongs to account 62515, not portal_id 99999 "
                   "(use a token of that account or fix portal_id)"),
])
def test_check_confirms_the_account_when_portal_id_is_set(hubspot, portal, ok, message):
    hubspot.seed("contacts", 1)
    hubspot.rsps.add(responses.GET, f"{BASE}/account-info/v3/details",
                  json={"portalId": 62515, "accountType": "STANDARD", "timeZone": "Asia/Shanghai",
                        "companyCurrency": "CNY", "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
    result = HUBSPOT_SOURCE.check({**config_for(hubspot), "portal_id": portal})
    assert (result.ok, result.message if not ok else "") == (ok, message)


def test_a_wrong_config_is_one_line_naming_the_key(hubspot):
    result = HUBSPOT_SOURCE.check({"access_tokn": "pat-na1-good"})
    assert not result.ok and "\n" not in result.message
    assert "access_tokn" in result.message and "pat-na1-good" not in result.message


def test_failed_requests_log_no_customer_values(hubspot, caplog):
    hubspot.seed("contacts", 1)
    email = hubspot.records["contacts"]["512"]["properties"]["email"]
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, SEARCH, status=400, json={
            "status": "error", "category": "VALIDATION_ERROR", "correlationId": "c1",
            "message": f"Property values were not valid: {email}"})
        caplog.set_level(logging.DEBUG)
        messages = read(HUBSPOT_SOURCE, {**config_for(hubspot), "start_date": hubspot.start, "window": "P1D"},
                        "contacts")
    assert failures(messages)
    assert email not in caplog.text and hubspot.token not in caplog.text
    assert all(email not in f.message for f in failures(messages))
