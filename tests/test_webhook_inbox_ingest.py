"""Webhook events flow through the inbox source into source_records with `custhub run`: mapped,
cleaned, each stored once; Facebook leads fetched by id from the Graph API (mocked with
``responses``), Chinese names included; state resumes after the last inbox id."""

from __future__ import annotations

import json

import pytest
import responses
import yaml
from starlette.testclient import TestClient

from hub.config import load_config
from hub.server import build_app, server_settings
from hub.store import Store
from hub.store.records import open_canonical
from tests.helpers import run_cli, table_rows
from tests.webhook_support import (
    SECRETS,
    facebook_body,
    facebook_headers,
    generic_body,
    generic_headers,
    jotform_multipart,
    typeform_body,
    typeform_headers,
    wechat_post,
    write_config,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
GRAPH = "https://graph.test/v21.0"


def lead(leadgen_id: str, full_name: str, phone: str, email: str) -> dict:
    return {"id": leadgen_id, "created_time": "2024-05-02T08:49:14+0000", "ad_id": "777", "form_id": "555",
            "field_data": [{"name": "full_name", "values": [full_name]}, {"name": "email", "values": [email]},
                           {"name": "phone_number", "values": [phone]}, {"name": "city", "values": ["深圳"]},
                           {"name": "company_name", "values": ["示例科技"]}]}


@pytest.fixture
def setup(monkeypatch, tmp_path, store_url):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = write_config(tmp_path, store_url, graph_url=GRAPH)
    config = load_config(path)
    store = Store.open(config.store_url)
    with TestClient(build_app(server_settings(config), store)) as client:
        yield client, path, store_url
    store.close()


def post_all(client: TestClient, suffix: str = "") -> None:
    for n in ("1", "2"):
        body = typeform_body(f"tf-{n}{suffix}", email=f"laura{n}{suffix}@example.com")
        assert client.post("/hooks/typeform/survey", content=body, headers=typeform_headers(body)).status_code == 200
    fb = facebook_body(f"4440{suffix or 0}", f"5550{suffix or 0}")
    assert client.post("/hooks/facebook/leads", content=fb, headers=facebook_headers(fb)).status_code == 200
    body, content_type = jotform_multipart(f"2379{suffix or 0}")
    assert client.post(f"/hooks/jotform/expo/{SECRETS['JOTFORM_TOKEN']}", content=body,
                       headers={"Content-Type": content_type}).status_code == 200
    gen = generic_body(f"g-1{suffix}")
    assert client.post("/hooks/generic/contact", content=gen, headers=generic_headers(gen)).status_code == 200
    wx, query = wechat_post({"submission_id": f"w-1{suffix}", "name": "李雷", "phone": "13900139000"})
    assert client.post("/hooks/wechat/h5", params=query, content=wx).status_code == 200


def canonical(store_url: str, stream: str) -> list[dict]:
    rows = table_rows(store_url, "SELECT connection, stream, source_pk, canonical FROM source_records ORDER BY id")
    return [open_canonical(c, name, pk, record) for c, name, pk, record in rows if name == stream]


def last_ingest_read(store_url: str) -> int:
    return table_rows(store_url, "SELECT records_read FROM runs WHERE kind = 'ingest' ORDER BY id DESC LIMIT 1")[0][0]


@responses.activate
def test_inbox_ingested_end_to_end(setup):
    client, config, store_url = setup
    post_all(client)
    responses.get(f"{GRAPH}/44400", json=lead("44400", "欧阳娜娜", "13800138000", "nana@example.com"))
    responses.get(f"{GRAPH}/55500", status=400, json={"error": {
        "message": "Unsupported get request. Object with ID '55500' does not exist", "type": "GraphMethodException",
        "code": 100, "error_subcode": 33, "fbtrace_id": "AbC"}})

    assert run_cli("--config", str(config), "run", "webhooks") == 0

    stored = table_rows(store_url, "SELECT stream, source_pk FROM source_records ORDER BY stream, source_pk")
    assert stored == [("facebook.leads", "44400"), ("generic.contact", "contact:g-1"), ("jotform.expo", "23790"),
                      ("typeform.survey", "tf-1"), ("typeform.survey", "tf-2"), ("wechat.h5", "h5:w-1")]
    (fb,) = canonical(store_url, "facebook.leads")
    assert fb["person"]["name"]["family"] == "欧阳" and fb["person"]["name"]["given"] == "娜娜"
    assert fb["person"]["phones"][0]["number"] == "+8613800138000"
    assert fb["person"]["platform_ids"]["facebook_page_id"] == "123123123"
    assert fb["interactions"][0]["at"].startswith("2024-05-02T08:49:14")
    typeform = canonical(store_url, "typeform.survey")
    assert [t["person"]["emails"][0]["address"] for t in typeform] == ["laura1@example.com", "laura2@example.com"]
    assert typeform[0]["consents"][0]["status"] == "granted"
    assert typeform[0]["interactions"][0]["name"] == "Spring survey"
    (jot,) = canonical(store_url, "jotform.expo")
    assert jot["person"]["name"]["full"] == "John Doe" and jot["person"]["emails"][0]["address"] == "john@example.com"
    (gen,) = canonical(store_url, "generic.contact")
    assert gen["person"]["name"]["family"] == "王" and gen["consents"][0]["status"] == "granted"
    (wx,) = canonical(store_url, "wechat.h5")
    assert wx["person"]["name"]["full"] == "李雷"

    quarantined = table_rows(store_url, "SELECT stream, source_pk, reasons FROM quarantine")
    assert [(s, pk) for s, pk, _ in quarantined] == [("facebook.leads", "55500")]
    assert "Graph API" in quarantined[0][2] and "55500" not in quarantined[0][2]

    states = dict(table_rows(store_url, "SELECT stream, state FROM stream_state"))
    assert json.loads(states["typeform.survey"])["stream"]["stream_state"]["last_id"] > 0

    # A second run reads nothing; new events (and a replayed one) are read once.
    assert run_cli("--config", str(config), "run", "webhooks") == 0
    assert last_ingest_read(store_url) == 0
    post_all(client, suffix="9")
    replay = typeform_body("tf-1", email="laura1@example.com")
    assert client.post("/hooks/typeform/survey", content=replay, headers=typeform_headers(replay)).json()["new"] == 0
    responses.get(f"{GRAPH}/44409", json=lead("44409", "张伟", "13800138001", "zw@example.com"))
    responses.get(f"{GRAPH}/55509", json=lead("55509", "Joe Example", "+16502530001", "joe@example.com"))
    assert run_cli("--config", str(config), "run", "webhooks") == 0
    assert last_ingest_read(store_url) == 7
    counts = dict(table_rows(store_url, "SELECT stream, count(*) FROM source_records GROUP BY stream"))
    assert counts == {"facebook.leads": 3, "generic.contact": 2, "jotform.expo": 2, "typeform.survey": 4,
                      "wechat.h5": 2}
    assert table_rows(store_url, "SELECT count(*) FROM source_records") == \
        table_rows(store_url, "SELECT count(DISTINCT stream || source_pk) FROM source_records")


@responses.activate
def test_graph_outage_fails_the_stream_and_the_next_run_resumes(setup):
    client, config, store_url = setup
    post_all(client)
    responses.get(f"{GRAPH}/44400", status=500, json={"error": {"message": "x", "code": 2}})
    assert run_cli("--config", str(config), "run", "webhooks") == 3  # partial: the facebook stream failed
    assert table_rows(store_url, "SELECT count(*) FROM source_records WHERE stream = 'facebook.leads'") == [(0,)]
    assert table_rows(store_url, "SELECT count(*) FROM stream_state WHERE stream = 'facebook.leads'") == [(0,)]
    assert table_rows(store_url, "SELECT count(*) FROM source_records WHERE stream <> 'facebook.leads'") == [(5,)]

    responses.replace(responses.GET, f"{GRAPH}/44400", json=lead("44400", "张伟", "13800138000", "zw@example.com"))
    responses.get(f"{GRAPH}/55500", json=lead("55500", "李娜", "13800138002", "ln@example.com"))
    assert run_cli("--config", str(config), "run", "webhooks") == 0
    assert table_rows(store_url, "SELECT source_pk FROM source_records WHERE stream = 'facebook.leads' "
                                 "ORDER BY source_pk") == [("44400",), ("55500",)]
    token_in_url = [call.request.url for call in responses.calls if SECRETS["FB_PAGE_TOKEN"] in call.request.url]
    assert len(token_in_url) == len(responses.calls)  # the token goes as a parameter ...
    errors = table_rows(store_url, "SELECT coalesce(error, '') FROM runs") + \
        table_rows(store_url, "SELECT coalesce(error, '') FROM run_streams")
    assert all(SECRETS["FB_PAGE_TOKEN"] not in e for (e,) in errors)  # ... and never into a message


def test_missing_facebook_token_is_a_clear_stream_failure(monkeypatch, tmp_path):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    path = write_config(tmp_path, store_url)
    data = yaml.safe_load(path.read_text("utf-8"))
    del data["connections"]["webhooks"]["config"]["facebook"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    config = load_config(path)
    store = Store.open(store_url)
    with TestClient(build_app(server_settings(config), store)) as client:
        fb = facebook_body("1")
        assert client.post("/hooks/facebook/leads", content=fb, headers=facebook_headers(fb)).status_code == 200
    store.close()
    assert run_cli("--config", str(path), "run", "webhooks") == 3  # partial: the other streams ran
    (error,) = table_rows(store_url, "SELECT error FROM run_streams WHERE stream = 'facebook.leads'")[0]
    assert "facebook.access_token" in error
