"""The 纷享销客 FxiaoKe source: the conformance suite, plus a test for each FxiaoKe quirk.

The fake speaks FxiaoKe's shapes (``reference/api-shapes-and-reverse-etl.md`` B.3): every answer is
HTTP 200 with ``errorCode``; ``thirdTraceId`` on every call; the token in the body;
``search_query_info`` with snake_case filters and camelCase orders; offset capped at 10,000.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connectors.fxiaoke import FXIAOKE_SOURCE
from connectors.fxiaoke.token import TOKENS, Token, TokenCache
from hub.protocol import State
from hub.sources.conformance import FakeApi, SourceConformance, failures, read, record_ids

BASE = "https://open.fxiaoke.com"
OBJECTS = {"contacts": "ContactObj", "accounts": "AccountObj"}
NAMES = ["张三", "李四", "欧阳娜娜", "王先生"]


def ok(**body) -> tuple:
    return 200, {}, json.dumps({"errorCode": 0, "errorMessage": "success", **body}, ensure_ascii=False)


def error(code: int, message: str = "error") -> tuple:
    return 200, {}, json.dumps({"errorCode": code, "errorMessage": message, "errorDescription": message})


class FakeFxiaoke(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.app_secret = "good-secret"
        self.tokens: list[str] = []
        self.token_calls = 0
        self.queries: list[dict] = []
        self.revoke_token = False
        self.daily_after: int | None = None
        self.offset_cap = 10000

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.POST, f"{BASE}/cgi/corpAccessToken/get/V2", callback=self.token)
        rsps.add_callback(responses.POST, f"{BASE}/cgi/crm/v2/data/query", callback=self.query)

    def token(self, request):
        assert parse_qs(urlparse(request.url).query).get("thirdTraceId")
        self.token_calls += 1
        body = json.loads(request.body)
        if body.get("appSecret") != self.app_secret:
            return error(10006, "the parameter appSecret is missing or illegal")
        self.tokens.append(f"E1F4D857FA579BD8C1A1A011249ECD{len(self.tokens):02d}")
        return ok(corpAccessToken=self.tokens[-1], corpId="FSCID_6F77ADFA946108AECFE66A93FFC9E1F2", expiresIn=7200)

    def query(self, request):
        assert parse_qs(urlparse(request.url).query).get("thirdTraceId")
        body = json.loads(request.body)
        if not self.tokens or body.get("corpAccessToken") != self.tokens[-1] or self.revoke_token:
            self.revoke_token = False
            return error(20016, "the cropId,cropAccessToken or authorization is error")
        data = body["data"]
        search = data["search_query_info"]
        self.queries.append(search)
        if self.daily_after is not None and self.data_calls >= self.daily_after:
            return error(30002, "daily quota exceeded")
        if self.take_429():
            return error(30004, "frequency exceeded")
        limit, offset = search["limit"], search["offset"]
        if offset > self.offset_cap:
            return 200, {}, json.dumps({"errorDescription": "offset 不能超过10000",
                                        "errorMessage": "offset out of range 10000", "errorCode": 10013},
                                       ensure_ascii=False)
        stream = next(s for s, o in OBJECTS.items() if o == data["dataObjectApiName"])
        rows = sorted(self.records[stream].values(), key=lambda r: r["_id"])
        for flt in search["filters"]:
            value = flt["field_values"][0]
            assert flt["operator"] == "GT" and isinstance(value, str)
            if flt["field_name"] == "_id":
                rows = [r for r in rows if r["_id"] > value]
            else:
                rows = [r for r in rows if r["last_modified_time"] > int(value)]
        page = rows[offset:offset + limit]
        self.data_calls += 1
        return ok(traceId="E-O.74164.1063-61c99d4033ca46c5",
                  data={"dataList": page, "offset": offset, "limit": limit, "total": 0})

    def seed(self, stream: str, n: int) -> None:
        table = self.records.setdefault(stream, {})
        for i in range(len(table), len(table) + n):
            row_id = f"{i:08x}55cf4be98b8ff85d1ca70144"
            if stream == "contacts":
                row = {"_id": row_id, "name": NAMES[i % len(NAMES)], "mobile": f"139{i:08d}",
                       "tel": "021-12345678", "email": f"c{i}@example.cn", "job_title": "采购经理",
                       "department": "采购部", "account_id": "acc1", "account_id__r": "示例科技有限公司",
                       "marketing_opt_out__c": i % 2 == 0}
            else:
                row = {"_id": row_id, "name": f"示例科技{i}有限公司", "tel": "0755-88888888",
                       "url": "https://example.cn", "industry": "软件"}
            row.update(create_time=1757000000000, last_modified_time=self.tick())
            table[row_id] = row

    def touch(self, stream: str, ids) -> None:
        for row_id in ids:
            self.records[stream][row_id]["last_modified_time"] = self.tick()


def config_for(api: FakeFxiaoke, **extra) -> dict:
    return {"app_id": "FSAID_131882c", "app_secret": api.app_secret, "permanent_code": "B80A369A-perm",
            "current_open_user_id": "FSUID_0001", "page_size": 3, "checkpoint_every": 2, **extra}


@pytest.fixture(autouse=True)
def fresh_tokens():
    TOKENS.clear()
    yield
    TOKENS.clear()


class TestFxiaokeConformance(SourceConformance):
    connector = FXIAOKE_SOURCE
    streams = {"contacts": "fxiaoke_contacts", "accounts": "fxiaoke_accounts"}
    secret_fields = ("app_secret", "permanent_code")
    primary_key = "_id"
    crm_system = "fxiaoke"

    def make_api(self):
        return FakeFxiaoke()

    def make_config(self, api):
        return config_for(api)

    def bad_config(self, api):
        return {**config_for(api), "app_secret": "wrong-secret"}

    def expects_consents(self, stream):
        return stream == "contacts"


# --- FxiaoKe quirks --------------------------------------------------------------------------------


@pytest.fixture
def fxiaoke(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    api = FakeFxiaoke()
    api.slept = slept
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        yield api


def test_error_code_inside_http_200_fails_check_with_its_code(fxiaoke):
    result = FXIAOKE_SOURCE.check({**config_for(fxiaoke), "app_secret": "wrong"})
    assert not result.ok
    assert result.message.startswith("FxiaoKe: token request refused (errorCode 10006)")


def test_keyset_paging_by_id_reads_past_the_offset_limit(fxiaoke):
    fxiaoke.seed("contacts", 10050)
    messages = read(FXIAOKE_SOURCE, {**config_for(fxiaoke), "page_size": 100, "checkpoint_every": 5000}, "contacts")
    assert not failures(messages), failures(messages)
    assert len(set(record_ids(messages, "_id"))) == 10050
    assert {q["offset"] for q in fxiaoke.queries} == {0}
    assert fxiaoke.queries[-1]["filters"][-1]["field_name"] == "_id"


def test_incremental_filters_last_modified_time_as_a_string_of_ms(fxiaoke):
    fxiaoke.seed("contacts", 3)
    final = [m for m in read(FXIAOKE_SOURCE, config_for(fxiaoke), "contacts") if isinstance(m, State)][-1]
    cursor = final.message["stream"]["stream_state"]["cursor"]
    assert cursor == max(r["last_modified_time"] for r in fxiaoke.records["contacts"].values())
    read(FXIAOKE_SOURCE, config_for(fxiaoke), "contacts", {"contacts": final.message})
    assert fxiaoke.queries[-1]["filters"][0] == {"field_name": "last_modified_time", "field_values": [str(cursor)],
                                                 "operator": "GT"}


def test_token_is_cached_across_runs_and_refreshed_once_on_20016(fxiaoke):
    fxiaoke.seed("contacts", 4)
    for _ in range(3):
        assert len(record_ids(read(FXIAOKE_SOURCE, config_for(fxiaoke), "contacts"), "_id")) == 4
    assert fxiaoke.token_calls == 1
    fxiaoke.revoke_token = True
    messages = read(FXIAOKE_SOURCE, config_for(fxiaoke), "contacts")
    assert not failures(messages) and fxiaoke.token_calls == 2


def test_token_cache_is_single_flight_and_at_most_ten_calls_a_minute():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    cache = TokenCache(clock=lambda: now[0], sleep=sleep)
    fetches = []

    def fetch():
        fetches.append(now[0])
        return Token(f"t{len(fetches)}", "FSCID_1", 0.0)

    threads = [threading.Thread(target=lambda: cache.get("k", fetch)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fetches) == 1  # eight concurrent callers, one token call
    for _ in range(12):  # every token refused: force a refresh each time
        cache.get("k", fetch, stale=cache.get("k", fetch).corp_access_token)
    assert len(fetches) == 13
    assert all(sum(1 for t in fetches if start <= t < start + 60) <= 10 for start in fetches)
    assert waits and waits[0] == pytest.approx(60.0)


def test_daily_quota_30002_stops_the_stream_at_its_checkpoint_without_sleeping(fxiaoke):
    fxiaoke.seed("contacts", 9)
    fxiaoke.daily_after = 2
    messages = read(FXIAOKE_SOURCE, config_for(fxiaoke), "contacts")
    failed = failures(messages)
    assert len(failed) == 1 and "errorCode 30002" in failed[0].message and failed[0].failure_type == "transient_error"
    assert fxiaoke.slept == []
    got = record_ids(messages, "_id")
    assert len(got) == 6
    last = [m for m in messages if isinstance(m, State)][-1]
    fxiaoke.daily_after = None
    rest = record_ids(read(FXIAOKE_SOURCE, config_for(fxiaoke), "contacts", {"contacts": last.message}), "_id")
    assert got + rest == sorted(fxiaoke.records["contacts"])


def test_frequency_limit_30004_waits_and_goes_on(fxiaoke):
    fxiaoke.seed("accounts", 2)
    fxiaoke.rate_limit_next(1)
    messages = read(FXIAOKE_SOURCE, config_for(fxiaoke), "accounts")
    assert not failures(messages) and len(record_ids(messages, "_id")) == 2
    assert fxiaoke.slept == [20.0]
