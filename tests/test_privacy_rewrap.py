"""Key rotation and the resumable rewrap: crash mid-way, resume, retire the old key id (T22c)."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest
from sqlalchemy import select

from hub.config import load_config
from hub.privacy import keys, rewrap
from hub.privacy.crypto import FieldCipher, kid_of
from hub.privacy.errors import KeyMaterialError
from hub.privacy.runtime import activate
from hub.privacy.tables import privacy_audit_log, privacy_rewrap
from hub.store import Store
from tests.helpers import REPO, copy_example, run_cli
from tests.test_privacy_helpers import DEMO_TARGET, SENTINELS, demo_aad, demo_people, fill_demo, keyed_store

SCRIPT = """
import sys
from hub.privacy import keys, rewrap
from hub.privacy.crypto import FieldCipher
from hub.store import Store
from tests.test_privacy_helpers import DEMO_TARGET
store = Store.open(sys.argv[1])
with store.reading() as conn:
    keyring = keys.Keyring.load(conn, keys.load_kek(env="TEST_KEK"))
rewrap.rewrap(store.engine, FieldCipher(keyring), DEMO_TARGET, batch_size=int(sys.argv[2]))
print("done")
"""


def _rotated(tmp_path, rows):
    store, kek, keyring = keyed_store(tmp_path)
    fill_demo(store, FieldCipher(keyring), rows)
    old = keyring.active_kid
    with store.transaction() as conn:
        new = keys.rotate_data_key(conn, kek)
    with store.reading() as conn:
        keyring = keys.Keyring.load(conn, kek)
    return store, kek, keyring, old, new


def _run(tmp_path, store, kek, batch, env=None):
    url = str(store.engine.url)
    script = tmp_path / "rewrap_child.py"
    script.write_text(SCRIPT, "utf-8")
    child_env = {**os.environ, "TEST_KEK": _kek_text(kek), "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen([sys.executable, str(script), url, str(batch)], cwd=REPO, env=child_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kek_text(kek):
    return base64.b64encode(kek.key).decode()


def _rows_done(store):
    """Progress read with a plain WAL reader: it never waits for the writer's lock."""
    with closing(sqlite3.connect(store.engine.url.database, timeout=30)) as db:
        row = db.execute("SELECT rows_done FROM privacy_rewrap").fetchone()
    return row[0] if row else 0


def _check_all_rows_decrypt(store, keyring):
    cipher = FieldCipher(keyring)
    with store.reading() as conn:
        rows = conn.execute(select(demo_people).order_by(demo_people.c.id)).mappings().all()
    for row in rows:
        assert cipher.decrypt(row["name_enc"], demo_aad("name_enc", row)) == f"{SENTINELS[0]}{row['id']}"
        assert cipher.decrypt(row["phone_enc"], demo_aad("phone_enc", row)) == f"{SENTINELS[1]}#{row['id']}"
    return rows


def test_failpoint_kill_after_two_batches_then_resume(tmp_path):
    store, kek, keyring, old, new = _rotated(tmp_path, 100)
    child = _run(tmp_path, store, kek, 10, env={"CUSTHUB_FAILPOINT": "rewrap_after_batch:2"})
    child.communicate(timeout=60)
    assert child.returncode == 137
    with store.reading() as conn:
        cp = conn.execute(select(privacy_rewrap)).mappings().one()
        assert (cp["to_kid"], json.loads(cp["last_key"]), cp["rows_done"], cp["status"]) == (new, 20, 20, "running")
        assert rewrap.references(conn, DEMO_TARGET, new) == 40
        assert rewrap.references(conn, DEMO_TARGET, old) == 160
    _check_all_rows_decrypt(store, keyring)  # a half-done rewrap loses nothing

    result = rewrap.rewrap(store.engine, FieldCipher(keyring), DEMO_TARGET, batch_size=10)
    assert result.resumed_from == 20 and result.rows_resealed == 80  # resumed, did not redo the first 20
    with store.reading() as conn:
        assert rewrap.references(conn, DEMO_TARGET, old) == 0
        assert conn.execute(select(privacy_rewrap.c.status)).scalar_one() == "done"
    rows = _check_all_rows_decrypt(store, keyring)
    assert {kid_of(r["name_enc"]) for r in rows} == {new}
    again = rewrap.rewrap(store.engine, FieldCipher(keyring), DEMO_TARGET, batch_size=10)
    assert again.rows_resealed == 0  # idempotent


