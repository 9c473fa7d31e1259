"""ensure_active: keys for a new store, an auto KEK file only for an empty store, refusal without a KEK."""

from __future__ import annotations

import stat

import pytest

from hub.privacy import runtime
from hub.privacy.errors import CiphertextError, KeyMaterialError
from hub.privacy.settings import PrivacySettings
from hub.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    yield s
    runtime.deactivate()
    s.close()


def test_new_store_gets_keys_and_an_auto_kek_file(store, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("CUSTHUB_KEK", raising=False)
    rt = runtime.ensure_active(store.engine, PrivacySettings(), tmp_path)
    kek_file = tmp_path / ".custhub" / "kek"
    assert kek_file.exists() and stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    assert "generated a new key-encryption key" in caplog.text
    assert runtime.current() is rt
    assert runtime.ensure_active(store.engine, PrivacySettings(), tmp_path) is rt  # idempotent

    token = rt.seal("source_records", "raw", 7, "张伟 13800138000")
    assert "张伟" not in token and rt.open("source_records", "raw", 7, token) == "张伟 13800138000"
    with pytest.raises(CiphertextError, match="source_records.raw"):
        rt.open("source_records", "raw", 8, token)  # moved to another row
    assert rt.content_hash(b"x") == rt.content_hash(b"x") != rt.content_hash(b"y")
    assert len(rt.content_hash(b"x")) == 32


def test_store_with_keys_refuses_to_start_without_its_kek(store, tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTHUB_KEK", raising=False)
    runtime.ensure_active(store.engine, PrivacySettings(), tmp_path)
    (tmp_path / ".custhub" / "kek").unlink()
    runtime.deactivate()
    with pytest.raises(KeyMaterialError, match="CUSTHUB_KEK is not set") as err:
        runtime.ensure_active(store.engine, PrivacySettings(), tmp_path)
    assert "cannot be read without it" in str(err.value)
    assert not (tmp_path / ".custhub" / "kek").exists()  # never a fresh key for a store with data keys


def test_explicit_kek_reference_is_used_for_a_new_store(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEK", __import__("hub.privacy.keys", fromlist=["x"]).generate_kek())
    monkeypatch.delenv("CUSTHUB_KEK", raising=False)
    rt = runtime.ensure_active(store.engine, PrivacySettings(kek={"$env": "MY_KEK"}), tmp_path)
    assert not (tmp_path / ".custhub").exists()
    assert rt.keyring.active_kid == 1


def test_sqlite_store_zeroes_freed_pages(tmp_path):
    """An erased value leaves no bytes in the file once the WAL is checkpointed.

    The store sets secure_delete itself: Debian's SQLite has it on by default, other builds do not.
    """
    from sqlalchemy import text

    db = tmp_path / "erase.db"
    s = Store.open(f"sqlite:///{db}")
    sentinel = "欧阳娜娜-13912345678-sentinel"
    with s.transaction() as conn:
        conn.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(text("INSERT INTO scratch (v) VALUES (:v)"), {"v": sentinel * 20})
    with s.transaction() as conn:
        conn.execute(text("DELETE FROM scratch"))
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    s.close()
    import sqlite3

    with sqlite3.connect(db) as raw:  # fold the WAL into the file, as a checkpoint eventually does
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert sentinel.encode() not in db.read_bytes()


def test_bundled_example_keeps_its_generated_kek_in_the_working_directory(tmp_path, monkeypatch):
    from hub.config import load_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CUSTHUB_KEK", raising=False)
    cfg = load_config()  # no ./custhub.yaml here: the bundled example
    assert runtime.auto_kek_path(cfg.privacy, cfg.base_dir) == tmp_path / ".custhub" / "kek"
    own = tmp_path / "custhub.yaml"
    own.write_text((cfg.file).read_text("utf-8"), "utf-8")
    mine = load_config(own)
    assert runtime.auto_kek_path(mine.privacy, mine.base_dir) == tmp_path / ".custhub" / "kek"
    other = tmp_path / "etc" / "custhub.yaml"
    other.parent.mkdir()
    other.write_text(own.read_text("utf-8"), "utf-8")
    theirs = load_config(other)
    assert runtime.auto_kek_path(theirs.privacy, theirs.base_dir) == other.parent / ".custhub" / "kek"
