"""``custhub serve`` through the ASGI TestClient: each provider's signed posts are stored once;
bad signatures, stale timestamps, oversized and malformed bodies are refused and store nothing.
(Test matrix rows T13, T15.)"""

from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from hub.config import load_config
from hub.inbox.events import inbox_key
from hub.server import build_app, server_settings
from hub.store import Store
from hub.store.sealed import open_json
from tests.helpers import table_rows
from tests.webhook_support import (
    SECRETS,
    dumps,
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


@pytest.fixture
def env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def client(env, tmp_path, store_url):
    config = load_config(write_config(tmp_path, store_url))
    store = Store.open(config.store_url)
    with TestClient(build_app(server_settings(config), store)) as test_client:
        test_client.store_url = store_url
        yield test_client
    store.close()


def inbox(store_url: str) -> list[tuple]:
    return table_rows(store_url, "SELECT provider, form, event_id FROM webhook_inbox ORDER BY id")


def first_payload(store_url: str) -> dict:
    """The first stored payload, opened (it is sealed at rest)."""
    provider, event_id, stored = table_rows(store_url, "SELECT provider, event_id, payload FROM webhook_inbox "
                                                       "ORDER BY id")[0]
    assert stored.startswith("ch1.")
    return open_json("webhook_inbox", "payload", inbox_key(provider, event_id), stored)


def test_typeform_signed_post_is_stored_once(client):
    body = typeform_body("01DQDVZ0MS8CTJDYVP6KD57J78")
    first = client.post("/hooks/typeform/survey", content=body, headers=typeform_headers(body))
    assert first.status_code == 200 and first.json() == {"status": "stored", "events": 1, "new": 1}
    replay = client.post("/hooks/typeform/survey", content=body, headers=typeform_headers(body))
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert inbox(client.store_url) == [("typeform", "survey", "01DQDVZ0MS8CTJDYVP6KD57J78")]
    payload = first_payload(client.store_url)
    assert payload["form_response"]["answers"][1]["email"] == "laura@example.com"


def test_facebook_signed_post_stores_each_lead_once(client):
    body = facebook_body(444444444444, "555555555555")
    response = client.post("/hooks/facebook/leads", content=body, headers=facebook_headers(body))
    assert response.status_code == 200 and response.json()["new"] == 2
    again = facebook_body("444444444444")  # the same lead in another delivery
    assert client.post("/hooks/facebook/leads", content=again, headers=facebook_headers(again)).json()["new"] == 0
    assert inbox(client.store_url) == [("facebook", "leads", "444444444444"), ("facebook", "leads", "555555555555")]
    payload = first_payload(client.store_url)
    assert payload["page_id"] == "123123123"  # ids kept as text


def test_facebook_signature_over_escaped_unicode_is_accepted(client):
    """Meta signs the \\uXXXX-escaped payload; the raw body may carry the Chinese text itself."""
    raw = facebook_body("666", note="张伟")
    escaped = facebook_body("666", note="张伟").decode().replace("张伟", "\\u5f20\\u4f1f").encode()
    assert json.loads(escaped) == json.loads(raw)
    response = client.post("/hooks/facebook/leads", content=raw, headers=facebook_headers(escaped))
    assert response.status_code == 200 and response.json()["new"] == 1
    # the raw form verifies as it is too
    raw2 = facebook_body("667", note="欧阳娜娜")
    assert client.post("/hooks/facebook/leads", content=raw2, headers=facebook_headers(raw2)).status_code == 200
    # an escape in upper-case hex is not what Meta signs
    upper = facebook_body("668", note="张伟").decode().replace("张伟", "\\u5F20\\u4F1F").encode()
    raw3 = facebook_body("668", note="张伟")
    assert client.post("/hooks/facebook/leads", content=raw3, headers=facebook_headers(upper)).status_code == 401
    assert [row[2] for row in inbox(client.store_url)] == ["666", "667"]


def test_facebook_verification_handshake(client):
    ok = client.get("/hooks/facebook/leads", params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                                     "hub.verify_token": SECRETS["FB_VERIFY_TOKEN"]})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = client.get("/hooks/facebook/leads", params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                                      "hub.verify_token": "wrong"})
    assert bad.status_code == 403 and "1158201444" not in bad.text