def test_sigkill_at_random_points_then_resume_and_retire(tmp_path):
    store, kek, keyring, old, new = _rotated(tmp_path, 3000)
    rng = random.Random(6)
    kills = 0
    for _ in range(6):
        done = _rows_done(store)
        target = done + rng.randint(5, 400)
        child = _run(tmp_path, store, kek, 5)
        deadline = time.monotonic() + 30
        while child.poll() is None and _rows_done(store) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)  # mid-batch, at a random point of its work
            kills += 1
        _, err = child.communicate(timeout=60)
        assert child.returncode in (0, -signal.SIGKILL), err
        _check_all_rows_decrypt(store, keyring)
        with store.reading() as conn:
            if rewrap.references(conn, DEMO_TARGET, old) == 0:
                break
    child = _run(tmp_path, store, kek, 200)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert kills >= 3
    with store.reading() as conn:
        assert rewrap.references(conn, DEMO_TARGET, old) == 0
    rows = _check_all_rows_decrypt(store, keyring)
    assert len(rows) == 3000 and {kid_of(r["phone_enc"]) for r in rows} == {new}
    with store.transaction() as conn:
        keys.retire_key(conn, old, still_referenced=rewrap.references(conn, DEMO_TARGET, old), destroy=True)
    with store.reading() as conn:
        retired = keys.Keyring.load(conn, kek)
    with pytest.raises(KeyMaterialError, match="retired"):
        retired.dek(old)
    _check_all_rows_decrypt(store, retired)


def test_retire_is_refused_while_referenced_or_active(tmp_path):
    store, kek, keyring, old, new = _rotated(tmp_path, 5)
    with store.transaction() as conn:
        with pytest.raises(KeyMaterialError, match="still used by 10 value"):
            keys.retire_key(conn, old, still_referenced=rewrap.references(conn, DEMO_TARGET, old))
        with pytest.raises(KeyMaterialError, match="is the active key"):
            keys.retire_key(conn, new, still_referenced=0)


def test_keys_cli_rotate_rewrap_retire(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config = str(copy_example(tmp_path, url))
    monkeypatch.setenv("CUSTHUB_KEK", keys.generate_kek())
    assert run_cli("--config", config, "keys", "status") == 0
    assert run_cli("--config", config, "keys", "init") == 0
    assert "keys already exist" in capsys.readouterr().out  # opening the store created (and audited) them
    cfg = load_config(config)
    store = Store.open(url)
    fill_demo(store, activate(store.engine, cfg.privacy, cfg.base_dir).cipher, 30)
    rewrap.register_target(DEMO_TARGET)
    try:
        assert run_cli("--config", config, "keys", "rotate") == 0
        assert "data key 4 is now active" in capsys.readouterr().out
        assert run_cli("--config", config, "keys", "retire", "1") == 1
        assert "still used by 60 value(s)" in capsys.readouterr().err
        assert run_cli("--config", config, "keys", "rewrap", "--batch-size", "7") == 0
        assert "30 row(s) re-sealed in 5 batch(es)" in capsys.readouterr().out
        assert run_cli("--config", config, "keys", "retire", "1") == 0
        assert run_cli("--config", config, "keys", "status") == 0
        out = capsys.readouterr().out
        assert "retired" in out and os.environ["CUSTHUB_KEK"] not in out
    finally:
        rewrap.unregister_target(DEMO_TARGET.name)
    with store.reading() as conn:
        actions = [a for (a,) in conn.execute(select(privacy_audit_log.c.action).order_by(privacy_audit_log.c.seq))]
    assert actions == ["key_init", "key_rotate", "key_rewrap", "key_retire"]
    monkeypatch.delenv("CUSTHUB_KEK")
    assert run_cli("--config", config, "keys", "rotate") == 1
    assert "CUSTHUB_KEK is not set" in capsys.readouterr().err


def test_generate_kek_writes_a_private_file_once(tmp_path, capsys):
    path = tmp_path / "secrets" / "kek"
    assert run_cli("keys", "generate-kek", "--out", str(path)) == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert keys.load_kek(file=path).kek_id
    assert path.read_text().strip() not in capsys.readouterr().out
    assert run_cli("keys", "generate-kek", "--out", str(path)) == 2
