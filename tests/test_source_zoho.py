"""The Zoho CRM source: the conformance suite, plus a test for each Zoho quirk.

The fake speaks Zoho's shapes (``reference/api-shapes-and-reverse-etl.md`` B.1): the token
endpoint's HTTP 200 error body, ``Zoho-oauthtoken``, the required ``fields``, ``page`` refused past
2,000 records, ``page_token``, ``If-Modified-Since`` (inclusive), 204 on empty, 429 bodies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connectors.zoho import ZOHO_SOURCE
from hub.protocol import Record, State
from hub.sources.conformance import FakeApi, SourceConformance, failures, read, record_ids

ACCOUNTS = "https://accounts.zoho.com"
API = "https://www.zohoapis.com"
MODULES = {"leads": "Leads", "contacts": "Contacts"}
NAMES = [("Wei", "Zhang", "张伟"), ("Ada", "Lovelace", None), ("Na", "Li", "李娜"), ("Brian", "Halligan", None)]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


class FakeZoho(FakeApi):
    def __init__(self, accounts: str = ACCOUNTS, api: str = API) -> None:
        super().__init__()
        self.accounts, self.api = accounts, api
        self.refresh_token = "1000.good-refresh"
        self.tokens: list[str] = []
        self.expire_next = False
        self.requests: list[dict] = []

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.POST, f"{self.accounts}/oauth/v2/token", callback=self.token)
        for stream, module in MODULES.items():
            rsps.add_callback(responses.GET, f"{self.api}/crm/v8/{module}",
                              callback=lambda request, stream=stream: self.list(request, stream))

    def token(self, request):
        query = parse_qs(urlparse(request.url).query)
        if query.get("refresh_token") != [self.refresh_token] or query.get("grant_type") != ["refresh_token"]:
            return 200, {}, json.dumps({"error": "invalid_code"})
        self.tokens.append(f"1000.access{len(self.tokens)}")
        return 200, {}, json.dumps({"access_token": self.tokens[-1], "api_domain": self.api,
                                    "token_type": "Bearer", "expires_in": 3600})

    def list(self, request, stream):
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.requests.append({"query": query, "headers": dict(request.headers)})
        auth = request.headers.get("Authorization", "")
        if not self.tokens or auth != f"Zoho-oauthtoken {self.tokens[-1]}" or self.expire_next:
            self.expire_next = False
            return 401, {}, json.dumps({"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
                                        "status": "error"})
        if "fields" not in query:
            return 400, {}, json.dumps({"code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "fields"},
                                        "message": "One of the expected parameter is missing", "status": "error"})
        if self.take_429():
            return 429, {"Retry-After": "2"}, json.dumps({
                "code": "TOO_MANY_REQUESTS", "message": "Rate limit exceeded. Please retry after the specified time.",
                "status": "error", "details": {"retry_after": 2, "limit": 100, "window": 60}})
        per_page = int(query.get("per_page", 200))
        if "page" in query and int(query["page"]) * per_page > 2000:
            return 400, {}, json.dumps({"code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED", "status": "error",
                                        "message": "You can only get the first 2000 records without using "
                                                   "page_token param", "details": {"limit": 2000}})
        rows = sorted(self.records[stream].values(), key=lambda r: (r["Modified_Time"], r["id"]))
        since = request.headers.get("If-Modified-Since")
        if since:
            rows = [r for r in rows if datetime.fromisoformat(r["Modified_Time"]) >= datetime.fromisoformat(since)]
        start = int(query["page_token"][3:]) if "page_token" in query else (int(query.get("page", 1)) - 1) * per_page
        page = rows[start:start + per_page]
        if not page:
            return 204, {}, ""
        self.data_calls += 1
        fields = query["fields"].split(",")
        more = start + per_page < len(rows)
        info = {"call": False, "per_page": per_page, "count": len(page), "sort_by": "Modified_Time",
                "page": start // per_page + 1, "sort_order": "asc", "email": False, "more_records": more,
                "next_page_token": f"tok{start + per_page}" if more else None, "previous_page_token": None,
                "page_token_expiry": "2026-11-24T15:08:14+05:30"}
        data = [{k: v for k, v in row.items() if k in fields} for row in page]
        return 200, {}, json.dumps({"data": data, "info": info})

    def make_record(self, stream: str, i: int) -> dict:
        given, family, chinese = NAMES[i % len(NAMES)]
        record = {"id": str(4150868000000002000 + i),
                  "Owner": {"name": "Patricia Boyle", "id": "4150868000000225013"},
                  "First_Name": given, "Last_Name": family, "Full_Name": chinese or f"{given} {family}",
                  "Email": f"user{i}@zylker.com", "Phone": f"+86 755 8888 {i % 10000:04d}",
                  "Mobile": f"138{i:08d}" if i % 3 else None,
                  "Email_Opt_Out": i % 2 == 0, "Lead_Source": "Trade Show",
                  "Created_Time": "2023-10-15T10:30:00+00:00", "Modified_Time": iso(self.tick())}
        if stream == "leads":
            record.update(Company="Zylker Corp", Designation="CTO", Lead_Status="Not Contacted", City="Shenzhen",
                          Country="China")
        else:
            record.update(Account_Name={"name": "Zylker Corp", "id": "4150868000000224005"}, Title="Buyer",
                          Department="Purchasing", Mailing_City="Berlin", Mailing_Country="Germany",
                          Date_of_Birth="1990-02-01")
        return record

    def seed(self, stream: str, n: int) -> None:
        table = self.records.setdefault(stream, {})
        for i in range(len(table), len(table) + n):
            record = self.make_record(stream, i)
            table[record["id"]] = record

    def touch(self, stream: str, ids) -> None:
        for record_id in ids:
            self.records[stream][record_id]["Modified_Time"] = iso(self.tick())


def config_for(api: FakeZoho, **extra) -> dict:
    return {"client_id": "1000.CLIENT", "client_secret": "s3cret-client", "refresh_token": api.refresh_token,
            "page_size": 3, "checkpoint_every": 2, **extra}


class TestZohoConformance(SourceConformance):
    connector = ZOHO_SOURCE
    streams = {"leads": "zoho_leads", "contacts": "zoho_contacts"}
    secret_fields = ("client_secret", "refresh_token")
    crm_system = "zoho"

    def make_api(self):
        return FakeZoho()

    def make_config(self, api):
        return config_for(api)

    def bad_config(self, api):
        return {**config_for(api), "refresh_token": "1000.revoked-token"}


# --- Zoho quirks -----------------------------------------------------------------------------------


@pytest.fixture
def zoho(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("hub.sources.http.time.sleep", slept.append)
    api = FakeZoho()
    api.slept = slept
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        yield api


def test_bad_refresh_token_answered_with_http_200_fails_check_clearly(zoho):
    result = ZOHO_SOURCE.check({**config_for(zoho), "refresh_token": "1000.revoked"})
    assert not result.ok
    assert result.message.startswith("Zoho CRM: token refresh refused (invalid_code): the refresh token is invalid")
    assert "1000.revoked" not in result.message and "s3cret" not in result.message


def test_calls_carry_zoho_oauthtoken_and_refresh_once_on_invalid_token(zoho):
    zoho.seed("leads", 2)
    first = read(ZOHO_SOURCE, config_for(zoho), "leads")
    zoho.expire_next = True  # the cached token expires between two calls of the next run
    messages = read(ZOHO_SOURCE, config_for(zoho), "leads")
    assert record_ids(first) == record_ids(messages) and not failures(messages)
    assert all(r["headers"]["Authorization"].startswith("Zoho-oauthtoken ") for r in zoho.requests)
    assert len(zoho.tokens) == 3  # one per run, plus one refresh after INVALID_TOKEN


def test_page_token_paging_reads_past_2000_records(zoho):
    zoho.seed("leads", 2005)
    messages = read(ZOHO_SOURCE, {**config_for(zoho), "page_size": 200, "checkpoint_every": 1000}, "leads")
    assert not failures(messages), failures(messages)
    assert len(set(record_ids(messages))) == 2005
    assert all("page" not in r["query"] for r in zoho.requests)
    assert zoho.requests[-1]["query"]["page_token"] == "tok2000"


def test_empty_module_is_204_and_reads_nothing(zoho):
    zoho.records["leads"] = {}
    messages = read(ZOHO_SOURCE, config_for(zoho), "leads")
    assert not failures(messages) and record_ids(messages) == []
    assert [m for m in messages if isinstance(m, State)][-1].message["stream"]["stream_state"] == {}


def test_incremental_sends_if_modified_since_one_second_after_the_cursor(zoho):
    zoho.seed("leads", 3)
    final = [m for m in read(ZOHO_SOURCE, config_for(zoho), "leads") if isinstance(m, State)][-1]
    cursor = final.message["stream"]["stream_state"]["cursor"]
    assert cursor == max(r["Modified_Time"] for r in zoho.records["leads"].values())
    read(ZOHO_SOURCE, config_for(zoho), "leads", {"leads": final.message})
    sent = datetime.fromisoformat(zoho.requests[-1]["headers"]["If-Modified-Since"])
    assert (sent - datetime.fromisoformat(cursor)).total_seconds() == 1


def test_fields_parameter_is_always_sent_with_id_and_modified_time(zoho):
    zoho.seed("contacts", 1)
    messages = read(ZOHO_SOURCE, {**config_for(zoho), "fields": {"contacts": ["Email"]}}, "contacts")
    assert [m.data for m in messages if isinstance(m, Record)][0].keys() == {"id", "Modified_Time", "Email"}
    assert zoho.requests[-1]["query"]["fields"] == "id,Modified_Time,Email"


@pytest.mark.parametrize(("data_center", "accounts"), [
    ("eu", "https://accounts.zoho.eu"), ("com.cn", "https://accounts.zoho.com.cn"),
    ("ca", "https://accounts.zohocloud.ca")])
def test_data_centre_picks_accounts_server_and_api_domain_comes_from_the_token(monkeypatch, data_center, accounts):
    api_domain = "https://www.zohoapis." + ("ca" if data_center == "ca" else data_center)
    api = FakeZoho(accounts=accounts, api=api_domain)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        api.seed("leads", 2)
        api.seed("contacts", 1)
        assert ZOHO_SOURCE.check(config_for(api, data_center=data_center)).ok
        assert len(record_ids(read(ZOHO_SOURCE, config_for(api, data_center=data_center), "leads"))) == 2


def test_missing_scope_is_a_clear_check_failure(zoho):
    zoho.seed("leads", 1)
    zoho.seed("contacts", 1)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, f"{ACCOUNTS}/oauth/v2/token", callback=zoho.token)
        rsps.add(responses.GET, f"{API}/crm/v8/Leads", status=401, json={
            "code": "OAUTH_SCOPE_MISMATCH", "message": "Unauthorized", "status": "error", "details": {}})
        result = ZOHO_SOURCE.check(config_for(zoho))
    assert not result.ok and "OAUTH_SCOPE_MISMATCH" in result.message and "ZohoCRM.modules" in result.message


def test_retry_after_from_the_429_is_honoured(zoho):
    zoho.seed("leads", 2)
    zoho.rate_limit_next(2)
    assert len(record_ids(read(ZOHO_SOURCE, config_for(zoho), "leads"))) == 2
    assert zoho.slept == [2.0, 2.0]
