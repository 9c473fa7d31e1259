"""The Typeform responses source (connectors/typeform_api): the conformance suite, plus its quirks.

The fake serves ``GET /forms/{id}/responses`` like Typeform: ``since`` inclusive, ``sort`` only
without ``after``, ``after=<token>`` in processing order, ``page_size`` items per page, and
``{"code", "description"}`` error bodies.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import responses

from connectors.typeform_api import TYPEFORM_SOURCE
from connectors.typeform_api.api import answers_by_ref
from hub import plugins
from hub.protocol import Record, State, StreamFailure
from hub.sources.conformance import FakeApi, SourceConformance, failures, read, record_ids

BASE = "https://api.typeform.com"
TOKEN = "tfp_personal_token_123"
FORM = "lR6F4j"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def answers(i: int) -> list[dict]:
    return [
        {"field": {"id": "hVONkQcnSNRj", "type": "short_text", "ref": "full_name"}, "type": "text",
         "text": "Laura Smith" if i % 2 else "王小明"},
        {"field": {"id": "RUqkXSeXBXSd", "type": "email", "ref": "email"}, "type": "email",
         "email": f"laura{i}@example.com"},
        {"field": {"id": "JwWggjAKtOkA", "type": "phone_number", "ref": "phone"}, "type": "phone_number",
         "phone_number": "+8613800138000"},
        {"field": {"id": "k6TP9oLGgHjl", "type": "multiple_choice", "ref": "plan"}, "type": "choice",
         "choice": {"id": "abc", "label": "Pro", "ref": "pro"}},
        {"field": {"id": "PNe8ZKBK8C2Q", "type": "multiple_choice", "ref": "interests"}, "type": "choices",
         "choices": {"ids": ["a", "b"], "labels": ["CRM", "ETL"], "refs": ["crm", "etl"]}},
        {"field": {"id": "Q7M2XAwY04dW", "type": "number", "ref": "seats"}, "type": "number", "number": 5},
        {"field": {"id": "gFFf3xAkJKsr", "type": "yes_no", "ref": "consent"}, "type": "boolean", "boolean": True},
        {"field": {"id": "DlXFaesGBpoF", "type": "date", "ref": "dob"}, "type": "date", "date": "1990-02-01"},
    ]


class FakeTypeform(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        self.seq = 0
        self.order: dict[str, int] = {}  # response id -> processing sequence
        self.seen_params: list[dict] = []
        self.errors: list[tuple[int, dict]] = []

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback("GET", re.compile(rf"{BASE}/forms/[A-Za-z0-9]+/responses.*"), callback=self._responses)

    def make_record(self, stream: str, i: int) -> dict:
        rid = f"resp{i:04d}{'0' * 20}"
        when = iso(self.tick())
        return {"landing_id": rid, "token": rid, "response_id": rid, "response_type": "completed",
                "landed_at": when, "submitted_at": when,
                "metadata": {"user_agent": "Mozilla/5.0", "platform": "other",
                             "referer": f"https://user_id.typeform.com/to/{FORM}", "network_id": "n",
                             "browser": "default"},
                "hidden": {"utm_source": "facebook"}, "calculated": {"score": 2},
                "variables": [{"key": "score", "type": "number", "number": 2}], "answers": answers(i)}

    def seed(self, stream: str, n: int) -> None:
        for i in range(len(self.records.get(stream, {})) + 1, len(self.records.get(stream, {})) + n + 1):
            record = self.make_record(stream, i)
            self.records.setdefault(stream, {})[record["response_id"]] = record
            self.seq += 1
            self.order[record["response_id"]] = self.seq

    def touch(self, stream: str, ids: list[str]) -> None:
        for rid in ids:  # a partial response completed later: newer submitted_at, processed again
            self.records[stream][rid] = {**self.records[stream][rid], "submitted_at": iso(self.tick())}
            self.seq += 1
            self.order[rid] = self.seq

    @staticmethod
    def _answer(status: int, body: dict, headers: dict | None = None):
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)

    def _responses(self, request):
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._answer(401, {"code": "AUTHENTICATION_FAILED",
                                      "description": "Authentication credentials not found on the Request Headers"})
        form = urlparse(request.url).path.split("/")[2]
        if form != FORM:
            return self._answer(404, {"code": "FORM_NOT_FOUND", "description": f"Non existing form with uid {form}"})
        if self.take_429():
            return self._answer(429, {"code": "TOO_MANY_REQUESTS"}, {"Retry-After": "3"})
        if self.errors:
            return self._answer(*self.errors.pop(0))
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.seen_params.append(query)
        if "after" in query and "sort" in query:
            return self._answer(400, {"code": "VALIDATION_ERROR", "description": "after cannot be used with sort"})
        items = list(self.records.get("responses", {}).values())
        if "since" in query:
            items = [r for r in items if r["submitted_at"].removesuffix("Z") >= query["since"]]
        if "after" in query:
            items = sorted((r for r in items if self.order[r["response_id"]] > self.order[query["after"]]),
                           key=lambda r: self.order[r["response_id"]])
        else:
            items.sort(key=lambda r: (r["submitted_at"], self.order[r["response_id"]]))
        size = int(query.get("page_size", 25))
        page = items[:size]
        self.data_calls += 1
        return self._answer(200, {"total_items": len(items), "page_count": -(-len(items) // size),
                                  "items": page})


class TestTypeformConformance(SourceConformance):
    connector = TYPEFORM_SOURCE
    streams = {"responses": "typeform_responses"}
    secret_fields = ("token",)
    primary_key = "response_id"

    def make_api(self):
        return FakeTypeform()

    def make_config(self, api):
        return {"token": api.token, "form_ids": [FORM], "page_size": 3, "checkpoint_every": 2}

    def bad_config(self, api):
        return {**self.make_config(api), "token": "tfp_wrong"}


# --- quirks ---------------------------------------------------------------------------------------


def config(**extra) -> dict:
    return {"token": TOKEN, "form_ids": [FORM], "page_size": 3, "checkpoint_every": 2, **extra}


def run(api: FakeTypeform, state: dict | None = None, cfg: dict | None = None) -> list:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        return read(TYPEFORM_SOURCE, cfg or config(), "responses", state)


def seeded(n: int = 7) -> FakeTypeform:
    api = FakeTypeform()
    api.seed("responses", n)
    return api


def test_the_plugin_registers_the_typeform_source():
    assert plugins.source("typeform") is TYPEFORM_SOURCE
    assert "connectors.typeform_api" in plugins.DEFAULT_PLUGINS


def test_pages_use_after_tokens_and_sort_only_on_the_first_page():
    api = seeded(7)
    run(api)
    first, *rest = api.seen_params
    assert first["sort"] == "submitted_at,asc" and "after" not in first
    assert [p["after"] for p in rest] == ["resp0003" + "0" * 20, "resp0006" + "0" * 20]
    assert all("sort" not in p for p in rest)


def test_the_next_run_asks_since_and_skips_the_responses_at_that_second():
    api = seeded(4)
    final = [m for m in run(api) if isinstance(m, State)][-1]
    newest = api.records["responses"]["resp0004" + "0" * 20]["submitted_at"]
    twin = {**api.make_record("responses", 5), "submitted_at": newest}  # same second, not read before
    api.records["responses"][twin["response_id"]] = twin
    api.seq += 1
    api.order[twin["response_id"]] = api.seq
    api.seen_params.clear()
    again = run(api, {"responses": final.message})
    assert api.seen_params[0]["since"] == newest.removesuffix("Z")
    assert record_ids(again, "response_id") == [twin["response_id"]]


def test_answers_are_keyed_by_field_ref():
    assert answers_by_ref(answers(1)) == {"full_name": "Laura Smith", "email": "laura1@example.com",
                                          "phone": "+8613800138000", "plan": "Pro", "interests": ["CRM", "ETL"],
                                          "seats": 5, "consent": True, "dob": "1990-02-01"}
    record = [m.data for m in run(seeded(1)) if isinstance(m, Record)][0]
    assert record["fields"]["email"] == "laura1@example.com" and record["form_id"] == FORM


def test_start_date_bounds_the_first_run():
    api = seeded(5)
    third = api.records["responses"]["resp0003" + "0" * 20]["submitted_at"]
    got = record_ids(run(api, cfg=config(start_date=third)), "response_id")
    assert got == [f"resp000{i}" + "0" * 20 for i in (3, 4, 5)]


def test_a_form_of_another_account_fails_check_with_its_id():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeTypeform().install(rsps)
        result = TYPEFORM_SOURCE.check(config(form_ids=["zzzz99"]))
    assert not result.ok
    assert result.message.startswith("Typeform: form zzzz99 is not visible to this token (HTTP 404 FORM_NOT_FOUND)")


def test_a_bad_token_says_which_scope_is_needed():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeTypeform().install(rsps)
        result = TYPEFORM_SOURCE.check(config(token="nope"))
    assert "(HTTP 401 AUTHENTICATION_FAILED)" in result.message and "responses:read" in result.message


def test_a_long_retry_after_ends_the_run_partial_instead_of_sleeping(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("hub.sources.http.time.sleep", slept.append)
    api = seeded(7)
    api.errors.append((429, {"code": "TOO_MANY_REQUESTS"}))
    original = api._answer

    def long_wait(status, body, headers=None):
        return original(status, body, {**(headers or {}), "Retry-After": "3600"} if status == 429 else headers)

    api._answer = long_wait
    messages = run(api)
    assert failures(messages) and failures(messages)[0].failure_type == "transient_error"
    assert slept == []


def test_the_eu_data_centre_is_a_config_choice():
    spec = TYPEFORM_SOURCE.spec()
    assert "https://api.eu.typeform.com" in spec["properties"]["api_base"]["enum"]
    assert isinstance(StreamFailure, type)


def test_custhub_run_stores_the_responses_once_and_resumes(tmp_path, monkeypatch):
    import yaml

    from tests.helpers import copy_example, run_cli, table_rows

    monkeypatch.setenv("TYPEFORM_TOKEN", TOKEN)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    data = yaml.safe_load(config.read_text("utf-8"))
    data["connections"] = {"typeform_responses": {
        "source": "typeform", "config": {"token": {"$env": "TYPEFORM_TOKEN"}, "form_ids": [FORM], "page_size": 3},
        "streams": {"responses": {"mapping": "typeform_responses"}}}}
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    api = seeded(7)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        assert run_cli("--config", str(config), "run", "typeform_responses") == 0
        api.seed("responses", 2)
        assert run_cli("--config", str(config), "run", "typeform_responses") == 0
    rows = table_rows(url, "SELECT status, records_read, records_inserted FROM runs WHERE kind = 'ingest' ORDER BY id")
    assert rows == [("succeeded", 7, 7), ("succeeded", 2, 2)]
    assert table_rows(url, "SELECT COUNT(*) FROM quarantine") == [(0,)]
