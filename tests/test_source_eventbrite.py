"""The Eventbrite attendees source (connectors/eventbrite), against a fake of the v3 API.

The fake pages like Eventbrite (``pagination.continuation`` + ``has_more_items``), filters by
``changed_since`` including its own second, and answers errors with the {"error",
"error_description", "status_code"} envelope.
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connectors.eventbrite import EVENTBRITE_SOURCE
from hub import plugins
from hub.mapping import load_mapping
from hub.protocol import Record, State, StreamFailure, StreamSelection
from hub.sources.conformance import FakeApi, SourceConformance

REPO = Path(__file__).resolve().parent.parent
BASE = "https://www.eventbriteapi.com/v3"
TOKEN = "PRIVATE-TOKEN-abc123"
EVENTS = ("987654321", "555000111")
CONFIG = {"token": TOKEN, "event_ids": list(EVENTS), "checkpoint_every": 2}


def attendee(n: int, event_id: str = EVENTS[0], changed_day: int | None = None, checked_in: bool = False) -> dict:
    day = changed_day if changed_day is not None else n
    return {
        "id": f"{1000 + n}", "created": "2024-05-01T10:00:00Z", "changed": f"2024-05-{day:02d}T08:00:00Z",
        "event_id": event_id, "order_id": f"{5000 + n}", "ticket_class_id": "111",
        "ticket_class_name": "General Admission", "quantity": 1, "status": "Attending", "cancelled": False,
        "refunded": False, "checked_in": checked_in,
        "resource_uri": f"{BASE}/events/{event_id}/attendees/{1000 + n}/",
        "profile": {"first_name": "Ada", "last_name": f"Lovelace{n}", "name": f"Ada Lovelace{n}",
                    "email": f"ada{n}@example.com", "cell_phone": "+442071838750", "company": "Analytical Engines",
                    "job_title": "CTO", "addresses": {"home": {"city": "London", "country": "GB"}}},
        "answers": [{"question_id": "246", "question": "Dietary needs?", "type": "text", "answer": "Vegan"}],
        "barcodes": [{"barcode": f"{1000 + n}001", "status": "used" if checked_in else "unused",
                      "created": "2024-05-01T10:00:00Z", "changed": "2024-05-03T09:00:00Z", "checkin_type": 0,
                      "is_printed": False}],
        "costs": {"gross": {"currency": "USD", "display": "$10.00", "major_value": "10.00", "value": 1000}},
        "affiliate": "oddtdtcreator", "delivery_method": "electronic",
    }


def dataset() -> list[dict]:
    return [attendee(n) for n in range(1, 6)] + [attendee(n, EVENTS[1]) for n in range(6, 9)]


class FakeEventbrite(FakeApi):
    def __init__(self, attendees: list[dict] | None = None, page_size: int = 2) -> None:
        super().__init__()
        self.token = TOKEN
        self.attendees = list(attendees or [])
        self.page_size = page_size
        self.pages_served = 0
        self.script: list[tuple[int, dict, dict]] = []  # (status, headers, body) answered next
        self.seen_params: list[dict] = []

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback("GET", f"{BASE}/users/me/", callback=self._me)
        rsps.add_callback("GET", re.compile(rf"{BASE}/events/\d+/attendees/.*"), callback=self._attendees)
        rsps.add_callback("GET", re.compile(rf"{BASE}/events/\d+/$"), callback=self._event)

    @property
    def records(self) -> dict[str, dict[str, dict]]:
        return {"attendees": {a["id"]: a for a in self.attendees}}

    @records.setter
    def records(self, value) -> None:
        pass  # FakeApi's own store is not used: the attendees list is the data

    def seed(self, stream: str, n: int) -> None:
        start = len(self.attendees) + 1
        self.attendees += [attendee(i, EVENTS[i % 2]) for i in range(start, start + n)]

    def touch(self, stream: str, ids: list[str]) -> None:
        latest = max(a["changed"] for a in self.attendees)
        day = int(latest[8:10])
        for position, item in enumerate(self.attendees):
            if item["id"] in ids:
                day += 1
                self.attendees[position] = {**item, "changed": f"2024-05-{day:02d}T08:00:00Z", "checked_in": True}

    @staticmethod
    def _answer(status: int, body: dict, headers: dict | None = None):
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)

    def _authorized(self, request):
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"error": "INVALID_AUTH", "error_description": "The OAuth token you provided "
                                      "was invalid.", "status_code": 401})
        return None

    def _me(self, request):
        return self._authorized(request) or self._answer(200, {"id": "42", "name": "Owner"})

    def _event(self, request):
        event_id = urlparse(request.url).path.split("/")[-2]
        if event_id not in EVENTS:
            return self._answer(404, {"error": "NOT_FOUND", "error_description": "The event does not exist.",
                                      "status_code": 404})
        return self._authorized(request) or self._answer(200, {"id": event_id})

    def _attendees(self, request):
        if (denied := self._authorized(request)) is not None:
            return denied
        if self.take_429():
            return self._answer(429, {"error": "HIT_RATE_LIMIT", "error_description": "Hit rate limit",
                                      "status_code": 429}, {"Retry-After": "7"})
        if self.script:
            status, headers, body = self.script.pop(0)
            return self._answer(status, body, headers)
        event_id = urlparse(request.url).path.split("/")[-3]
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.seen_params.append(query)
        rows = [a for a in self.attendees if a["event_id"] == event_id
                and a["changed"] >= query.get("changed_since", "")]
        start = int(base64.b64decode(query["continuation"])) if "continuation" in query else 0
        page = rows[start:start + self.page_size]
        more = start + self.page_size < len(rows)
        self.pages_served += 1
        self.data_calls += 1
        pagination = {"object_count": len(rows), "page_number": start // self.page_size + 1,
                      "page_size": self.page_size, "page_count": -(-len(rows) // self.page_size),
                      "has_more_items": more}
        if more:
            pagination["continuation"] = base64.b64encode(str(start + self.page_size).encode()).decode()
        return self._answer(200, {"pagination": pagination, "attendees": page})


class TestEventbriteConformance(SourceConformance):
    connector = EVENTBRITE_SOURCE
    streams = {"attendees": "eventbrite_attendees"}
    secret_fields = ("token",)

    def make_api(self):
        return FakeEventbrite()

    def make_config(self, api):
        return CONFIG

    def bad_config(self, api):
        return {**CONFIG, "token": "WRONG-TOKEN"}

    def expects_consents(self, stream: str) -> bool:
        return False


# --- helpers --------------------------------------------------------------------------------------


def read(api: FakeEventbrite, state: dict | None = None, config: dict | None = None) -> list:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        return list(EVENTBRITE_SOURCE.read(config or CONFIG, [StreamSelection("attendees")], state or {}))


def ids(messages: list) -> list[str]:
    return [m.data["id"] for m in messages if isinstance(m, Record)]


def last_state(messages: list) -> dict:
    return {"attendees": [m for m in messages if isinstance(m, State)][-1].message}


@pytest.fixture(autouse=True)
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    return waited


# --- quirks ---------------------------------------------------------------------------------------


def test_the_plugin_registers_the_eventbrite_source():
    assert plugins.source("eventbrite") is EVENTBRITE_SOURCE


def test_pages_follow_continuation_until_has_more_items_is_false():
    api = FakeEventbrite(dataset())
    assert ids(read(api)) == [a["id"] for a in dataset()]
    tokens = [p.get("continuation") for p in api.seen_params]
    assert tokens[0] is None and all(tokens[1:3]) and api.pages_served == 5  # 3 pages + 2 pages


def test_the_next_run_asks_changed_since_and_skips_what_it_already_has():
    first = read(FakeEventbrite(dataset()))
    changed = {**attendee(2), "changed": "2024-05-20T08:00:00Z", "checked_in": True}
    later = [a for a in dataset() if a["id"] != changed["id"]] + [changed, attendee(9, changed_day=5)]
    api = FakeEventbrite(later)
    again = read(api, last_state(first))
    assert api.seen_params[0]["changed_since"] == "2024-05-05T08:00:00Z"
    # attendee 5 sits on the saved second and was read before; 9 shares the second but is new
    assert ids(again) == ["1002", "1009"]


def test_start_date_bounds_the_first_run():
    api = FakeEventbrite(dataset())
    got = ids(read(api, config={**CONFIG, "start_date": "2024-05-04T00:00:00Z"}))
    assert got == ["1004", "1005", "1006", "1007", "1008"]


def test_check_in_status_and_answers_are_in_the_record():
    api = FakeEventbrite([attendee(1, checked_in=True), attendee(2)])
    records = [m.data for m in read(api, config={**CONFIG, "event_ids": [EVENTS[0]]}) if isinstance(m, Record)]
    assert [r["checked_in"] for r in records] == [True, False]
    assert records[0]["answers"][0]["answer"] == "Vegan"


def test_check_in_maps_to_an_event_checked_in_interaction():
    mapping = load_mapping(REPO / "mappings" / "eventbrite_attendees.yaml")
    checked = mapping.apply(attendee(1, checked_in=True))
    assert [i["type"] for i in checked["interactions"]] == ["event_registered", "event_checked_in"]
    assert checked["interactions"][0]["details"]["answers"][0]["question"] == "Dietary needs?"
    assert [i["type"] for i in mapping.apply(attendee(2))["interactions"]] == ["event_registered"]


def test_an_expired_continuation_restarts_the_event_from_its_first_page():
    token = base64.b64encode(b"2").decode()
    mid_page = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "attendees"}, "stream_state": {
        "events": {EVENTS[0]: {"pass": {"since": None, "page": token, "offset": 1, "max": None, "at_max": []}}}}}}
    api = FakeEventbrite(dataset())
    api.script.append((400, {}, {"error": "BAD_PAGE", "error_description": "The page is invalid.",
                                 "status_code": 400}))
    again = read(api, {"attendees": mid_page})
    assert not [m for m in again if isinstance(m, StreamFailure)]
    assert ids(again) == [a["id"] for a in dataset()]  # re-read from the top, to be upserted: nothing lost


def test_a_second_expired_continuation_fails_instead_of_looping():
    token = base64.b64encode(b"2").decode()
    mid_page = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "attendees"}, "stream_state": {
        "events": {EVENTS[0]: {"pass": {"since": None, "page": token, "offset": 1, "max": None, "at_max": []}}}}}}
    api = FakeEventbrite(dataset())
    bad_page = (400, {}, {"error": "BAD_PAGE", "error_description": "The page is invalid.", "status_code": 400})
    api.script += [bad_page, (200, {}, {"pagination": {"has_more_items": True, "continuation": token},
                                        "attendees": []}), bad_page]
    failure = [m for m in read(api, {"attendees": mid_page}) if isinstance(m, StreamFailure)]
    assert failure and "(BAD_PAGE)" in failure[0].message


def test_errors_are_keyed_off_error_not_the_description():
    api = FakeEventbrite(dataset())
    api.script.append((403, {}, {"error": "NOT_AUTHORIZED", "error_description": "Something reworded",
                                 "status_code": 403}))
    failure = [m for m in read(api) if isinstance(m, StreamFailure)][0]
    assert failure.message.startswith("Eventbrite: this token may not read event 987654321 (NOT_AUTHORIZED)")
    assert failure.failure_type == "config_error"


def test_check_names_a_wrong_token_and_an_unknown_event():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeEventbrite([]).install(rsps)
        bad_token = EVENTBRITE_SOURCE.check({**CONFIG, "token": "nope"})
        unknown = EVENTBRITE_SOURCE.check({**CONFIG, "event_ids": ["123"]})
    assert bad_token.message.startswith("Eventbrite refused the token (INVALID_AUTH)")
    assert unknown.message.startswith("Eventbrite: event 123 does not exist (NOT_FOUND)")


def test_retry_after_as_an_http_date_is_honoured(sleeps):
    api = FakeEventbrite(dataset())
    api.script.append((429, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
                       {"error": "HIT_RATE_LIMIT", "error_description": "x", "status_code": 429}))
    messages = read(api)
    failure = [m for m in messages if isinstance(m, StreamFailure)]
    # a wait that long is the hourly/daily budget: the run ends partial instead of sleeping
    assert failure and failure[0].failure_type == "transient_error" and sleeps == []


def test_retry_after_as_a_near_http_date_is_waited(sleeps):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    api = FakeEventbrite(dataset())
    api.script.append((429, {"Retry-After": when}, {"error": "HIT_RATE_LIMIT", "status_code": 429}))
    assert len(ids(read(api))) == 8
    assert 25 <= sleeps[0] <= 31


def test_a_429_without_retry_after_backs_off_exponentially(sleeps):
    api = FakeEventbrite(dataset())
    api.script += [(429, {}, {"error": "HIT_RATE_LIMIT", "status_code": 429})] * 2
    assert len(ids(read(api))) == 8
    assert len(sleeps) == 2 and all(s <= 30 for s in sleeps)


def test_a_server_error_is_retried():
    api = FakeEventbrite(dataset())
    api.script.append((503, {}, {}))
    assert len(ids(read(api))) == 8
