"""A CRM source through the whole ingest pipeline: a daily quota ends the run partial, the next resumes."""

from __future__ import annotations

import json

import responses
import yaml

from tests.helpers import run_cli, table_rows
from tests.test_source_zoho import FakeZoho


def test_quota_mid_stream_commits_progress_and_the_next_run_finishes_without_duplicates(tmp_path, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "s3cret-client")
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", "1000.good-refresh")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "custhub.yaml"
    config.write_text(yaml.safe_dump({"version": 1, "store": {"url": url}, "connections": {"zoho_crm": {
        "source": "zoho",
        "config": {"client_id": "1000.CLIENT", "client_secret": {"$env": "ZOHO_CLIENT_SECRET"},
                   "refresh_token": {"$env": "ZOHO_REFRESH_TOKEN"}, "page_size": 3, "checkpoint_every": 2},
        "streams": {"leads": {"mapping": "zoho_leads"}, "contacts": {"mapping": "zoho_contacts"}}}}}), "utf-8")

    api = FakeZoho()
    served = {"leads": 0}
    original = api.list

    def list_with_quota(request, stream):
        if stream == "leads" and api.quota_left is not None:
            if api.quota_left == 0:
                return 429, {"Retry-After": "7200"}, json.dumps({"code": "TOO_MANY_REQUESTS", "status": "error",
                                                                 "message": "Rate limit exceeded.", "details": {}})
            api.quota_left -= 1
        served[stream] = served.get(stream, 0) + 1
        return original(request, stream)

    api.list = list_with_quota
    api.quota_left = 2  # two pages of leads (6 records), then the day's credits are gone
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        api.install(rsps)
        api.seed("leads", 10)
        api.seed("contacts", 4)
        assert run_cli("--config", str(config), "run", "zoho_crm") == 3  # partial
        (status, error), = table_rows(url, "SELECT status, error FROM runs WHERE target = 'zoho_crm'")
        assert status == "partial" and error.startswith("leads: Zoho CRM: rate limited")
        assert "resumes next run" in error
        counts = dict(table_rows(url, "SELECT stream, count(*) FROM source_records GROUP BY 1"))
        assert counts["contacts"] == 4 and counts["leads"] == 6

        api.quota_left = None
        assert run_cli("--config", str(config), "run", "zoho_crm") == 0
    rows = table_rows(url, "SELECT stream, count(*), count(DISTINCT source_pk) FROM source_records GROUP BY 1")
    assert sorted(rows) == [("contacts", 4, 4), ("leads", 10, 10)]
    second = table_rows(url, "SELECT records_read FROM runs WHERE target = 'zoho_crm' ORDER BY id DESC LIMIT 1")
    assert second == [(4,)]  # exactly the 4 leads not read before; contacts had nothing new