def test_generic_signed_post_stored_once_and_keyed(client):
    body = generic_body("sub-1")
    assert client.post("/hooks/generic/contact", content=body, headers=generic_headers(body)).json()["new"] == 1
    # a retry of the same submission is signed again with a new timestamp: still one row
    retry = generic_headers(body, timestamp=int(time.time()) - 5)
    assert client.post("/hooks/generic/contact", content=body, headers=retry).json()["status"] == "duplicate"
    # urlencoded, keyed by the Idempotency-Key header
    form = b"name=Ada+Lovelace&email=ada%40example.com&consent_marketing=no"
    headers = generic_headers(form, content_type="application/x-www-form-urlencoded", key="k-77")
    assert client.post("/hooks/generic/contact", content=form, headers=headers).json()["new"] == 1
    assert inbox(client.store_url) == [("generic", "contact", "contact:sub-1"), ("generic", "contact", "contact:k-77")]


def test_generic_honeypot_is_acknowledged_and_dropped(client):
    body = generic_body("bot-1", website="http://spam.example")
    response = client.post("/hooks/generic/contact", content=body, headers=generic_headers(body))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert inbox(client.store_url) == []


def test_generic_token_form(client):
    body = b"email=a%40example.com&submission_id=n-1"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(f"/hooks/generic/newsletter/{SECRETS['GENERIC_TOKEN']}", content=body,
                       headers=headers).status_code == 200
    assert client.post("/hooks/generic/newsletter/wrongtoken", content=body, headers=headers).status_code == 403
    assert client.post("/hooks/generic/newsletter", content=body, headers=headers).status_code == 403
    assert inbox(client.store_url) == [("generic", "newsletter", "newsletter:n-1")]


def test_jotform_token_in_url_and_multipart_raw_request(client):
    body, content_type = jotform_multipart("237955080346633702")
    url = f"/hooks/jotform/expo/{SECRETS['JOTFORM_TOKEN']}"
    assert client.post(url, content=body, headers={"Content-Type": content_type}).json()["new"] == 1
    assert client.post(url, content=body, headers={"Content-Type": content_type}).json()["new"] == 0
    wrong = client.post("/hooks/jotform/expo/nottherighttoken", content=body, headers={"Content-Type": content_type})
    assert wrong.status_code == 403
    payload = first_payload(client.store_url)
    assert payload["rawRequest"]["q4_email4"] == "john@example.com" and "pretty" not in payload


def test_wechat_safe_mode_stored_once(client):
    message = {"submission_id": "h5-1", "name": "李雷", "phone": "13900139000", "openid": "oABC"}
    body, query = wechat_post(message)
    assert client.post("/hooks/wechat/h5", params=query, content=body).json()["new"] == 1
    assert client.post("/hooks/wechat/h5", params=query, content=body).json()["new"] == 0
    assert inbox(client.store_url) == [("wechat", "h5", "h5:h5-1")]


def test_wechat_refusals(client):
    message = {"submission_id": "h5-2", "name": "李雷"}
    body, query = wechat_post(message)
    plaintext = {k: v for k, v in query.items() if k != "encrypt_type"}
    assert client.post("/hooks/wechat/h5", params=plaintext, content=body).status_code == 403
    no_signature = {k: v for k, v in query.items() if k != "msg_signature"}
    assert client.post("/hooks/wechat/h5", params=no_signature, content=body).status_code == 403
    other_app, other_query = wechat_post(message, app_id="wx_not_ours")
    assert client.post("/hooks/wechat/h5", params=other_query, content=other_app).status_code == 401
    stale, stale_query = wechat_post(message, timestamp=int(time.time()) - 3600)
    assert client.post("/hooks/wechat/h5", params=stale_query, content=stale).status_code == 401
    flipped = {**query, "nonce": "other"}
    assert client.post("/hooks/wechat/h5", params=flipped, content=body).status_code == 401
    assert inbox(client.store_url) == []


# --- refusals: the right status, nothing stored, nothing echoed -----------------------------------

SENTINEL = "sentinel-value-zz9@example.com"


def _flip(data: bytes) -> bytes:
    return data[:-2] + bytes([data[-2] ^ 1]) + data[-1:]


