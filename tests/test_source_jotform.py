"""The Jotform submissions source (connectors/jotform_api): the conformance suite, plus its quirks.

The fake serves ``GET /form/{id}/submissions`` like Jotform: the ``APIKEY`` header, offset/limit,
``filter={"created_at:gt": ...}`` (strictly greater), the response envelope with ``limit-left``
counting down the daily budget, and ``responseCode`` errors.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connectors.jotform_api import JOTFORM_SOURCE
from connectors.jotform_api.api import fields_by_name
from hub import plugins
from hub.protocol import Record, State
from hub.sources.conformance import FakeApi, SourceConformance, failures, read, record_ids

BASE = "https://api.jotform.com"
KEY = "jotform-api-key-0123456789"
FORM = "31751954731962"


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


class FakeJotform(FakeApi):
    def __init__(self, budget: int = 1000) -> None:
        super().__init__()
        self.api_key = KEY
        self.budget = budget
        self.seen_params: list[dict] = []

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback("GET", re.compile(rf"{BASE}/form/\d+/submissions.*"), callback=self._submissions)

    def make_record(self, stream: str, i: int) -> dict:
        return {"id": f"2379550803466337{i:02d}", "form_id": FORM, "ip": "203.0.113.4",
                "created_at": stamp(self.tick()), "updated_at": None, "status": "ACTIVE", "new": "1",
                "answers": {
                    "3": {"name": "fullName3", "order": "1", "text": "Full Name", "type": "control_fullname",
                          "answer": {"first": "John", "last": f"Doe{i}"}, "prettyFormat": f"John Doe{i}"},
                    "4": {"name": "email4", "order": "2", "text": "E-mail", "type": "control_email",
                          "answer": f"john{i}@example.com"},
                    "5": {"name": "phoneNumber5", "order": "3", "text": "Phone", "type": "control_phone",
                          "answer": {"area": "212", "phone": "5550123"}, "prettyFormat": "(212) 5550123"},
                    "6": {"name": "company6", "order": "4", "text": "Company", "type": "control_textbox",
                          "answer": "Acme"},
                    "7": {"name": "submit7", "order": "5", "text": "Submit", "type": "control_button"}}}

    def seed(self, stream: str, n: int) -> None:
        start = len(self.records.get(stream, {})) + 1
        for i in range(start, start + n):
            record = self.make_record(stream, i)
            self.records.setdefault(stream, {})[record["id"]] = record

    def touch(self, stream: str, ids: list[str]) -> None:
        # Jotform's created_at never changes; an edited submission is the nearest to a change that
        # the API filters on, so the fake moves created_at (only updated_at moves in reality).
        for sid in ids:
            self.records[stream][sid] = {**self.records[stream][sid], "created_at": stamp(self.tick())}

    def _envelope(self, status: int, content, **extra):
        body = {"responseCode": status, "message": "success" if status == 200 else "error", "content": content,
                "duration": "12ms", "limit-left": self.budget, **extra}
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _submissions(self, request):
        if request.headers.get("APIKEY") != self.api_key:
            return self._envelope(401, "", message="You're not authorized to use (/form-id/submissions) ")
        if urlparse(request.url).path.split("/")[2] != FORM:
            return self._envelope(404, "", message="Form not found")
        if self.take_429():
            return 429, {"Retry-After": "2", "Content-Type": "application/json"}, json.dumps(
                {"responseCode": 429, "message": "Too many requests", "content": ""})
        if self.budget <= 0:
            return self._envelope(429, "", message="You've reached your daily limit")
        self.budget -= 1
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.seen_params.append(query)
        rows = sorted(self.records.get("submissions", {}).values(), key=lambda r: (r["created_at"], r["id"]))
        if "filter" in query:
            since = json.loads(query["filter"])["created_at:gt"]
            rows = [r for r in rows if r["created_at"] > since]
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
        page = rows[offset:offset + limit]
        self.data_calls += 1
        return self._envelope(200, page, resultSet={"offset": offset, "limit": limit, "count": len(page)})


class TestJotformConformance(SourceConformance):
    connector = JOTFORM_SOURCE
    streams = {"submissions": "jotform_submissions"}
    secret_fields = ("api_key",)

    def make_api(self):
        return FakeJotform()

    def make_config(self, api):
        return {"api_key": api.api_key, "form_ids": [FORM], "page_size": 3, "checkpoint_every": 2}

    def bad_config(self, api):
        return {**self.make_config(api), "api_key": "wrong-key"}

    def expects_consents(self, stream: str) -> bool:
        return False


# --- quirks ---------------------------------------------------------------------------------------


def config(**extra) -> dict:
    return {"api_key": KEY, "form_ids": [FORM], "page_size": 3, "checkpoint_every": 2, **extra}


def run(api: FakeJotform, state: dict | None = None, cfg: dict | None = None) -> list:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        return read(JOTFORM_SOURCE, cfg or config(), "submissions", state)


def seeded(n: int = 7, budget: int = 1000) -> FakeJotform:
    api = FakeJotform(budget)
    api.seed("submissions", n)
    return api


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("hub.sources.http.time.sleep", slept.append)
    return slept


def test_the_plugin_registers_the_jotform_source():
    assert plugins.source("jotform") is JOTFORM_SOURCE


def test_offset_paging_asks_created_at_in_ascending_order():
    api = seeded(7)
    run(api)
    assert [p["offset"] for p in api.seen_params] == ["0", "3", "6"]
    assert all(p["orderby"] == "created_at" and p["limit"] == "3" for p in api.seen_params)


def test_a_low_limit_left_ends_the_run_partial_and_the_next_run_resumes():
    api = seeded(7, budget=2)  # two calls left today: two pages, then stop
    messages = run(api, cfg=config(min_calls_left=0))
    first = record_ids(messages)
    assert first == sorted(api.records["submissions"])[:6]
    assert failures(messages) and "limit-left" in failures(messages)[0].message
    assert failures(messages)[0].failure_type == "transient_error"
    api.budget = 1000  # the next day
    state = [m for m in messages if isinstance(m, State)][-1]
    assert record_ids(run(api, {"submissions": state.message})) == sorted(api.records["submissions"])[6:]


def test_min_calls_left_keeps_a_reserve_for_other_integrations():
    api = seeded(7, budget=50)
    messages = run(api, cfg=config(min_calls_left=49))
    assert len(record_ids(messages)) == 3 and failures(messages)


def test_a_429_without_retry_after_is_the_daily_limit_not_a_sleep(no_sleep):
    api = seeded(7, budget=0)
    messages = run(api)
    assert failures(messages) and "daily API limit" in failures(messages)[0].message
    assert no_sleep == []


def test_the_next_run_filters_created_at_from_the_second_before_and_skips_repeats():
    api = seeded(4)
    final = [m for m in run(api) if isinstance(m, State)][-1]
    newest = max(r["created_at"] for r in api.records["submissions"].values())
    twin = {**api.make_record("submissions", 9), "created_at": newest}  # same second, new
    api.records["submissions"][twin["id"]] = twin
    api.seen_params.clear()
    again = run(api, {"submissions": final.message})
    since = json.loads(api.seen_params[0]["filter"])["created_at:gt"]
    assert since < newest
    assert record_ids(again) == [twin["id"]]


def test_answers_are_keyed_by_name_without_the_question_number():
    record = seeded(1).make_record("submissions", 1)
    assert fields_by_name(record["answers"]) == {"fullName": {"first": "John", "last": "Doe1"},
                                                 "email": "john1@example.com",
                                                 "phoneNumber": {"area": "212", "phone": "5550123"},
                                                 "company": "Acme"}


def test_created_at_gets_the_account_time_zone():
    api = seeded(1)
    data = [m.data for m in run(api, cfg=config(timezone="Asia/Shanghai")) if isinstance(m, Record)][0]
    assert data["submitted_at"].endswith("+08:00")
    assert data["submitted_at"][:19].replace("T", " ") == data["created_at"]


def test_check_names_the_form_a_wrong_key_cannot_read():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeJotform().install(rsps)
        bad_key = JOTFORM_SOURCE.check(config(api_key="nope"))
        unknown = JOTFORM_SOURCE.check(config(form_ids=["123"]))
    assert bad_key.message.startswith(f"Jotform refused the API key for form {FORM} (HTTP 401)")
    assert "region" in bad_key.message
    assert unknown.message.startswith("Jotform: form 123 does not exist (HTTP 404)")


def test_the_eu_region_reads_from_eu_api():
    with responses.RequestsMock() as rsps:
        rsps.add("GET", re.compile(r"https://eu-api\.jotform\.com/form/\d+/submissions.*"),
                 json={"responseCode": 200, "message": "success", "content": [], "limit-left": 999})
        assert JOTFORM_SOURCE.check(config(region="eu")).ok


def test_an_unknown_time_zone_is_a_config_error():
    result = JOTFORM_SOURCE.check(config(timezone="Mars/Olympus"))
    assert not result.ok and "timezone: unknown time zone 'Mars/Olympus'" in result.message
