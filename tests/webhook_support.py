"""Shared by the webhook tests: a config with one form per provider, and senders that sign like the providers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import yaml

from hub.server.wechat_crypto import encrypt

SECRETS = {
    "TF_SECRET": "typeform-secret-1",
    "FB_APP_SECRET": "fb-app-secret-1",
    "FB_VERIFY_TOKEN": "fb-verify-token-1",
    "JOTFORM_TOKEN": "jotformtoken123",
    "GENERIC_SECRET": "generic-secret-1",
    "GENERIC_TOKEN": "generictoken456",
    "WECHAT_TOKEN": "wechattoken",
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "FB_PAGE_TOKEN": "page-token-1",
}
WECHAT_APPID = "wx0123456789abcdef"

FORMS = {
    "survey": {"provider": "typeform", "secret": {"$env": "TF_SECRET"}},
    "leads": {"provider": "facebook", "app_secret": {"$env": "FB_APP_SECRET"},
              "verify_token": {"$env": "FB_VERIFY_TOKEN"}},
    "expo": {"provider": "jotform", "token": {"$env": "JOTFORM_TOKEN"}},
    "contact": {"provider": "generic", "secret": {"$env": "GENERIC_SECRET"}, "honeypot": "website"},
    "newsletter": {"provider": "generic", "token": {"$env": "GENERIC_TOKEN"}},
    "h5": {"provider": "wechat", "token": {"$env": "WECHAT_TOKEN"}, "encoding_aes_key": {"$env": "WECHAT_AES_KEY"},
           "app_id": WECHAT_APPID},
}
STREAMS = {
    "typeform.survey": {"mapping": "typeform_webhook"},
    "facebook.leads": {"mapping": "facebook_lead"},
    "jotform.expo": {"mapping": "jotform_webhook"},
    "generic.contact": {"mapping": "webform_generic"},
    "wechat.h5": {"mapping": "webform_generic"},
}


def write_config(tmp_path: Path, store_url: str, *, max_body: int = 65536, graph_url: str | None = None) -> Path:
    facebook: dict[str, Any] = {"access_token": {"$env": "FB_PAGE_TOKEN"}}
    if graph_url:
        facebook["graph_url"] = graph_url
    data = {
        "version": 1,
        "store": {"url": store_url},
        "ingest": {"workers": 1},
        "connections": {"webhooks": {"source": "inbox", "config": {"facebook": facebook, "batch_size": 3},
                                     "streams": STREAMS}},
        "server": {"max_body_bytes": max_body, "timestamp_tolerance": 300, "forms": FORMS},
    }
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def dumps(value: Any, *, ascii_only: bool = False) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":")).encode("utf-8")


# --- what each provider sends -------------------------------------------------------------------

def typeform_body(event_id: str, *, email: str = "laura@example.com", name: str = "Laura Smith") -> bytes:
    return dumps({"event_id": event_id, "event_type": "form_response", "form_response": {
        "form_id": "DHsCKv", "token": f"tok-{event_id}", "landed_at": "2024-05-01T10:00:00Z",
        "submitted_at": "2024-05-01T10:03:43Z", "hidden": {"utm_source": "ads"},
        "definition": {"id": "DHsCKv", "title": "Spring survey", "fields": []},
        "answers": [
            {"type": "text", "text": name, "field": {"id": "a1", "type": "short_text", "ref": "full_name"}},
            {"type": "email", "email": email, "field": {"id": "a2", "type": "email", "ref": "email"}},
            {"type": "phone_number", "phone_number": "+8613800138000",
             "field": {"id": "a3", "type": "phone_number", "ref": "phone"}},
            {"type": "choice", "choice": {"label": "Pro"}, "field": {"id": "a4", "type": "multiple_choice",
                                                                     "ref": "plan"}},
            {"type": "boolean", "boolean": True, "field": {"id": "a5", "type": "yes_no", "ref": "consent"}},
        ]}})


def typeform_headers(body: bytes, secret: str = SECRETS["TF_SECRET"]) -> dict[str, str]:
    digest = base64.b64encode(hmac.digest(secret.encode(), body, hashlib.sha256)).decode()
    return {"Typeform-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def facebook_body(*leadgen_ids: str | int, note: str | None = None) -> bytes:
    changes = [{"field": "leadgen", "value": {"leadgen_id": lid, "page_id": 123123123, "form_id": 555,
                                               "adgroup_id": 1, "ad_id": 777, "created_time": 1440120384}}
               for lid in leadgen_ids]
    entry: dict[str, Any] = {"id": 153125381133, "time": 1438292065, "changes": changes}
    if note is not None:
        entry["note"] = note
    return dumps({"object": "page", "entry": [entry]})


def facebook_headers(body: bytes, secret: str = SECRETS["FB_APP_SECRET"]) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def generic_headers(body: bytes, *, timestamp: int | None = None, secret: str = SECRETS["GENERIC_SECRET"],
                    content_type: str = "application/json", key: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Custhub-Timestamp": ts, "X-Custhub-Signature": f"sha256={digest}", "Content-Type": content_type}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def generic_body(submission_id: str, **fields: Any) -> bytes:
    return dumps({"submission_id": submission_id, "name": "王小明", "email": "xm@example.com",
                  "phone": "13800138000", "company": "示例科技", "consent_marketing": "yes", **fields})


def jotform_multipart(submission_id: str) -> tuple[bytes, str]:
    raw_request = {"slug": "submit/31751954731962", "q3_fullName3": {"first": "John", "last": "Doe"},
                   "q4_email4": "john@example.com", "q5_phoneNumber5": {"full": "+1 (650) 253-0000"},
                   "q6_company": "Doe Corp"}
    fields = {"formID": "31751954731962", "submissionID": submission_id, "formTitle": "Expo sign-up",
              "ip": "203.0.113.4", "pretty": "Full Name:John Doe", "rawRequest": json.dumps(raw_request)}
    boundary = "----custhubtestboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8")
    return body, f"multipart/form-data; boundary={boundary}"


def wechat_post(message: dict[str, Any] | bytes, *, timestamp: int | None = None, app_id: str = WECHAT_APPID,
                token: str = SECRETS["WECHAT_TOKEN"]) -> tuple[bytes, dict[str, str]]:
    raw = message if isinstance(message, bytes) else dumps(message)
    encrypted = encrypt(SECRETS["WECHAT_AES_KEY"].encode(), raw, app_id)
    ts, nonce = str(int(time.time()) if timestamp is None else timestamp), "n0nce"
    signature = hashlib.sha1("".join(sorted([token, ts, nonce, encrypted])).encode()).hexdigest()
    body = f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = {"msg_signature": signature, "timestamp": ts, "nonce": nonce, "encrypt_type": "aes"}
    return body.encode(), query
