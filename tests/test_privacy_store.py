"""The privacy tables on both backends (migration 0005): keys, ciphertexts, audit, consent, suppression."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect, select

from hub.privacy import audit, keys, rewrap
from hub.privacy.blind_index import BlindIndexer
from hub.privacy.consent import ConsentEvent, consent_granted_now, record_consent
from hub.privacy.crypto import FieldCipher
from hub.privacy.suppression import is_suppressed, suppress_record
from hub.privacy.tables import PRIVACY_TABLES
from hub.store import Store
from hub.store.engine import _alembic_config
from tests.test_privacy_helpers import DEMO_TARGET, SENTINELS, demo_aad, demo_people, fill_demo

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_privacy_layer_on_each_backend(store_url, tmp_path):
    store = Store.open(store_url)
    kek = keys.kek_from_text(keys.generate_kek(), source="test")
    with store.transaction() as conn:
        assert keys.init_keys(conn, kek) == [1, 2, 3]
        assert keys.init_keys(conn, kek) == []
    with store.reading() as conn:
        keyring = keys.Keyring.load(conn, kek)
    cipher = FieldCipher(keyring)
    fill_demo(store, cipher, 40)
    with store.transaction() as conn:
        keys.rotate_data_key(conn, kek)
    with store.reading() as conn:
        keyring = keys.Keyring.load(conn, kek)
    cipher = FieldCipher(keyring)
    assert rewrap.rewrap(store.engine, cipher, DEMO_TARGET, batch_size=15).rows_resealed == 40
    with store.reading() as conn:
        assert rewrap.references(conn, DEMO_TARGET, 1) == 0
        row = conn.execute(select(demo_people).where(demo_people.c.id == 7)).mappings().one()
    assert cipher.decrypt(row["name_enc"], demo_aad("name_enc", row)) == f"{SENTINELS[0]}7"

    with store.transaction() as conn:
        for i in range(20):
            audit.record(conn, key=keyring.audit_key, actor="cli:ops", role="dpo", purpose="dsar", action="dsar",
                         subjects=[f"profile:{i}"], fields=["person.name.full"], row_count=1)
        record_consent(conn, ConsentEvent("profile:1", "marketing_email", "granted", NOW - timedelta(days=1)))
        suppress_record(conn, BlindIndexer.from_keyring(keyring), {"person": {"phones": [{"number": SENTINELS[1]}]}})
    assert audit.export_checkpoint(store.engine, keyring.audit_key, tmp_path / "cp.jsonl")[0] == 20
    with store.reading() as conn:
        assert audit.verify(conn, keyring.audit_key, tmp_path / "cp.jsonl").ok
        assert [e.seq for e in audit.show(conn, subject="profile:3")] == [4]
        assert consent_granted_now(conn, "profile:1", "marketing_email", NOW)
        returning = {"person": {"phones": [{"number": "138 0013 8000"}]}}
        assert is_suppressed(conn, BlindIndexer.from_keyring(keyring), returning)
    if store.dialect == "postgresql":  # a dump of the whole database holds none of the sentinels
        url = store.engine.url
        dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                               "-U", url.username or "postgres", url.database], capture_output=True, check=False,
                              env={**os.environ, "PGPASSWORD": url.password or ""})
        assert dump.returncode == 0, dump.stderr[-300:]
        assert b"demo_people" in dump.stdout and b"ch1." in dump.stdout  # the ciphertexts are in the dump
        for sentinel in SENTINELS[:3]:
            for encoding in ("utf-8", "gb18030", "utf-16-le"):
                assert sentinel.encode(encoding) not in dump.stdout
    store.close()


def test_migration_0005_downgrades_and_upgrades(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'm.db'}")
    names = {t.name for t in PRIVACY_TABLES}
    assert names <= set(inspect(store.engine).get_table_names())
    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0004")
    assert not names & set(inspect(store.engine).get_table_names())
    with store.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    assert names <= set(inspect(store.engine).get_table_names())
