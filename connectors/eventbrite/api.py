"""Eventbrite v3 attendees: ``continuation`` paging, ``changed_since`` incremental, the error envelope.

* ``GET {api}/events/{id}/attendees/?changed_since=...&continuation=...`` with
  ``Authorization: Bearer <token>``, continued while ``pagination.has_more_items``. A record is the
  attendee as Eventbrite sends it: ``profile``, ``checked_in``, ``barcodes``, ``answers`` to the
  event's custom questions, ``event_id`` ...
* Errors ``{"error": "NOT_AUTHORIZED", "error_description": "...", "status_code": 403}`` are
  classified by ``error``; the description is prose that changes and is never used or logged.
  INVALID_AUTH, INVALID_AUTH_HEADER, NO_AUTH: a wrong token. NOT_AUTHORIZED, NOT_FOUND: an event
  this token cannot read. BAD_PAGE: an expired continuation token; the event's pass restarts from
  its first page, once (attendees read again are upserted, never duplicated). HIT_RATE_LIMIT or
  HTTP 429: wait ``Retry-After``, or back off; a wait as long as the hourly budget ends the run
  partial. 5xx: back off and retry.

``changed_since`` includes its own second, so attendees at the saved value that were already read
(``boundary``) are skipped. State of the stream, exact after every record::

    {"events": {"987654321": {
        "changed": "2024-05-02T08:00:00Z",   # largest `changed` of the last finished pass
        "boundary": ["1234567890"],          # attendees having exactly that value
        "pass": {"since": "...",             # changed_since of the pass in progress
                 "page": "dGhpcy...",        # continuation token of the current page (null: first)
                 "offset": 3,                # attendees of that page already handled
                 "max": "...", "at_max": []}}}}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from hub.errors import ConfigError, ConnectorError, CusthubError
from hub.sources.api_source import StreamDef, read_partitions
from hub.sources.http import ApiClient, RateLimited, Transient, json_body, page_body, parse_retry_after

VENDOR = "Eventbrite"
DEFAULT_API = "https://www.eventbriteapi.com/v3"
BAD_TOKEN = frozenset({"INVALID_AUTH", "INVALID_AUTH_HEADER", "NO_AUTH"})
SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "id": {"type": "string"},
        "event_id": {"type": "string"},
        "order_id": {"type": ["string", "null"]},
        "created": {"type": ["string", "null"], "format": "date-time"},
        "changed": {"type": ["string", "null"], "format": "date-time"},
        "status": {"type": ["string", "null"]},
        "checked_in": {"type": ["boolean", "null"]},
        "cancelled": {"type": ["boolean", "null"]},
        "refunded": {"type": ["boolean", "null"]},
        "ticket_class_name": {"type": ["string", "null"]},
        "profile": {"type": ["object", "null"]},
        "answers": {"type": ["array", "null"]},
        "barcodes": {"type": ["array", "null"]},
    },
}

Pair = tuple[dict[str, Any] | None, dict[str, Any]]


class BadPage(CusthubError):
    """The continuation token is no longer valid."""


class EventbriteApi:
    def __init__(self, config: Mapping[str, Any], client: ApiClient | None = None) -> None:
        self.config = config
        self.client = client or ApiClient(VENDOR)
        self.base = str(config.get("api_base") or DEFAULT_API).rstrip("/")
        self.headers = {"Authorization": f"Bearer {config['token']}"}

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, event_id: str | None = None) -> dict[str, Any]:
        response = self.client.send("GET", self.base + path, params=dict(params or {}), headers=self.headers,
                                    classify=lambda r: _classify(r, path, event_id))
        return page_body(response, VENDOR)

    def check(self) -> None:
        self.get("/users/me/")  # a wrong token fails here
        for event_id in self.config["event_ids"]:  # an event of another account fails here
            self.get(f"/events/{event_id}/", event_id=event_id)

    def streams(self) -> list[StreamDef]:
        return [StreamDef("attendees", self.read, ("id",), "changed", SCHEMA)]

    def read(self, state: Mapping[str, Any]) -> Iterator[Pair]:
        return read_partitions(state, "events", self.config["event_ids"], self._event)

    def _event(self, event_id: str, events: dict[str, Any]) -> Iterator[Pair]:
        saved = events.get(event_id) or {}
        cursor, boundary = saved.get("changed"), set(saved.get("boundary") or ())
        done = {k: v for k, v in saved.items() if k != "pass"}
        run = saved.get("pass") or {"since": cursor or self.config.get("start_date"), "page": None, "offset": 0,
                                    "max": None, "at_max": []}
        restarted = False
        while True:
            params = {k: v for k, v in (("changed_since", run["since"]), ("continuation", run["page"])) if v}
            try:
                body = self.get(f"/events/{event_id}/attendees/", params, event_id=event_id)
            except BadPage:
                if restarted or not run["page"]:
                    raise
                run, restarted = {**run, "page": None, "offset": 0}, True  # again from the first page
                continue
            attendees = body.get("attendees") or []
            for item in attendees[run["offset"]:]:
                attendee = {**item, "id": str(item.get("id")), "event_id": str(item.get("event_id") or event_id)}
                run = {**run, "offset": run["offset"] + 1, **_newest(run, attendee)}
                seen = cursor is not None and attendee.get("changed") == cursor and attendee["id"] in boundary
                yield (None if seen else attendee), {"events": {**events, event_id: {**done, "pass": run}}}
            pagination = body.get("pagination") or {}
            if not pagination.get("has_more_items") or not pagination.get("continuation"):
                break
            run = {**run, "page": pagination["continuation"], "offset": 0}
            yield None, {"events": {**events, event_id: {**done, "pass": run}}}
        finished = dict(done)
        if run["max"] is not None and (cursor is None or run["max"] >= cursor):
            same = boundary if run["max"] == cursor else set()
            finished = {"changed": run["max"], "boundary": sorted(set(run["at_max"]) | same)}
        yield None, {"events": {**events, event_id: finished}}


def _newest(run: Mapping[str, Any], attendee: Mapping[str, Any]) -> dict[str, Any]:
    when = attendee.get("changed")
    if not isinstance(when, str):
        return {}
    if run["max"] is None or when > run["max"]:
        return {"max": when, "at_max": [attendee["id"]]}
    if when == run["max"]:
        return {"at_max": [*run["at_max"], attendee["id"]]}
    return {}


def _classify(response: requests.Response, path: str, event_id: str | None) -> None:
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
    status = response.status_code
    if status == 429 or error == "HIT_RATE_LIMIT":
        raise RateLimited(f"{VENDOR}: rate limited ({error or 'HTTP 429'})",
                          retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        raise Transient(f"{VENDOR}: server error (HTTP {status})")
    if error is None and status < 400:
        return
    error = error or f"HTTP {status}"
    if error in BAD_TOKEN:
        raise ConfigError(f"{VENDOR} refused the token ({error})",
                          fix="create a private token under Account settings → Developer links → API keys")
    if error == "BAD_PAGE":
        raise BadPage(f"{VENDOR} {path}: the continuation token expired (BAD_PAGE)")
    event = f"event {event_id}" if event_id else path
    if error == "NOT_AUTHORIZED":
        raise ConfigError(f"{VENDOR}: this token may not read {event} (NOT_AUTHORIZED)",
                          fix="use a token of the organization that owns the event")
    if error == "NOT_FOUND":
        raise ConfigError(f"{VENDOR}: {event} does not exist (NOT_FOUND)", fix="check event_ids")
    raise ConnectorError(f"{VENDOR} {path}: refused ({error})")
