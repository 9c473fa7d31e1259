"""The WeChat Official Account followers source (connectors/wechat), against a fake of the API.

The conformance suite, plus a test for each WeChat quirk. The fake answers exactly like
api.weixin.qq.com: always HTTP 200, errors as {"errcode", "errmsg"}, user/get pages of
``page_size`` openids continued by ``next_openid``, user/info/batchget of at most 100 openids, and
no nickname or avatar.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connectors.wechat import WECHAT_SOURCE
from connectors.wechat import api as wechat_api
from connectors.wechat.token import forget_tokens
from hub import plugins
from hub.protocol import Record, State, StreamFailure, StreamSelection
from hub.sources.conformance import FakeApi, SourceConformance

BASE = "https://api.weixin.qq.com"
APP_ID = "wx1234567890abcdef"
SECRET = "s3cr3t-app-secret-value"
CONFIG = {"app_id": APP_ID, "app_secret": SECRET, "batch_size": 2, "checkpoint_every": 2}


def follower(n: int) -> dict:
    info = {"subscribe": 1, "openid": f"oOPENID{n:05d}", "language": "zh_CN", "subscribe_time": 1700000000 + n,
            "remark": "张伟先生" if n % 2 else "", "groupid": 0, "tagid_list": [128, 2] if n % 3 else [],
            "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene": 98765, "qr_scene_str": ""}
    if n % 2:
        info["unionid"] = f"oUNION{n:05d}"
    return info


class FakeWeChat(FakeApi):
    """api.weixin.qq.com over ``followers``; ``page_size`` stands for the API's 10,000."""

    def __init__(self, followers: list[dict] | None = None, page_size: int = 3) -> None:
        super().__init__()
        self.followers = list(followers or [])
        self.page_size = page_size
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.pages_served = 0
        self.batch_sizes: list[int] = []
        self.script: list[dict] = []  # errcode bodies answered to the next API calls, in order

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback("GET", f"{BASE}/cgi-bin/token", callback=self._token)
        rsps.add_callback("GET", re.compile(rf"{BASE}/cgi-bin/user/get\b.*"), callback=self._list)
        rsps.add_callback("POST", re.compile(rf"{BASE}/cgi-bin/user/info/batchget\b.*"), callback=self._info)

    @property
    def records(self) -> dict[str, dict[str, dict]]:
        return {"followers": {f["openid"]: f for f in self.followers}}

    @records.setter
    def records(self, value) -> None:
        pass  # FakeApi's own store is not used: the followers list is the data

    def seed(self, stream: str, n: int) -> None:
        start = len(self.followers) + 1
        self.followers += [follower(i) for i in range(start, start + n)]

    def touch(self, stream: str, ids: list[str]) -> None:
        # unfollowed and followed again: a newer subscribe_time (the list order stays)
        later = max(f.get("subscribe_time", 0) for f in self.followers)
        for position, item in enumerate(self.followers):
            if item["openid"] in ids:
                later += 1
                self.followers[position] = {**item, "subscribe_time": later}

    @staticmethod
    def _ok(body: dict) -> tuple[int, dict, str]:
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _token(self, request):
        query = parse_qs(urlparse(request.url).query)
        if query.get("appid") != [APP_ID]:
            return self._ok({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != [SECRET]:
            return self._ok({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens_issued += 1
        token = f"TOKEN{self.tokens_issued}"
        self.valid_tokens.add(token)
        return self._ok({"access_token": token, "expires_in": 7200})

    def _scripted(self, request):
        token = parse_qs(urlparse(request.url).query).get("access_token", [""])[0]
        if self.take_429():
            return 429, {"Retry-After": "7"}, ""
        if self.script:
            return self._ok(self.script.pop(0))
        if token not in self.valid_tokens:
            return self._ok({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not "
                                                         "latest rid: 62946ac6-028ee51a-70bee675"})
        return None

    def _list(self, request):
        if (scripted := self._scripted(request)) is not None:
            return scripted
        self.pages_served += 1
        self.data_calls += 1
        after = parse_qs(urlparse(request.url).query).get("next_openid", [""])[0]
        ids = [f["openid"] for f in self.followers]
        start = ids.index(after) + 1 if after else 0
        page = ids[start:start + self.page_size]
        if not page:
            return self._ok({"total": len(ids), "count": 0, "next_openid": ""})
        return self._ok({"total": len(ids), "count": len(page), "data": {"openid": page}, "next_openid": page[-1]})

    def _info(self, request):
        if (scripted := self._scripted(request)) is not None:
            return scripted
        wanted = [u["openid"] for u in json.loads(request.body)["user_list"]]
        self.batch_sizes.append(len(wanted))
        self.data_calls += 1
        if len(wanted) > 100:
            return self._ok({"errcode": 45008, "errmsg": "list too long"})
        by_id = {f["openid"]: f for f in self.followers}
        infos = [by_id.get(o, {"subscribe": 0, "openid": o}) for o in wanted]
        # legacy fields an old mock might still carry never reach a record
        return self._ok({"user_info_list": [{**i, "nickname": "x", "headimgurl": "http://x"} for i in infos]})


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(wechat_api, "LIST_PAGE_SIZE", 3)
    forget_tokens()
    yield
    forget_tokens()


class TestWeChatConformance(SourceConformance):
    connector = WECHAT_SOURCE
    streams = {"followers": "wechat_followers"}
    secret_fields = ("app_secret",)
    primary_key = "openid"

    def make_api(self):
        return FakeWeChat()

    def make_config(self, api):
        return CONFIG

    def bad_config(self, api):
        return {**CONFIG, "app_secret": "wrong-secret-value"}

    def expects_consents(self, stream: str) -> bool:
        return False


# --- helpers --------------------------------------------------------------------------------------


def read(api: FakeWeChat, state: dict | None = None, config: dict | None = None,
         sync_mode: str = "incremental") -> list:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        return list(WECHAT_SOURCE.read(config or CONFIG, [StreamSelection("followers", sync_mode)], state or {}))


def records(messages: list) -> list[dict]:
    return [m.data for m in messages if isinstance(m, Record)]


def last_state(messages: list) -> dict:
    return {"followers": [m for m in messages if isinstance(m, State)][-1].message}


@pytest.fixture
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    return waited


# --- quirks ---------------------------------------------------------------------------------------


def test_the_plugin_registers_the_wechat_source():
    assert plugins.source("wechat") is WECHAT_SOURCE
    assert "connectors.wechat" in plugins.DEFAULT_PLUGINS


def test_pages_continue_while_full_with_the_real_page_size(monkeypatch, sleeps):
    monkeypatch.setattr(wechat_api, "LIST_PAGE_SIZE", 10_000)
    api = FakeWeChat([follower(n) for n in range(1, 10_004)], page_size=10_000)
    got = records(read(api, config={**CONFIG, "batch_size": 100}))
    assert len(got) == 10_003
    assert api.pages_served == 2  # 10,000 then 3: a short page is the last
    assert max(api.batch_sizes) == 100 and sum(api.batch_sizes) == 10_003


def test_an_exactly_full_last_page_ends_on_the_empty_page_after_it(sleeps):
    api = FakeWeChat([follower(n) for n in range(1, 7)], page_size=3)  # pages of 3, 3, then count 0
    assert len(records(read(api))) == 6
    assert api.pages_served == 3


def test_batches_hold_at_most_100_openids(monkeypatch, sleeps):
    monkeypatch.setattr(wechat_api, "LIST_PAGE_SIZE", 10_000)
    api = FakeWeChat([follower(n) for n in range(1, 251)], page_size=10_000)
    read(api, config={**CONFIG, "batch_size": 100})
    assert api.batch_sizes == [100, 100, 50]


def test_records_carry_no_nickname_or_avatar_and_unionid_only_when_bound(sleeps):
    got = records(read(FakeWeChat([follower(1), follower(2)])))
    assert all("nickname" not in r and "headimgurl" not in r for r in got)
    assert [("unionid" in r) for r in got] == [True, False]
    assert got[0]["tagid_list"] == [128, 2] and got[0]["subscribe_time"] == 1700000001


def test_the_token_is_cached_across_reads(sleeps):
    api = FakeWeChat([follower(n) for n in range(1, 5)])
    read(api)
    read(api)
    assert api.tokens_issued == 1


def test_check_with_a_wrong_secret_is_not_fooled_by_the_cached_token(sleeps):
    api = FakeWeChat([follower(1)])
    read(api)  # caches a token for the right secret
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        result = WECHAT_SOURCE.check({**CONFIG, "app_secret": "rotated-or-wrong"})
    assert not result.ok and "app_secret (errcode 40125)" in result.message


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_a_stale_token_is_refreshed_and_the_call_repeated_once(errcode, sleeps):
    api = FakeWeChat([follower(n) for n in range(1, 5)])
    api.script.append({"errcode": errcode, "errmsg": "access_token expired"})
    got = records(read(api))
    assert len(got) == 4
    assert api.tokens_issued == 2


def test_a_token_refused_twice_is_a_clear_failure(sleeps):
    api = FakeWeChat([follower(n) for n in range(1, 5)])
    api.script += [{"errcode": 40001, "errmsg": "x"}, {"errcode": 40001, "errmsg": "x"}]
    messages = read(api)
    failure = [m for m in messages if isinstance(m, StreamFailure)][0]
    assert failure.message == "WeChat: the access token was refused right after a refresh; check the credentials"
    assert api.tokens_issued == 2  # refreshed once, not in a loop


def test_system_busy_is_retried_with_backoff(sleeps):
    api = FakeWeChat([follower(n) for n in range(1, 5)])
    api.script += [{"errcode": -1, "errmsg": "system error"}] * 2
    assert len(records(read(api))) == 4
    assert len(sleeps) == 2


def test_the_daily_quota_ends_the_run_partial_and_the_next_run_resumes(sleeps):
    everyone = [follower(n) for n in range(1, 9)]
    first_api = FakeWeChat(everyone)
    calls = {"n": 0}
    original = first_api._info

    def quota_after_two_batches(request):
        calls["n"] += 1
        if calls["n"] == 3:
            return first_api._ok({"errcode": 45009, "errmsg": "reach max api daily quota limit"})
        return original(request)

    first_api._info = quota_after_two_batches
    messages = read(first_api)
    first = records(messages)
    failure = [m for m in messages if isinstance(m, StreamFailure)]
    # pages of 3, batches of 2: [1,2] [3], then [4,5] hits the quota
    assert [r["openid"] for r in first] == [f["openid"] for f in everyone[:3]]
    assert len(failure) == 1 and "daily API quota is used up (errcode 45009)" in failure[0].message
    assert failure[0].failure_type == "transient_error"
    assert sleeps == []  # never slept until the quota resets
    rest = records(read(FakeWeChat(everyone), last_state(messages)))
    assert [r["openid"] for r in rest] == [f["openid"] for f in everyone[3:]]


def test_incremental_runs_emit_only_new_and_returning_followers(sleeps):
    everyone = [follower(n) for n in range(1, 6)]
    state = last_state(read(FakeWeChat(everyone)))
    assert state["followers"]["stream"]["stream_state"]["subscribe_time"] == 1700000005
    returning = {**follower(2), "subscribe_time": 1700000100}  # unfollowed, then followed again
    later = [everyone[0], returning, *everyone[2:], follower(6)]
    again = records(read(FakeWeChat(later), state))
    assert [r["openid"] for r in again] == ["oOPENID00002", "oOPENID00006"]


def test_a_follower_at_the_saved_second_is_not_lost(sleeps):
    everyone = [follower(n) for n in range(1, 4)]
    state = last_state(read(FakeWeChat(everyone)))
    same_second = {**follower(9), "subscribe_time": 1700000003}
    again = records(read(FakeWeChat([*everyone, same_second]), state))
    assert [r["openid"] for r in again] == ["oOPENID00009"]


def test_full_refresh_reads_everyone_again(sleeps):
    everyone = [follower(n) for n in range(1, 5)]
    state = last_state(read(FakeWeChat(everyone)))
    assert len(records(read(FakeWeChat(everyone), state, sync_mode="full_refresh"))) == 4


def test_check_explains_an_ip_that_is_not_allow_listed():
    api = FakeWeChat([])
    api._token = lambda request: api._ok({"errcode": 40164, "errmsg": "invalid ip 203.0.113.9, not in whitelist"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        result = WECHAT_SOURCE.check(CONFIG)
    assert not result.ok
    assert result.message.startswith("WeChat refused this server's IP address (errcode 40164)")
    assert "IP白名单" in result.message and "203.0.113.9" not in result.message


def test_check_names_a_wrong_app_id():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeWeChat([]).install(rsps)
        result = WECHAT_SOURCE.check({**CONFIG, "app_id": "wx0000000000000000"})
    assert not result.ok and "unknown" not in result.message
    assert "app_id (errcode 40013)" in result.message


def test_check_explains_a_missing_permission():
    api = FakeWeChat([])
    api.script.append({"errcode": 48001, "errmsg": "api unauthorized"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        result = WECHAT_SOURCE.check(CONFIG)
    assert not result.ok and "errcode 48001" in result.message and "认证" in result.message


def test_the_secret_never_reaches_a_message(sleeps):
    api = FakeWeChat([follower(1)])
    api.script += [{"errcode": 40164, "errmsg": "x"}]
    messages = read(api)
    assert all(SECRET not in getattr(m, "message", "") for m in messages if not isinstance(m, State))
    assert WECHAT_SOURCE.spec()["properties"]["app_secret"]["airbyte_secret"] is True


def test_the_example_config_api_connections_check_names_missing_credentials(tmp_path, capsys, monkeypatch):
    from tests.helpers import copy_example, run_cli

    config = copy_example(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    variables = ("WECHAT_APP_SECRET", "EVENTBRITE_TOKEN", "TYPEFORM_TOKEN", "JOTFORM_API_KEY")
    for name in variables:
        monkeypatch.delenv(name, raising=False)
    names = ["wechat_followers_api", "expo_eventbrite", "typeform_responses", "jotform_submissions"]
    assert run_cli("--config", str(config), "check") == 0  # disabled until their secrets are set
    out = capsys.readouterr().out
    assert all(f"disabled; missing credentials: {v} (environment variable)" in out for v in variables)
    assert run_cli("--config", str(config), "check", *names) == 1  # named: a failure
    out = capsys.readouterr().out
    assert all(f"missing credentials: {v} (environment variable)" in out for v in variables)


def test_custhub_run_stops_at_the_daily_quota_and_the_next_run_stores_the_rest(tmp_path, monkeypatch, sleeps):
    import yaml

    from tests.helpers import copy_example, run_cli, table_rows

    monkeypatch.setenv("WECHAT_APP_SECRET", SECRET)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    data = yaml.safe_load(config.read_text("utf-8"))
    data["connections"] = {"followers": {
        "source": "wechat", "config": {"app_id": APP_ID, "app_secret": {"$env": "WECHAT_APP_SECRET"}, "batch_size": 2},
        "streams": {"followers": {"mapping": "wechat_followers"}}}}
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    everyone = [follower(n) for n in range(1, 9)]
    api = FakeWeChat(everyone)
    info, calls = api._info, []

    def quota_on_the_third_batch(request):
        calls.append(1)
        if len(calls) == 3:
            return api._ok({"errcode": 45009, "errmsg": "reach max api daily quota limit"})
        return info(request)

    api._info = quota_on_the_third_batch
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        run_cli("--config", str(config), "run", "followers")
        run_cli("--config", str(config), "run", "followers")  # the next day
    runs = table_rows(url, "SELECT status, records_read, error FROM runs WHERE kind = 'ingest' ORDER BY id")
    assert runs[0][0] != "succeeded" and "errcode 45009" in runs[0][2] and runs[0][1] == 3
    assert runs[1][:2] == ("succeeded", 5)
    stored = table_rows(url, "SELECT source_pk FROM source_records ORDER BY source_pk")
    assert [pk for (pk,) in stored] == [f["openid"] for f in everyone]
    assert sleeps == []
