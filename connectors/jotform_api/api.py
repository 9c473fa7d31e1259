"""Jotform's submissions API: offset paging, ``created_at`` incremental, the ``limit-left`` budget.

* ``GET {api}/form/{id}/submissions?offset=&limit=&orderby=created_at&direction=ASC&filter=...``
  with the ``APIKEY`` header; ``filter`` is JSON ``{"created_at:gt": "2024-01-01 00:00:00"}``.
  Every answer is an envelope ``{"responseCode", "message", "content", "resultSet", "limit-left"}``;
  a page shorter than ``limit`` is the last.
* ``limit-left`` is what remains of the account's daily call budget. When it falls to
  ``min_calls_left`` with pages still to read, the stream stops at its checkpoint and the run ends
  partial; the next run resumes there. A 429 without ``Retry-After`` means the same (Jotform's
  limits are daily); with one, it is waited out.
* ``created_at`` is in the account's time zone (``timezone``): each record gets ``submitted_at``, the
  same moment in ISO 8601 with its offset.

A record is the submission plus ``fields``: each answer keyed by its unique field name without the
question number (``fullName3`` -> ``fullName``), the first such answer winning, as the webhook mapping
reads them. State of the stream, exact after every record::

    {"forms": {"31751954731962": {"created_at": "2024-06-25 03:14:38",  # newest of the last pass
                                  "boundary": ["237955080346633702"],    # submissions at that second
                                  "pass": {"since": ..., "offset": 200, "max": ..., "at_max": [...]}}}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from hub.errors import ConfigError, ConnectorError
from hub.sources.api_source import StreamDef, read_partitions
from hub.sources.http import ApiClient, QuotaExhausted, RateLimited, Transient, json_body, page_body, parse_retry_after

VENDOR = "Jotform"
HOSTS = {"us": "https://api.jotform.com", "eu": "https://eu-api.jotform.com", "hipaa": "https://hipaa-api.jotform.com"}
STAMP = "%Y-%m-%d %H:%M:%S"
SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "id": {"type": "string"},
        "form_id": {"type": "string"},
        "created_at": {"type": ["string", "null"]},
        "submitted_at": {"type": ["string", "null"], "format": "date-time"},
        "status": {"type": ["string", "null"]},
        "answers": {"type": ["object", "array", "null"]},
        "fields": {"type": "object"},
    },
}

Pair = tuple[dict[str, Any] | None, dict[str, Any]]


class JotformApi:
    def __init__(self, config: Mapping[str, Any], client: ApiClient | None = None) -> None:
        self.config = config
        self.client = client or ApiClient(VENDOR)
        self.base = HOSTS[config.get("region") or "us"]
        self.page_size = int(config.get("page_size") or 100)
        self.min_calls_left = int(config.get("min_calls_left") or 0)
        self.zone = _zone(str(config.get("timezone") or "America/New_York"))
        self.headers = {"APIKEY": str(config["api_key"])}

    def check(self) -> None:
        for form_id in self.config["form_ids"]:
            self.page(form_id, offset=0, limit=1)

    def streams(self) -> list[StreamDef]:
        return [StreamDef("submissions", self.read, ("id",), "created_at", SCHEMA)]

    def page(self, form_id: str, *, offset: int, limit: int, since: str | None = None) -> tuple[list[Any], int | None]:
        """One page of submissions and the calls left today (None when Jotform does not say)."""
        params: dict[str, Any] = {"offset": offset, "limit": limit, "orderby": "created_at", "direction": "ASC"}
        if since:
            params["filter"] = json.dumps({"created_at:gt": since})
        response = self.client.send("GET", f"{self.base}/form/{form_id}/submissions", params=params,
                                    headers=self.headers, classify=lambda r: _classify(r, form_id))
        body = page_body(response, VENDOR)
        left = str(body.get("limit-left", ""))
        return list(body.get("content") or []), int(left) if left.isdigit() else None

    def read(self, state: Mapping[str, Any]) -> Iterator[Pair]:
        return read_partitions(state, "forms", self.config["form_ids"], self._form)

    def _form(self, form_id: str, forms: dict[str, Any]) -> Iterator[Pair]:
        saved = forms.get(form_id) or {}
        cursor, boundary = saved.get("created_at"), set(saved.get("boundary") or ())
        done = {k: v for k, v in saved.items() if k != "pass"}
        run = saved.get("pass") or {"since": _second_before(cursor) if cursor else self.config.get("start_date"),
                                    "offset": 0, "max": None, "at_max": []}
        while True:
            items, left = self.page(form_id, offset=run["offset"], limit=self.page_size, since=run["since"])
            for item in items:
                sid, when = str(item.get("id")), item.get("created_at")
                run = {**run, "offset": run["offset"] + 1, **_newest(run, when, sid)}
                seen = cursor is not None and when == cursor and sid in boundary
                after = {"forms": {**forms, form_id: {**done, "pass": run}}}
                yield (None if seen else self._record(form_id, item)), after
            if len(items) < self.page_size:
                break
            if left is not None and left <= self.min_calls_left:
                raise QuotaExhausted(f"{VENDOR}: the daily API budget is down to {left} calls (limit-left); "
                                     "the run stops here and resumes next run")
        finished = dict(done)
        if run["max"] is not None and (cursor is None or run["max"] >= cursor):
            same = boundary if run["max"] == cursor else set()
            finished = {"created_at": run["max"], "boundary": sorted(set(run["at_max"]) | same)}
        yield None, {"forms": {**forms, form_id: finished}}

    def _record(self, form_id: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {**item, "id": str(item.get("id")), "form_id": str(item.get("form_id") or form_id),
                "submitted_at": _iso(item.get("created_at"), self.zone), "fields": fields_by_name(item.get("answers"))}


def fields_by_name(answers: Any) -> dict[str, Any]:
    """``{name without its question number: answer}`` for the answered questions, in question order."""
    if not isinstance(answers, dict):
        return {}
    ordered = sorted((a for a in answers.values() if isinstance(a, dict)), key=lambda a: _order(a.get("order")))
    found: dict[str, Any] = {}
    for answer in ordered:
        name = re.sub(r"\d+$", "", str(answer.get("name") or ""))
        if name and answer.get("answer") not in (None, "", [], {}) and name not in found:
            found[name] = answer["answer"]
    return found


def _order(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 30


def _newest(run: Mapping[str, Any], when: Any, sid: str) -> dict[str, Any]:
    if not isinstance(when, str):
        return {}
    if run["max"] is None or when > run["max"]:
        return {"max": when, "at_max": [sid]}
    if when == run["max"]:
        return {"at_max": [*run["at_max"], sid]}
    return {}


def _second_before(stamp: str) -> str:
    """``created_at:gt`` excludes its own second: ask from the second before (``boundary`` drops repeats)."""
    return (datetime.strptime(stamp, STAMP) - timedelta(seconds=1)).strftime(STAMP)


def _iso(stamp: Any, zone: ZoneInfo) -> str | None:
    try:
        return datetime.strptime(str(stamp), STAMP).replace(tzinfo=zone).isoformat()
    except ValueError:
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(f"unknown time zone '{name}'", file="jotform source config", path="timezone",
                          fix="use an IANA name such as Asia/Shanghai") from error


def _classify(response: requests.Response, form_id: str) -> None:
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    code = body.get("responseCode") if isinstance(body.get("responseCode"), int) else response.status_code
    status = max(response.status_code, code) if code >= 400 or response.status_code >= 400 else 200
    if status < 400:
        return
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None:
            raise QuotaExhausted(f"{VENDOR}: the daily API limit is reached (HTTP 429); "
                                 "the run stops here and resumes next run")
        raise RateLimited(f"{VENDOR}: rate limited (HTTP 429)", retry_after=wait)
    if status >= 500:
        raise Transient(f"{VENDOR}: server error (HTTP {status})")
    if status in (401, 403):
        raise ConfigError(f"{VENDOR} refused the API key for form {form_id} (HTTP {status})",
                          fix="check api_key and region (EU accounts use region: eu), and that the form "
                              "belongs to the key's account")
    if status == 404:
        raise ConfigError(f"{VENDOR}: form {form_id} does not exist (HTTP 404)", fix="check form_ids")
    raise ConnectorError(f"{VENDOR}: request refused (HTTP {status})")