def refused_cases():
    tf = typeform_body("evt-bad", email=SENTINEL)
    fb = facebook_body("777", note=SENTINEL)
    gen = generic_body("g-bad", email=SENTINEL)
    now = int(time.time())
    return {
        "typeform body flipped": ("/hooks/typeform/survey", _flip(tf), typeform_headers(tf), 401),
        "typeform wrong secret": ("/hooks/typeform/survey", tf, typeform_headers(tf, secret="nope"), 401),
        "typeform no signature": ("/hooks/typeform/survey", tf, {"Content-Type": "application/json"}, 401),
        "typeform hex not base64": ("/hooks/typeform/survey", tf, {
            "Typeform-Signature": facebook_headers(tf, SECRETS["TF_SECRET"])["X-Hub-Signature-256"]}, 401),
        "facebook body flipped": ("/hooks/facebook/leads", _flip(fb), facebook_headers(fb), 401),
        "facebook wrong secret": ("/hooks/facebook/leads", fb, facebook_headers(fb, secret="nope"), 401),
        "generic body flipped": ("/hooks/generic/contact", _flip(gen), generic_headers(gen), 401),
        "generic timestamp changed": ("/hooks/generic/contact", gen,
                                      {**generic_headers(gen, timestamp=now), "X-Custhub-Timestamp": str(now + 1)},
                                      401),
        "generic stale timestamp": ("/hooks/generic/contact", gen, generic_headers(gen, timestamp=now - 301 - 5), 401),
        "generic future timestamp": ("/hooks/generic/contact", gen, generic_headers(gen, timestamp=now + 3600), 401),
        "unknown form": ("/hooks/typeform/nosuchform", tf, typeform_headers(tf), 404),
        "provider does not match form": ("/hooks/facebook/survey", tf, typeform_headers(tf), 404),
    }


def malformed_cases():
    cases = {
        "not json": b"{not json, " + SENTINEL.encode(),
        "json array": dumps([SENTINEL]),
        "NaN": b'{"event_id": "x", "n": NaN, "e": "' + SENTINEL.encode() + b'"}',
        "duplicate keys": b'{"event_id": "x", "event_id": "y", "e": "' + SENTINEL.encode() + b'"}',
        "5000-digit int": b'{"event_id": "x", "n": ' + b"9" * 5000 + b"}",
        "deep nesting": b'{"a":' * 100000 + b"1" + b"}" * 100000,
        "no event_id": dumps({"form_response": {"answers": [], "e": SENTINEL}}),
        "no form_response": dumps({"event_id": "x", "event_type": "form_response"}),
        "invalid utf-8": b'{"event_id": "\xff\xfe"}',
    }
    return cases


@pytest.mark.parametrize("case", list(refused_cases()))
def test_refused_requests_store_nothing_and_echo_nothing(client, case):
    path, body, headers, status = refused_cases()[case]
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == status
    assert SENTINEL not in response.text and "sentinel" not in response.text
    assert inbox(client.store_url) == []


@pytest.mark.parametrize("case", list(malformed_cases()))
def test_malformed_signed_bodies_are_400(client, case):
    body = malformed_cases()[case]
    if len(body) > 65536:  # the deep-nesting case is over this config's cap: it must be refused as too large
        assert client.post("/hooks/typeform/survey", content=body, headers=typeform_headers(body)).status_code == 413
        body = b'{"a":' * 10000 + b"1" + b"}" * 10000
    response = client.post("/hooks/typeform/survey", content=body, headers=typeform_headers(body))
    assert response.status_code == 400, response.text
    assert SENTINEL not in response.text and "9999" not in response.text
    assert inbox(client.store_url) == []


