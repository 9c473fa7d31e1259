"""The WeChat Official Account followers: the openid list, then user info in batches.

A pass walks the openid list (``GET /cgi-bin/user/get``, 10,000 per page, continued with
``next_openid`` while a page is full) and fetches each batch of at most 100 with
``POST /cgi-bin/user/info/batchget``. A record is the user-info object of one follower with only
the fields WeChat still returns (no nickname, avatar, sex or location since 2021-12-27);
``subscribe: 0`` marks someone who left during the pass. Errcodes: ``connectors.wechat.errors``.

State of the stream, exact after every record::

    {"subscribe_time": 1717000000,       # largest subscribe_time of the last finished pass
     "boundary": ["o..."],               # openids having exactly that subscribe_time
     "pass": {"page_start": "o...",      # next_openid that fetched the current page ("" = first)
              "offset": 200,             # openids of that page already handled
              "max": 1717000100,         # largest subscribe_time seen in this pass so far
              "at_max": ["o..."]}}       # openids having that time

The openid list has no filter, so an incremental pass still walks it all and fetches every batch,
but emits only followers whose subscribe_time (the last follow) is past the saved one: new and
returning followers. Changed remarks or tags of earlier followers need a full_refresh read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connectors.wechat.errors import VENDOR, classify, classify_token
from connectors.wechat.token import TokenCache
from hub.sources.api_source import StreamDef
from hub.sources.http import ApiClient, json_body

DEFAULT_HOST = "https://api.weixin.qq.com"
LIST_PATH = "/cgi-bin/user/get"
INFO_PATH = "/cgi-bin/user/info/batchget"
LIST_PAGE_SIZE = 10_000  # user/get returns at most this many openids; a shorter page is the last
FIELDS = ("openid", "unionid", "subscribe", "subscribe_time", "language", "remark", "groupid", "tagid_list",
          "subscribe_scene", "qr_scene", "qr_scene_str")
SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "openid": {"type": "string"},
        "unionid": {"type": ["string", "null"]},
        "subscribe": {"type": "integer"},
        "subscribe_time": {"type": ["integer", "null"]},
        "language": {"type": ["string", "null"]},
        "remark": {"type": ["string", "null"]},
        "groupid": {"type": ["integer", "null"]},
        "tagid_list": {"type": ["array", "null"], "items": {"type": "integer"}},
        "subscribe_scene": {"type": ["string", "null"]},
        "qr_scene": {"type": ["integer", "null"]},
        "qr_scene_str": {"type": ["string", "null"]},
    },
}

Pair = tuple[dict[str, Any] | None, dict[str, Any]]


class WeChatApi:
    def __init__(self, config: Mapping[str, Any], client: ApiClient | None = None) -> None:
        self.config = config
        self.host = str(config.get("api_base") or DEFAULT_HOST).rstrip("/")
        self.batch_size = int(config.get("batch_size") or 100)
        self.lang = str(config.get("lang") or "zh_CN")
        self.client = client or ApiClient(VENDOR)
        self.tokens = TokenCache(self.host, str(config["app_id"]), str(config["app_secret"]), self._fetch_token)
        self._refresh = False
        self.client.refresh_auth = self._refresh_next

    # --- auth ----------------------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, float]:
        params = {"grant_type": "client_credential", "appid": self.config["app_id"],
                  "secret": self.config["app_secret"]}
        body = json_body(self.client.send("GET", self.host + "/cgi-bin/token", params=params,
                                          classify=classify_token)) or {}
        return str(body["access_token"]), float(body.get("expires_in") or 7200)

    def _refresh_next(self) -> None:
        self._refresh = True

    def _auth(self) -> dict[str, Any]:
        token, self._refresh = self.tokens.get(refresh=self._refresh), False
        return {"params": {"access_token": token}}

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.client.send(method, self.host + path, prepare=self._auth,
                                    classify=lambda r: classify(r, path), **kwargs)
        body = json_body(response)
        return body if isinstance(body, dict) else {}

    # --- protocol ------------------------------------------------------------------------------

    def check(self) -> None:
        self.tokens.get()  # a wrong AppID, AppSecret or server IP fails here (the cache is keyed by both)
        self.call("GET", LIST_PATH, params={"next_openid": ""})  # a missing permission fails here

    def streams(self) -> list[StreamDef]:
        return [StreamDef("followers", self.read, ("openid",), "subscribe_time", SCHEMA)]

    def read(self, state: Mapping[str, Any]) -> Iterator[Pair]:
        cursor, boundary = state.get("subscribe_time"), set(state.get("boundary") or ())
        done = {k: state[k] for k in ("subscribe_time", "boundary") if k in state}
        run = dict(state.get("pass") or {"page_start": "", "offset": 0, "max": None, "at_max": []})
        while True:
            page = self.call("GET", LIST_PATH, params={"next_openid": run["page_start"]})
            openids = list((page.get("data") or {}).get("openid") or [])
            for start in range(run["offset"], len(openids), self.batch_size):
                for info in self._infos(openids[start:start + self.batch_size]):
                    run = {**run, "offset": run["offset"] + 1, **_newest(run, info)}
                    record = None if _seen_before(info, cursor, boundary) else info
                    yield record, {**done, "pass": run}
            if len(openids) < LIST_PAGE_SIZE or not page.get("next_openid"):
                break
            run = {**run, "page_start": page["next_openid"], "offset": 0}
            yield None, {**done, "pass": run}
        if run["max"] is not None and (cursor is None or run["max"] >= cursor):
            same = boundary if run["max"] == cursor else set()
            done = {"subscribe_time": run["max"], "boundary": sorted(set(run["at_max"]) | same)}
        yield None, done

    def _infos(self, batch: list[str]) -> list[dict[str, Any]]:
        """The user info of ``batch``, in its order; one that WeChat leaves out counts as unsubscribed."""
        body = self.call("POST", INFO_PATH, json={"user_list": [{"openid": o, "lang": self.lang} for o in batch]})
        found = {i.get("openid"): i for i in body.get("user_info_list") or [] if isinstance(i, dict)}
        return [_record(found.get(openid) or {"openid": openid, "subscribe": 0}) for openid in batch]


def _record(info: Mapping[str, Any]) -> dict[str, Any]:
    """The follower's fields WeChat still documents; anything else (legacy nickname ...) is dropped."""
    return {name: info[name] for name in FIELDS if name in info}


def _newest(run: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
    when = info.get("subscribe_time")
    if not isinstance(when, int):
        return {}
    if run["max"] is None or when > run["max"]:
        return {"max": when, "at_max": [info["openid"]]}
    if when == run["max"]:
        return {"at_max": [*run["at_max"], info["openid"]]}
    return {}


def _seen_before(info: Mapping[str, Any], cursor: Any, boundary: set[str]) -> bool:
    when = info.get("subscribe_time")
    if cursor is None or not isinstance(when, int):
        return False
    return when < cursor or (when == cursor and info["openid"] in boundary)
