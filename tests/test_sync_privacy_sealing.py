"""Sync out at rest: sealed outbox payloads, errors and row reasons, keyed payload hashes, rewrap, audit (T21)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from hub.privacy import audit, keys, rewrap, runtime
from hub.privacy.crypto import FieldCipher
from hub.privacy.errors import CiphertextError
from hub.privacy.runtime import current, ensure_active
from hub.privacy.settings import PrivacySettings
from hub.sync import sync_destination
from hub.sync.dispatcher import _pending
from hub.sync.sealing import OUTBOX_TARGET, RESULTS_TARGET, open_payload, payload_hash
from hub.sync.tables import sync_outbox
from hub.sync.testing import seed_profiles
from tests.sync_support import Recorder, make_config, open_store, registered

SENTINELS = ("张伟国", "+8613912345678", "zhang.weiguo@example.cn", "oUnionSentinel42")


def sentinel_person(i: int) -> dict:
    return {"person": {"name": {"full": f"{SENTINELS[0]}{i}"}, "phones": [{"number": SENTINELS[1]}],
                       "emails": [{"address": f"{i}{SENTINELS[2]}"}],
                       "platform_ids": {"wechat_unionid": SENTINELS[3]}}}


class EchoRecorder(Recorder):
    """A destination whose rejections echo the values sent (as HubSpot's messages can)."""

    echo = False

    def write(self, rows):
        results = super().write(rows)
        if self.echo:
            for row, res in zip(rows, results, strict=True):
                if res.status == "rejected":
                    res.reason = f"{row.payload.get('email')} / {row.payload.get('phone')} is invalid"
        return results


@pytest.fixture
def recorder():
    rec = EchoRecorder()
    with registered(rec):
        yield rec


def crm_config(tmp_path, store_url, **dest):
    return make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test", **dest}})


def outbox(store):
    with store.reading() as conn:
        return conn.execute(sa.select(sync_outbox)).mappings().all()


def test_outbox_payloads_are_sealed_and_hashes_keyed(tmp_path, store_url, recorder):
    cfg = crm_config(tmp_path, store_url)
    store = open_store(store_url)
    ids = seed_profiles(store, [sentinel_person(0), sentinel_person(1)])
    result = sync_destination(cfg, store, "crm")
    assert result.status == "succeeded" and [r.payload["name"] for r in recorder.rows] == [
        f"{SENTINELS[0]}0", f"{SENTINELS[0]}1"]  # sent in clear to the destination, as mapped
    rows = outbox(store)
    assert len(rows) == 2
    for row in rows:
        assert row["payload"].startswith("ch1.")
        payload = open_payload("crm", row["profile_id"], row["payload_hash"], row["payload"])
        assert payload["custhub_id"] == row["profile_id"]
        unkeyed = hashlib.blake2b(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
        assert row["payload_hash"] == payload_hash(payload) != unkeyed  # keyed: not an unkeyed hash of PII
    # a ciphertext moved to another row does not open there
    a, b = rows
    with pytest.raises(CiphertextError):
        open_payload("crm", b["profile_id"], b["payload_hash"], a["payload"])
    assert ids == sorted(r["profile_id"] for r in rows)


def test_a_payload_moved_to_another_row_is_a_controlled_error(tmp_path, store_url, recorder):
    cfg = crm_config(tmp_path, store_url)
    store = open_store(store_url)
    seed_profiles(store, [sentinel_person(0), sentinel_person(1)])
    recorder.reject = {"crm:contacts:p0000000": "X", "crm:contacts:p0000001": "X"}
    sync_destination(cfg, store, "crm")  # both rejected: the rows stay open
    with store.transaction() as conn:
        first = conn.execute(sa.select(sync_outbox.c.payload).order_by(sync_outbox.c.id).limit(1)).scalar_one()
        conn.execute(sa.update(sync_outbox).where(sync_outbox.c.id == 2).values(payload=first, status="pending"))
    with pytest.raises(CiphertextError) as info:
        _pending(store, "crm", 0, datetime.now(UTC), 10)
    assert SENTINELS[0] not in str(info.value) and "sync_outbox.payload" in str(info.value)


def test_errors_and_reasons_are_sealed_and_legacy_plaintext_rows_still_send(tmp_path, store_url, recorder):
    cfg = crm_config(tmp_path, store_url)
    store = open_store(store_url)
    ids = seed_profiles(store, [sentinel_person(0), sentinel_person(1)])
    recorder.reject[ids[0]] = "INVALID_EMAIL"
    recorder.echo = True  # a CRM echoing the values in its reason
    sync_destination(cfg, store, "crm")
    with store.reading() as conn:
        errors = conn.exec_driver_sql("SELECT error FROM sync_outbox WHERE error IS NOT NULL").scalars().all()
        reasons = conn.exec_driver_sql("SELECT reason FROM sync_results WHERE reason IS NOT NULL").scalars().all()
    assert errors and reasons and all(v.startswith("ch1.") for v in errors + reasons)
    # a row written before encryption (plaintext payload) is still read, sent, and counted by plaintext_count
    with store.transaction() as conn:
        conn.execute(sa.update(sync_outbox).where(sync_outbox.c.profile_id == ids[0]).values(
            payload=json.dumps({"custhub_id": ids[0], "name": "legacy"}), status="pending"))
        assert rewrap.plaintext_count(conn, OUTBOX_TARGET) == 1
    recorder.reject.clear()
    recorder.batches.clear()
    sync_destination(cfg, store, "crm")
    assert [r.payload for r in recorder.rows] == [{"custhub_id": ids[0], "name": "legacy"}]


def test_rewrap_targets_are_registered_and_reseal_after_rotation(tmp_path, store_url, recorder):
    cfg = crm_config(tmp_path, store_url)
    store = open_store(store_url)
    ids = seed_profiles(store, [sentinel_person(i) for i in range(5)])
    recorder.reject[ids[0]] = "MANDATORY_NOT_FOUND"
    sync_destination(cfg, store, "crm")
    names = {t.name for t in rewrap.registered_targets()}
    assert {OUTBOX_TARGET.name, RESULTS_TARGET.name} <= names
    kek = keys.load_kek(env="CUSTHUB_KEK")
    with store.transaction() as conn:
        keys.rotate_data_key(conn, kek)
    with store.reading() as conn:
        keyring = keys.Keyring.load(conn, kek)
    cipher = FieldCipher(keyring)
    assert rewrap.rewrap(store.engine, cipher, OUTBOX_TARGET, batch_size=2).values_resealed == 6  # 5 payloads, 1 error
    assert rewrap.rewrap(store.engine, cipher, RESULTS_TARGET).values_resealed == 1
    with store.reading() as conn:
        assert rewrap.references(conn, OUTBOX_TARGET, 1) == 0 and rewrap.references(conn, RESULTS_TARGET, 1) == 0
    # the store reopened with the new key reads them all
    runtime.deactivate()
    ensure_active(store.engine, PrivacySettings(), tmp_path)
    assert current().keyring.active_kid != 1
    for row in outbox(store):
        assert open_payload("crm", row["profile_id"], row["payload_hash"], row["payload"])["custhub_id"]


def test_every_sync_run_is_audited_without_values(tmp_path, store_url, recorder):
    cfg = crm_config(tmp_path, store_url, purpose="marketing_email")
    store = open_store(store_url)
    consent = {"consents": [{"purpose": "marketing_email", "status": "granted", "at": "2025-01-01T00:00:00Z"}]}
    seed_profiles(store, [sentinel_person(0) | consent, sentinel_person(1)])
    first = sync_destination(cfg, store, "crm")
    second = sync_destination(cfg, store, "crm")
    with store.reading() as conn:
        entries = [e for e in reversed(audit.show(conn)) if e.action == "sync"]
        assert audit.verify(conn, current().audit_key).ok
    assert [(e.subjects, e.row_count, e.outcome, e.purpose, e.role) for e in entries] == [
        (("destination:crm", f"run:{first.run_id}"), 1, "succeeded", "marketing_email", "sync_job"),
        (("destination:crm", f"run:{second.run_id}"), 0, "succeeded", "marketing_email", "sync_job")]
    assert set(entries[0].fields) == {"name", "email", "phone"}
    text = repr(entries)
    assert not any(s in text for s in SENTINELS)


def test_sync_checkpoints_the_audit_log_when_due(tmp_path, store_url, recorder):
    raw_cfg = crm_config(tmp_path, store_url)
    cfg = dataclasses.replace(raw_cfg, privacy=dataclasses.replace(raw_cfg.privacy, audit_checkpoint_every=1))
    store = open_store(store_url)
    seed_profiles(store, [sentinel_person(0)])
    sync_destination(cfg, store, "crm")
    checkpoints = (tmp_path / ".custhub" / "audit-checkpoints.jsonl").read_text().splitlines()
    assert len(checkpoints) == 1


def _scan(data: bytes) -> list[str]:
    found = []
    for sentinel in SENTINELS:
        for encoding in ("utf-8", "gb18030", "utf-16-le", "utf-16-be"):
            if sentinel.encode(encoding) in data:
                found.append(f"{sentinel}/{encoding}")
    return found


def test_no_sentinel_in_the_store_after_sync_with_rejections(tmp_path, store_url, recorder):
    """T21 for sync: source records, outbox, errors and reports hold none of the values in any encoding."""
    cfg = crm_config(tmp_path, store_url)
    store = open_store(store_url)
    ids = seed_profiles(store, [sentinel_person(i) for i in range(4)])
    recorder.reject[ids[1]] = SENTINELS[1].lstrip("+")  # a destination misusing the code field: neutralised
    recorder.echo = True  # and reasons that echo the values sent
    sync_destination(cfg, store, "crm")
    sync_destination(cfg, store, "crm")
    store.close()
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        data = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                    if path.with_name(path.name + "-wal").exists() else b"")
        assert b"ch1." in data and _scan(data) == []
        return
    url = sa.engine.make_url(store_url)
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                           "-U", url.username or "postgres", url.database], capture_output=True, check=False,
                          env={**os.environ, "PGPASSWORD": url.password or ""})
    assert dump.returncode == 0, dump.stderr[-300:]
    assert b"sync_outbox" in dump.stdout and b"ch1." in dump.stdout
    assert _scan(dump.stdout) == []
