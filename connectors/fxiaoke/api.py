"""纷享销客 FxiaoKe over HTTP: the token, ``errorCode`` inside HTTP 200, keyset paging by ``_id``.

* Every call is ``POST`` JSON with ``?thirdTraceId=<uuid4>``; the answer is HTTP 200 whether it
  worked or not: ``errorCode`` 0 is success. ``20016`` (token refused) refreshes the token once;
  ``30002`` (daily quota) ends the stream at its last checkpoint; ``30004``/``14001`` (frequency)
  wait and retry; ``-1``/``50009`` (busy, timeout) back off; anything else stops with its code.
* ``POST /cgi/crm/v2/data/query`` reads ``ContactObj``/``AccountObj``. ``offset`` may not pass
  10,000, so the source never pages by offset: it orders by ``_id`` ascending, keeps ``offset`` 0
  and asks for ``_id > <last id read>`` (keyset paging), filtered by
  ``last_modified_time > <cursor>`` (epoch ms, as strings) for incremental reads.

State of a stream: ``{"cursor": <last_modified_time in ms of the newest record read>}``, plus
``"pass": {"since", "last_id", "max"}`` while a pass is under way: resuming after any record asks
for exactly the ids after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import requests

from connectors.fxiaoke.token import TOKENS, Token, TokenCache
from hub.errors import ConnectorError
from hub.sources.api_source import StreamDef
from hub.sources.http import (
    ApiClient,
    AuthExpired,
    QuotaExhausted,
    RateLimited,
    Transient,
    default_classify,
    json_body,
)

VENDOR = "FxiaoKe"
OBJECTS = {"contacts": "ContactObj", "accounts": "AccountObj"}
ALWAYS = ("_id", "last_modified_time")
TOKEN_PATH = "/cgi/corpAccessToken/get/V2"
QUERY_PATH = "/cgi/crm/v2/data/query"
FREQUENCY_WAIT = 20.0  # the limit is 100 calls per 20 s per endpoint


class FxiaokeApi:
    """The FxiaoKe calls of one source instance; the token is shared process-wide (``TOKENS``)."""

    def __init__(self, config: Mapping[str, Any], client: ApiClient | None = None,
                 tokens: TokenCache = TOKENS) -> None:
        self.config = config
        self.base_url = str(config.get("base_url", "https://open.fxiaoke.com")).rstrip("/")
        self.client = client or ApiClient(VENDOR)
        self.client.refresh_auth = self._refresh
        self.page_size = int(config.get("page_size", 100))
        self.tokens = tokens
        self._key = TokenCache.key(self.base_url, config["app_id"], config["app_secret"], config["permanent_code"])
        self._token: Token | None = None

    # --- auth ----------------------------------------------------------------------------------

    def _fetch_token(self) -> Token:
        body = {"appId": self.config["app_id"], "appSecret": self.config["app_secret"],
                "permanentCode": self.config["permanent_code"]}
        response = self.client.send("POST", self._url(TOKEN_PATH), json=body, classify=_classify_token)
        answer = json_body(response) or {}
        return Token(str(answer["corpAccessToken"]), str(answer["corpId"]), 0.0)

    def token(self) -> Token:
        if self._token is None:
            self._token = self.tokens.get(self._key, self._fetch_token)
        return self._token

    def _refresh(self) -> None:
        stale = self._token.corp_access_token if self._token else None
        self._token = self.tokens.get(self._key, self._fetch_token, stale=stale)

    # --- protocol ------------------------------------------------------------------------------

    def check(self) -> None:
        self.token()
        for stream in OBJECTS:
            self.query(stream, last_id=None, since=None, limit=1)

    def streams(self) -> list[StreamDef]:
        return [StreamDef(name, lambda state, name=name: self.read(name, state), ("_id",), "last_modified_time")
                for name in OBJECTS]

    def query(self, stream: str, *, last_id: str | None, since: int | None, limit: int) -> list[dict[str, Any]]:
        filters = []
        if since is not None:
            filters.append({"field_name": "last_modified_time", "field_values": [str(since)], "operator": "GT"})
        if last_id is not None:
            filters.append({"field_name": "_id", "field_values": [last_id], "operator": "GT"})
        search: dict[str, Any] = {"limit": limit, "offset": 0, "filters": filters,
                                  "orders": [{"fieldName": "_id", "isAsc": True}]}
        chosen = (self.config.get("fields") or {}).get(stream)
        if chosen:
            search["fieldProjection"] = [*ALWAYS, *(f for f in chosen if f not in ALWAYS)]
        data = {"dataObjectApiName": OBJECTS[stream], "find_explicit_total_num": False, "search_query_info": search}

        def auth() -> dict[str, Any]:
            token = self.token()
            return {"json": {"corpAccessToken": token.corp_access_token, "corpId": token.corp_id,
                             "currentOpenUserId": self.config["current_open_user_id"], "data": data}}

        response = self.client.send("POST", self._url(QUERY_PATH), prepare=auth, classify=_classify_api)
        answer = (json_body(response) or {}).get("data") or {}
        rows = answer.get("dataList")
        if rows is None and isinstance(answer, dict) and answer.get("_id"):
            rows = [answer]  # the single-map form of the answer
        return list(rows or [])

    def read(self, stream: str, state: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any]]]:
        cursor = state.get("cursor")
        run = dict(state.get("pass") or {})
        if not run:
            run = {"since": cursor if cursor is not None else _start_ms(self.config), "last_id": None,
                   "max": cursor}
        while True:
            rows = self.query(stream, last_id=run["last_id"], since=run["since"], limit=self.page_size)
            for row in rows:
                run = {**run, "last_id": str(row["_id"]), "max": _later(run["max"], row.get("last_modified_time"))}
                yield row, {"cursor": cursor, "pass": run}
            if len(rows) < self.page_size:
                break
        yield None, {"cursor": run["max"]} if run["max"] is not None else {}

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}?thirdTraceId={uuid.uuid4()}"


def _start_ms(config: Mapping[str, Any]) -> int | None:
    start = config.get("start_date")
    return int(datetime.fromisoformat(start).timestamp() * 1000) if start else None


def _later(current: int | None, candidate: Any) -> int | None:
    try:
        value = int(candidate)
    except (TypeError, ValueError):
        return current
    return value if current is None or value > current else current


def _code(response: requests.Response) -> int | None:
    body = json_body(response)
    if isinstance(body, dict) and "errorCode" in body:
        try:
            return int(body["errorCode"])
        except (TypeError, ValueError):
            return None
    return None


def _classify_token(response: requests.Response) -> None:
    default_classify(response, VENDOR)
    code = _code(response)
    if code in (-1, 50009):
        raise Transient(f"{VENDOR}: token service busy (errorCode {code})")
    if code != 0 or not (json_body(response) or {}).get("corpAccessToken"):
        raise ConnectorError(f"{VENDOR}: token request refused (errorCode {code}); check app_id, app_secret "
                             "and permanent_code, and that the app is enabled for this company")


def _classify_api(response: requests.Response) -> None:
    default_classify(response, VENDOR)
    code = _code(response)
    if code == 0:
        return
    if code == 20016:
        raise AuthExpired(f"{VENDOR}: corpAccessToken refused (errorCode 20016)")
    if code == 30002:
        raise QuotaExhausted(f"{VENDOR}: the daily API quota is used up (errorCode 30002); "
                             "the run stops here and resumes next run")
    if code in (30004, 14001):
        raise RateLimited(f"{VENDOR}: call frequency exceeded (errorCode {code})", retry_after=FREQUENCY_WAIT)
    if code in (-1, 50009):
        raise Transient(f"{VENDOR}: service busy (errorCode {code})")
    if code == 10013:
        raise ConnectorError(f"{VENDOR}: offset beyond 10000 refused (errorCode 10013)")
    if code in (20021, 20022, 30003):
        raise ConnectorError(f"{VENDOR}: the app is disabled, not authorised or has no API quota for this company "
                             f"(errorCode {code})")
    raise ConnectorError(f"{VENDOR}: request refused (errorCode {code}); check current_open_user_id and the "
                         "employee's data permissions")
