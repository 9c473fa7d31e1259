"""Typeform's Responses API: ``after``-token paging, ``since`` incremental, answers by field ref.

* ``GET {api}/forms/{form_id}/responses`` with ``Authorization: Bearer <token>``. The first page of
  a pass asks ``since`` (inclusive, ``2020-03-20T14:00:59`` in UTC) sorted ``submitted_at,asc``;
  the next pages ask ``after=<token of the last response read>``, which Typeform answers in the
  order it processed the responses (``after`` cannot be combined with ``sort``). A page shorter
  than ``page_size`` is the last.
* Errors: 401/403 (a wrong token or missing ``responses:read`` scope) and 404 (a form of another
  account) are fatal with a one-line reason; 429 waits ``Retry-After``; 5xx backs off.

A record is the response as Typeform sends it plus ``form_id`` and ``fields``: each answer's value
keyed by its field ``ref`` (stable and settable in the editor, unlike titles), so mappings read
``fields.email`` whatever the question says.

State of the stream, exact after every record::

    {"forms": {"lR6F4j": {"submitted_at": "2024-05-02T08:00:00Z",  # newest of the last finished pass
                          "boundary": ["21085286190ffad1..."],      # responses at exactly that time
                          "pass": {"since": ..., "after": "<token>", "max": ..., "at_max": [...]}}}}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from hub.errors import ConfigError, ConnectorError
from hub.sources.api_source import StreamDef, read_partitions
from hub.sources.http import ApiClient, RateLimited, Transient, json_body, page_body, parse_retry_after

VENDOR = "Typeform"
DEFAULT_API = "https://api.typeform.com"
SCALAR_ANSWERS = ("text", "email", "phone_number", "number", "boolean", "date", "url", "file_url", "payment")
SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "response_id": {"type": "string"},
        "token": {"type": "string"},
        "form_id": {"type": "string"},
        "landed_at": {"type": ["string", "null"], "format": "date-time"},
        "submitted_at": {"type": ["string", "null"], "format": "date-time"},
        "answers": {"type": ["array", "null"]},
        "fields": {"type": "object"},
        "hidden": {"type": ["object", "null"]},
        "metadata": {"type": ["object", "null"]},
    },
}

Pair = tuple[dict[str, Any] | None, dict[str, Any]]


class TypeformApi:
    def __init__(self, config: Mapping[str, Any], client: ApiClient | None = None) -> None:
        self.config = config
        self.client = client or ApiClient(VENDOR)
        self.base = str(config.get("api_base") or DEFAULT_API).rstrip("/")
        self.page_size = int(config.get("page_size") or 1000)
        self.headers = {"Authorization": f"Bearer {config['token']}"}

    def check(self) -> None:
        for form_id in self.config["form_ids"]:
            self.page(form_id, page_size=1)

    def streams(self) -> list[StreamDef]:
        return [StreamDef("responses", self.read, ("response_id",), "submitted_at", SCHEMA)]

    def page(self, form_id: str, *, page_size: int, since: str | None = None,
             after: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"page_size": page_size}
        if since:
            params["since"] = since.removesuffix("Z")
        if after:
            params["after"] = after
        else:
            params["sort"] = "submitted_at,asc"
        response = self.client.send("GET", f"{self.base}/forms/{form_id}/responses", params=params,
                                    headers=self.headers, classify=lambda r: _classify(r, form_id))
        return list(page_body(response, VENDOR).get("items") or [])

    def read(self, state: Mapping[str, Any]) -> Iterator[Pair]:
        return read_partitions(state, "forms", self.config["form_ids"], self._form)

    def _form(self, form_id: str, forms: dict[str, Any]) -> Iterator[Pair]:
        saved = forms.get(form_id) or {}
        cursor, boundary = saved.get("submitted_at"), set(saved.get("boundary") or ())
        done = {k: v for k, v in saved.items() if k != "pass"}
        run = saved.get("pass") or {"since": cursor or self.config.get("start_date"), "after": None,
                                    "max": None, "at_max": []}
        while True:
            items = self.page(form_id, page_size=self.page_size, since=run["since"], after=run["after"])
            for item in items:
                rid, when = str(item.get("response_id") or item.get("token")), item.get("submitted_at")
                run = {**run, "after": item.get("token"), **_newest(run, when, rid)}
                seen = cursor is not None and when == cursor and rid in boundary
                yield (None if seen else _record(form_id, item)), {"forms": {**forms, form_id: {**done, "pass": run}}}
            if len(items) < self.page_size:
                break
        finished = dict(done)
        if run["max"] is not None and (cursor is None or run["max"] >= cursor):
            same = boundary if run["max"] == cursor else set()
            finished = {"submitted_at": run["max"], "boundary": sorted(set(run["at_max"]) | same)}
        yield None, {"forms": {**forms, form_id: finished}}


def _newest(run: Mapping[str, Any], when: Any, rid: str) -> dict[str, Any]:
    """The pass's newest submitted_at and the responses that have it, after seeing ``rid``."""
    if not isinstance(when, str):
        return {}
    if run["max"] is None or when > run["max"]:
        return {"max": when, "at_max": [rid]}
    if when == run["max"]:
        return {"at_max": [*run["at_max"], rid]}
    return {}


def _record(form_id: str, item: Mapping[str, Any]) -> dict[str, Any]:
    record = {**item, "form_id": form_id, "fields": answers_by_ref(item.get("answers") or [])}
    record.setdefault("response_id", item.get("token"))
    return record


def answers_by_ref(answers: list[Any]) -> dict[str, Any]:
    """``{field ref: value}``: text for scalar answers, the label(s) for choices."""
    found: dict[str, Any] = {}
    for answer in answers:
        if not isinstance(answer, dict):
            continue
        ref = (answer.get("field") or {}).get("ref")
        kind = answer.get("type")
        if not ref or not kind:
            continue
        if kind in SCALAR_ANSWERS:
            found[ref] = answer.get(kind)
        elif kind == "choice":
            choice = answer.get("choice") or {}
            found[ref] = choice.get("label") or choice.get("other")
        elif kind == "choices":
            choices = answer.get("choices") or {}
            found[ref] = [*(choices.get("labels") or []), *([choices["other"]] if choices.get("other") else [])]
    return found


def _classify(response: requests.Response, form_id: str) -> None:
    status = response.status_code
    if status < 400:
        return
    body = json_body(response)
    code = str(body.get("code") or "") if isinstance(body, dict) else ""
    label = f"HTTP {status} {code}".strip()
    if status == 429:
        raise RateLimited(f"{VENDOR}: rate limited (HTTP 429)",
                          retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        raise Transient(f"{VENDOR}: server error (HTTP {status})")
    if status in (401, 403):
        raise ConfigError(f"{VENDOR} refused the token ({label})",
                          fix="use a personal access token with the responses:read scope")
    if status == 404:
        raise ConfigError(f"{VENDOR}: form {form_id} is not visible to this token ({label})",
                          fix="check form_ids, and that the token belongs to the form's account")
    raise ConnectorError(f"{VENDOR}: request refused ({label})")
