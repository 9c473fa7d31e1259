"""纷享销客 FxiaoKe destination: query then create/update, token refresh on 20016, unknown outcomes, quotas."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from connectors.destinations.fxiaoke import FxiaoKeWriter
from hub.sync.destination import OutRow
from hub.sync.errors import RateLimited, UnknownOutcome
from hub.sync.retry import RetryPolicy

BASE = "https://open.fxiaoke.com"
TOKEN, QUERY = f"{BASE}/cgi/corpAccessToken/get/V2", f"{BASE}/cgi/crm/v2/data/query"
CREATE, UPDATE = f"{BASE}/cgi/crm/v2/data/create", f"{BASE}/cgi/crm/v2/data/update"
CONFIG = {"app_id": "FSAID_1", "app_secret": "sec", "permanent_code": "perm", "current_open_user_id": "FSUID_1"}


class FakeFxiaoKe:
    """A stateful FxiaoKe gateway: records keyed by custhub_id__c; can drop the answer of one create."""

    def __init__(self):
        self.records, self.creates, self.drop_next_create_answer = {}, 0, False
        self.token_calls, self.expire_token_once = 0, False

    def install(self):
        responses.add_callback(responses.POST, TOKEN, callback=self.token)
        responses.add_callback(responses.POST, QUERY, callback=self.query)
        responses.add_callback(responses.POST, CREATE, callback=self.create)
        responses.add_callback(responses.POST, UPDATE, callback=self.update)

    def token(self, request):
        self.token_calls += 1
        return 200, {}, json.dumps({"errorCode": 0, "errorMessage": "success",
                                    "corpAccessToken": f"T{self.token_calls}", "corpId": "FSCID_1", "expiresIn": 7200})

    def _auth(self, request):
        body = json.loads(request.body)
        assert "thirdTraceId=" in request.url
        if self.expire_token_once:
            self.expire_token_once = False
            return None, json.dumps({"errorCode": 20016, "errorMessage": "the cropId,cropAccessToken or "
                                     "authorization is error"})
        return body, None

    def query(self, request):
        body, error = self._auth(request)
        if error:
            return 200, {}, error
        f = body["data"]["search_query_info"]["filters"][0]
        found = [{"_id": k, "name": v["name"]} for k, v in self.records.items()
                 if v.get(f["field_name"]) == f["field_values"][0]]
        return 200, {}, json.dumps({"traceId": "E-O.1", "data": {"dataList": found, "offset": 0, "limit": 1,
                                    "total": 0}, "errorDescription": "success", "errorMessage": "OK", "errorCode": 0})

    def create(self, request):
        body, error = self._auth(request)
        if error:
            return 200, {}, error
        assert body["triggerWorkFlow"] is False and body["triggerApprovalFlow"] is False
        data = dict(body["data"]["object_data"])
        self.creates += 1
        rid = f"id{len(self.records) + 1}"
        self.records[rid] = data
        if self.drop_next_create_answer:
            self.drop_next_create_answer = False
            raise requests.ConnectionError("reset after the create was applied")
        return 200, {}, json.dumps({"traceId": "E-O.2", "dataId": rid, "errorCode": 0, "errorMessage": "OK"})

    def update(self, request):
        body, error = self._auth(request)
        if error:
            return 200, {}, error
        data = body["data"]["object_data"]
        self.records[data["_id"]].update(data)
        return 200, {}, json.dumps({"errorCode": 0, "errorMessage": "OK"})


def row(i, name="A", external_id=None):
    pid = f"crm:contacts:p{i}"
    return OutRow(i, pid, "upsert", {"custhub_id__c": pid, "name": name}, external_id)


@responses.activate
def test_queries_then_creates_and_then_updates_the_found_record():
    fake = FakeFxiaoKe()
    fake.install()
    writer = FxiaoKeWriter(CONFIG, "custhub_id__c")
    assert writer.write([row(1)])[0].external_id == "id1"
    assert writer.write([row(1, "B")])[0].external_id == "id1"
    assert fake.creates == 1 and fake.records["id1"]["name"] == "B"
    body = json.loads(responses.calls[1].request.body)
    assert body["corpAccessToken"] == "T1" and body["currentOpenUserId"] == "FSUID_1"
    assert body["data"]["search_query_info"]["filters"] == [
        {"field_name": "custhub_id__c", "field_values": ["crm:contacts:p1"], "operator": "EQ"}]


@responses.activate
def test_after_an_unknown_outcome_it_searches_before_creating_again():
    fake = FakeFxiaoKe()
    fake.install()
    fake.drop_next_create_answer = True
    writer = FxiaoKeWriter(CONFIG, "custhub_id__c")
    results = RetryPolicy(sleep=lambda s: None).call(writer.write, [row(1)])
    assert results[0].external_id == "id1"
    assert fake.creates == 1 and len(fake.records) == 1


@responses.activate
def test_unknown_outcome_is_retriable():
    fake = FakeFxiaoKe()
    fake.install()
    fake.drop_next_create_answer = True
    with pytest.raises(UnknownOutcome):
        FxiaoKeWriter(CONFIG, "custhub_id__c").write([row(1)])


@responses.activate
def test_an_invalid_token_20016_is_refreshed_once():
    fake = FakeFxiaoKe()
    fake.install()
    writer = FxiaoKeWriter(CONFIG, "custhub_id__c")
    writer.write([row(1)])
    fake.expire_token_once = True
    assert writer.write([row(1, "C")])[0].status == "synced"
    assert fake.token_calls == 2


@responses.activate
def test_daily_quota_30002_is_a_daily_rate_limit_and_a_row_error_is_a_rejection():
    responses.post(TOKEN, json={"errorCode": 0, "corpAccessToken": "T", "corpId": "C", "expiresIn": 7200})
    responses.post(QUERY, json={"errorCode": 30002, "errorMessage": "quota"})
    with pytest.raises(RateLimited) as info:
        FxiaoKeWriter(CONFIG, "custhub_id__c").write([row(1)])
    assert info.value.scope == "daily" and info.value.retry_after > 0
    responses.replace(responses.POST, QUERY, json={"errorCode": 0, "data": {"dataList": []}})
    responses.post(CREATE, json={"errorCode": 10005, "errorMessage": "字段校验失败"})
    result = FxiaoKeWriter(CONFIG, "custhub_id__c").write([row(2)])[0]
    assert (result.status, result.code) == ("rejected", "10005")
