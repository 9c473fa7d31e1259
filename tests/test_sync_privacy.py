"""Sync messages, logs and per-row reports carry codes and field names, never customer values (T27)."""

from __future__ import annotations

import json
import logging

import responses

from hub.sync import sync_destination
from hub.sync.retry import RetryPolicy
from hub.sync.testing import person, seed_profiles
from tests.helpers import copy_example, run_cli, table_rows
from tests.sync_support import make_config, open_store

SENTINELS = ("p0@example.com", "p1@example.com", "Person 0", "+8613800000000", "Family1")


@responses.activate
def test_no_customer_value_reaches_logs_or_row_reports(tmp_path, store_url, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    responses.post("https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert", status=429,
                   json={"status": "error", "message": "limit", "policyName": "TEN_SECONDLY_ROLLING"})

    def reply(request):
        inputs = json.loads(request.body)["inputs"]
        return 207, {}, json.dumps({"status": "COMPLETE", "numErrors": 2, "results": [], "errors": [
            {"status": "error", "category": "VALIDATION_ERROR",
             "message": f'Property values were not valid: [{{"isValid":false,"message":"{i["properties"]["email"]} '
                        f'is invalid","error":"INVALID_EMAIL","name":"email"}}]',
             "context": {"objectWriteTraceId": [i["objectWriteTraceId"]]}} for i in inputs]})

    responses.add_callback(responses.POST, "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert",
                           callback=reply)
    cfg = make_config(tmp_path, store_url, {"hs": {"connector": "hubspot", "mapping": "out_test",
                                                   "config": {"access_token": "t"}}})
    store = open_store(store_url)
    seed_profiles(store, [person(0), person(1)])
    result = sync_destination(cfg, store, "hs", policy=RetryPolicy(sleep=lambda s: None))
    assert result.delivery.rejected == 2
    assert run_cli("--config", str(cfg.file), "runs", "show", str(result.run_id)) == 0
    reports = table_rows(store_url, "SELECT code, reason FROM sync_results")
    seen = caplog.text + capsys.readouterr().out + json.dumps(reports) + (result.error or "")
    assert "INVALID_EMAIL email" in seen
    for value in SENTINELS:
        assert value not in seen


def test_the_example_config_round_trips_offline(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = copy_example(tmp_path, store_url)
    assert run_cli("--config", str(config), "run") == 0
    assert run_cli("--config", str(config), "sync") == 0
    # one contact per golden profile (custhub run resolved identities after ingest)
    stored = table_rows(store_url, "SELECT count(*) FROM identity_profiles WHERE status = 'active'")[0][0]
    lines = (tmp_path / "out" / "contacts.csv").read_text("utf-8").splitlines()
    assert len(lines) == stored + 1
    assert run_cli("--config", str(config), "sync", "contacts_file") == 0  # nothing changed, nothing rewritten
    assert table_rows(store_url, "SELECT records_unchanged FROM runs WHERE kind = 'sync' ORDER BY id DESC")[0] == (
        stored,)
