"""The webhook inbox at rest: sealed payloads, keyed fallback event ids, rewrap, the server activating keys (T21)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import load_config
from hub.inbox import InboxEvent, read_events, record_events, webhook_inbox
from hub.inbox.events import INBOX_TARGET
from hub.privacy import keys, rewrap, runtime
from hub.privacy.crypto import FieldCipher
from hub.privacy.errors import CiphertextError
from hub.privacy.runtime import current, ensure_active
from hub.privacy.settings import PrivacySettings
from hub.server import build_app, server_settings
from hub.store import Store
from tests.webhook_support import SECRETS, generic_headers, write_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SENTINELS = ("欧阳娜娜", "+8613712345678", "nana.ouyang@example.cn")


def event(n: int, provider: str = "generic", form: str = "contact") -> InboxEvent:
    return InboxEvent(provider, form, f"{form}:{n}", {"name": f"{SENTINELS[0]}{n}", "phone": SENTINELS[1],
                                                      "email": SENTINELS[2]})


@pytest.fixture
def store(store_url, tmp_path):
    opened = Store.open(store_url)
    ensure_active(opened.engine, PrivacySettings(), tmp_path)
    yield opened
    opened.close()


def test_payloads_are_sealed_and_read_back(store):
    with store.transaction() as conn:
        assert record_events(conn, [event(1), event(2)]) == 2
        assert record_events(conn, [event(1)]) == 0  # a replay
    with store.reading() as conn:
        stored = conn.execute(sa.select(webhook_inbox.c.payload)).scalars().all()
        events = read_events(conn, "generic", "contact", 0, 10)
        assert rewrap.plaintext_count(conn, INBOX_TARGET) == 0
    assert all(p.startswith("ch1.") for p in stored)
    assert not any(s in p for p in stored for s in SENTINELS)
    assert [e["payload"]["name"] for e in events] == [f"{SENTINELS[0]}1", f"{SENTINELS[0]}2"]


def test_a_payload_moved_to_another_event_is_a_controlled_error(store):
    with store.transaction() as conn:
        record_events(conn, [event(1), event(2)])
        first = conn.execute(sa.select(webhook_inbox.c.payload).order_by(webhook_inbox.c.id)).scalars().first()
        conn.execute(sa.update(webhook_inbox).where(webhook_inbox.c.event_id == "contact:2").values(payload=first))
    with store.reading() as conn, pytest.raises(CiphertextError) as info:
        read_events(conn, "generic", "contact", 0, 10)
    assert "webhook_inbox.payload" in str(info.value) and SENTINELS[0] not in str(info.value)


def test_events_stored_before_encryption_are_read_and_then_sealed_by_rewrap(store):
    legacy = {"name": "legacy", "email": SENTINELS[2]}
    with store.transaction() as conn:
        conn.execute(sa.insert(webhook_inbox).values(provider="generic", form="contact", event_id="contact:0",
                                                     received_at=sa.func.current_timestamp(),
                                                     payload=json.dumps(legacy)))
        record_events(conn, [event(1)])
        assert rewrap.plaintext_count(conn, INBOX_TARGET) == 1
    with store.reading() as conn:
        assert read_events(conn, "generic", "contact", 0, 10)[0]["payload"] == legacy
    assert INBOX_TARGET.name in {t.name for t in rewrap.registered_targets()}
    kek = keys.load_kek(env="CUSTHUB_KEK")
    with store.transaction() as conn:
        new_kid = keys.rotate_data_key(conn, kek)
    with store.reading() as conn:
        cipher = FieldCipher(keys.Keyring.load(conn, kek))
    assert rewrap.rewrap(store.engine, cipher, INBOX_TARGET).values_resealed == 1  # the sealed one, re-keyed
    with store.reading() as conn:
        assert rewrap.references(conn, INBOX_TARGET, 1) == 0
    runtime.deactivate()
    ensure_active(store.engine, PrivacySettings(), Path.cwd())
    assert current().keyring.active_kid == new_kid
    with store.reading() as conn:
        assert [e["payload"]["name"] for e in read_events(conn, "generic", "contact", 0, 10)] == [
            "legacy", f"{SENTINELS[0]}1"]


@pytest.fixture
def env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def test_the_server_activates_the_store_keys_and_keys_fallback_event_ids(env, tmp_path, store_url):
    runtime.deactivate()  # a fresh process: build_app must activate the keys itself
    config = load_config(write_config(tmp_path, store_url))
    store = Store.open(config.store_url)
    body = json.dumps({"name": SENTINELS[0], "phone": SENTINELS[1], "email": SENTINELS[2]},
                      ensure_ascii=False).encode()  # no submission_id, no Idempotency-Key
    with TestClient(build_app(server_settings(config), store)) as client:
        first = client.post("/hooks/generic/contact", content=body, headers=generic_headers(body))
        again = client.post("/hooks/generic/contact", content=body, headers=generic_headers(body))
    assert first.json()["new"] == 1 and again.json()["status"] == "duplicate"
    with store.reading() as conn:
        [(event_id, payload)] = conn.execute(sa.select(webhook_inbox.c.event_id, webhook_inbox.c.payload)).all()
        assert read_events(conn, "generic", "contact", 0, 5)[0]["payload"]["email"] == SENTINELS[2]
    assert event_id == f"contact:{current().content_hash(body)}"
    assert hashlib.sha256(body).hexdigest() not in event_id  # never an unkeyed hash of the body
    assert payload.startswith("ch1.")
    store.close()
    if store_url.startswith("sqlite"):
        data = Path(store_url.removeprefix("sqlite:///")).read_bytes()
    else:
        url = sa.engine.make_url(store_url)
        dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                               "-U", url.username or "postgres", url.database], capture_output=True, check=False,
                              env={**os.environ, "PGPASSWORD": url.password or ""})
        assert dump.returncode == 0
        data = dump.stdout
    assert b"ch1." in data
    for sentinel in SENTINELS:
        for encoding in ("utf-8", "gb18030", "utf-16-le", "utf-16-be"):
            assert sentinel.encode(encoding) not in data
