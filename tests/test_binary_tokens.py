"""Binary ciphertexts: source records sealed by ingest are stored as bytes on SQLite (no base64), and
every reader, key rotation and the plaintext check treat them as they treat text tokens."""

from __future__ import annotations

import sqlite3

import pytest

from hub.config import PrivacySettings
from hub.privacy import runtime
from hub.privacy.crypto import FieldCipher, is_ciphertext, kid_of, location_aad, text_token
from hub.privacy.errors import CiphertextError
from hub.privacy.rewrap import plaintext_count, references
from hub.store import records
from tests.helpers import run_cli
from tests.test_ingest_privacy import EMAIL, NAME, PHONE, ingest, make_config, signup
from tests.test_privacy_helpers import keyed_store

AAD = location_aad("source_records", "raw", ["c", "s", "1"])


@pytest.fixture
def cipher(tmp_path) -> FieldCipher:
    store, _, keyring = keyed_store(tmp_path)
    store.engine.dispose()
    return FieldCipher(keyring)


def test_a_binary_token_is_the_text_token_without_base64(cipher):
    token = cipher.encrypt_binary("王小明 +8613800138000", AAD)
    assert isinstance(token, bytes) and token.startswith(b"ch1.")
    assert is_ciphertext(token) and kid_of(token) == cipher.keyring.active_kid
    assert cipher.decrypt(token, AAD) == "王小明 +8613800138000"
    as_text = text_token(token)
    assert is_ciphertext(as_text) and as_text.startswith(f"ch1.{kid_of(token)}.")
    assert cipher.decrypt(as_text, AAD) == "王小明 +8613800138000"
    assert len(token) < len(as_text) * 0.8
    assert text_token(as_text) == as_text


def test_a_damaged_or_moved_binary_token_is_refused(cipher):
    token = cipher.encrypt_binary(b'{"a":1}', AAD)
    flipped = token[:-1] + bytes([token[-1] ^ 1])
    for bad, aad in ((flipped, AAD), (token, AAD + b"x")):
        with pytest.raises(CiphertextError, match="failed authentication"):
            cipher.decrypt(bad, aad)
    label = token[:token.index(b".", 4) + 1]
    assert not is_ciphertext(label + b"short") and not is_ciphertext(b'{"ch1.": 1}')
    with pytest.raises(CiphertextError, match="too short"):
        cipher.decrypt(label + b"short", AAD)
    for junk in (b'{"a":1}', b"ch1.x." + token[6:]):
        with pytest.raises(CiphertextError, match="not a custhub ciphertext"):
            cipher.decrypt(junk, AAD)
        with pytest.raises(CiphertextError):
            text_token(junk)


def test_a_store_that_takes_text_gets_binary_tokens_as_text(tmp_path):
    from hub.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    runtime.deactivate()
    active = runtime.ensure_active(store.engine, PrivacySettings(), tmp_path)
    try:
        token = active.cipher.encrypt_binary(b'{"a":1}', location_aad("source_records", "raw", ["c", "s", "7"]))
        kept = records._stored("raw", "c", "s", "7", token, binary=True)
        as_text = records._stored("raw", "c", "s", "7", token, binary=False)
        assert kept is token and isinstance(as_text, str)
        assert records.open_raw("c", "s", "7", kept) == records.open_raw("c", "s", "7", as_text) == {"a": 1}
        plain = records._stored("raw", "c", "s", "7", b'{"b":2}', binary=True)  # plain JSON: sealed here
        assert isinstance(plain, str) and records.open_raw("c", "s", "7", plain) == {"b": 2}
    finally:
        runtime.deactivate()
        store.engine.dispose()


def column_types(db) -> set[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT typeof(raw), typeof(canonical) FROM source_records"))


@pytest.mark.parametrize("workers", [1, 2])
def test_ingest_stores_blobs_that_readers_and_key_rotation_handle(tmp_path, workers):
    runtime.deactivate()
    rows = [signup(i) for i in range(1, 40)] + [signup(40, name=NAME, phone=PHONE, email=EMAIL)]
    config_path = make_config(tmp_path, rows, workers=workers, batch_size=10)
    _, store, result = ingest(config_path)
    assert result.totals.inserted == 40
    assert column_types(tmp_path / "store.db") == {("blob", "blob")}
    target = records.RECORDS_TARGET
    with store.reading() as conn:
        assert plaintext_count(conn, target) == 0  # a BLOB token is no plaintext
        first_kid = runtime.current().keyring.active_kid
        assert references(conn, target, first_kid) == 80
        stored = conn.execute(records.source_records.select().where(
            records.source_records.c.source_pk == "40")).mappings().one()
    assert records.open_canonical("expo", "signups", "40", stored["canonical"])["person"]["name"]["full"] == NAME
    assert records.open_raw("expo", "signups", "40", stored["raw"])["邮箱"] == EMAIL
    store.engine.dispose()
    runtime.deactivate()

    assert run_cli("--config", str(config_path), "keys", "rotate") == 0
    assert run_cli("--config", str(config_path), "keys", "rewrap") == 0
    with store.reading() as conn:
        assert references(conn, target, first_kid) == 0
        assert plaintext_count(conn, target) == 0
        stored = conn.execute(records.source_records.select().where(
            records.source_records.c.source_pk == "40")).mappings().one()
    assert kid_of(stored["canonical"]) != first_kid
    runtime.deactivate()
    runtime.ensure_active(store.engine, PrivacySettings(), tmp_path)
    assert records.open_canonical("expo", "signups", "40", stored["canonical"])["person"]["name"]["full"] == NAME
    assert run_cli("--config", str(config_path), "keys", "retire", str(first_kid)) == 0
    runtime.deactivate()
    store.engine.dispose()