def test_malformed_facebook_jotform_and_generic_bodies_are_400(client):
    not_page = dumps({"object": "instagram", "entry": []})
    assert client.post("/hooks/facebook/leads", content=not_page, headers=facebook_headers(not_page)).status_code == 400
    no_id = dumps({"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"page_id": 1}}]}]})
    assert client.post("/hooks/facebook/leads", content=no_id, headers=facebook_headers(no_id)).status_code == 400
    url = f"/hooks/jotform/expo/{SECRETS['JOTFORM_TOKEN']}"
    body, content_type = jotform_multipart("1")
    broken = body.replace(b'"q4_email4"', b"'q4")
    assert client.post(url, content=broken, headers={"Content-Type": content_type}).status_code == 400
    assert client.post(url, content=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=zz"}
                       ).status_code == 400
    assert client.post(url, content=b"{}", headers={"Content-Type": "application/json"}).status_code == 415
    upload = (b'--b\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n'
              b"Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n")
    assert client.post(url, content=upload, headers={"Content-Type": "multipart/form-data; boundary=b"}
                       ).status_code == 400
    gen = b"[1, 2]"
    assert client.post("/hooks/generic/contact", content=gen, headers=generic_headers(gen)).status_code == 400
    assert inbox(client.store_url) == []


def test_oversized_bodies_are_413_and_store_nothing(client):
    big = typeform_body("big") + b" " * 70000  # whitespace after the JSON: valid JSON, correctly signed
    assert client.post("/hooks/typeform/survey", content=big, headers=typeform_headers(big)).status_code == 413
    declared = client.post("/hooks/generic/contact", content=b"{}",
                           headers={**generic_headers(b"{}"), "Content-Length": str(10**12)})
    assert declared.status_code in (400, 413)
    chunked = client.post("/hooks/typeform/survey", content=iter([big[:40000], big[40000:]]),
                          headers=typeform_headers(big))
    assert chunked.status_code == 413
    assert inbox(client.store_url) == []


def test_health_and_methods(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/hooks/typeform/survey").status_code == 405
    assert client.put("/hooks/typeform/survey", content=b"{}").status_code == 405


def test_wechat_url_check_answers_the_decrypted_echostr(client):
    import hashlib

    from hub.server.wechat_crypto import encrypt
    from tests.webhook_support import WECHAT_APPID

    echostr = encrypt(SECRETS["WECHAT_AES_KEY"].encode(), b"echo-4242", WECHAT_APPID)
    ts, nonce = str(int(time.time())), "abc"
    signature = hashlib.sha1("".join(sorted([SECRETS["WECHAT_TOKEN"], ts, nonce, echostr])).encode()).hexdigest()
    query = {"msg_signature": signature, "timestamp": ts, "nonce": nonce, "echostr": echostr}
    response = client.get("/hooks/wechat/h5", params=query)
    assert response.status_code == 200 and response.text == "echo-4242"
    assert client.get("/hooks/wechat/h5", params={**query, "nonce": "other"}).status_code == 401


def test_logs_never_hold_customer_values(client, caplog):
    caplog.set_level("DEBUG")
    good = generic_body("log-1", email=SENTINEL, name="王秘密")
    assert client.post("/hooks/generic/contact", content=good, headers=generic_headers(good)).status_code == 200
    assert client.post("/hooks/generic/contact", content=good, headers=generic_headers(good, secret="x")
                       ).status_code == 401
    bad_json = b'{"email": "' + SENTINEL.encode() + b'", oops'
    assert client.post("/hooks/typeform/survey", content=bad_json, headers=typeform_headers(bad_json)
                       ).status_code == 400
    token_url = f"/hooks/jotform/expo/{SECRETS['JOTFORM_TOKEN']}"
    assert client.post(token_url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("custhub"))  # not httpx's
    assert "generic/contact: stored" in text and "refused 401" in text
    for secret_or_value in (SENTINEL, "王秘密", SECRETS["JOTFORM_TOKEN"], SECRETS["GENERIC_SECRET"]):
        assert secret_or_value not in text


def test_generic_numeric_submission_id_and_body_hash_keys(client):
    numeric = dumps({"submission_id": 12345, "email": "n@example.com"})
    assert client.post("/hooks/generic/contact", content=numeric, headers=generic_headers(numeric)).json()["new"] == 1
    keyless = dumps({"email": "k@example.com"})
    assert client.post("/hooks/generic/contact", content=keyless, headers=generic_headers(keyless)).json()["new"] == 1
    assert client.post("/hooks/generic/contact", content=keyless, headers=generic_headers(keyless)).json()["new"] == 0
    ids = [row[2] for row in inbox(client.store_url)]
    assert ids[0] == "contact:12345" and ids[1].startswith("contact:") and len(ids) == 2
