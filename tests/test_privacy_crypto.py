"""Envelope encryption: AES-256-GCM per value, AAD bound to (table, column, row), KEK outside the store (T22a/b)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select, update

from hub.privacy import keys
from hub.privacy.crypto import FieldCipher, is_ciphertext, kid_of, location_aad
from hub.privacy.errors import CiphertextError, KeyMaterialError
from hub.privacy.tables import privacy_keys
from tests.test_privacy_helpers import SENTINELS, demo_aad, demo_people, fill_demo, keyed_store


def test_round_trip_and_format(tmp_path):
    _, _, keyring = keyed_store(tmp_path)
    cipher = FieldCipher(keyring)
    aad = location_aad("source_records", "raw", 42)
    token = cipher.encrypt("张三丰 13800138000", aad)
    assert is_ciphertext(token) and token.startswith(f"ch1.{keyring.active_kid}.")
    assert kid_of(token) == keyring.active_kid
    assert "13800138000" not in token and "张三丰" not in token
    assert cipher.decrypt(token, aad) == "张三丰 13800138000"
    assert cipher.encrypt("x", aad) != cipher.encrypt("x", aad)  # random nonce: no equality leak
    assert cipher.decrypt_json(cipher.encrypt_json({"a": [1, "é"]}, aad), aad) == {"a": [1, "é"]}


def test_swapped_rows_and_columns_fail_with_a_controlled_error(tmp_path):
    store, _, keyring = keyed_store(tmp_path)
    cipher = FieldCipher(keyring)
    fill_demo(store, cipher, 2)
    with store.transaction() as conn:
        one, two = conn.execute(select(demo_people).order_by(demo_people.c.id)).mappings().all()
        conn.execute(update(demo_people).where(demo_people.c.id == 1).values(name_enc=two["name_enc"]))  # row swap
        conn.execute(update(demo_people).where(demo_people.c.id == 2).values(name_enc=two["phone_enc"]))  # column swap
    with store.reading() as conn:
        rows = {r["id"]: r for r in conn.execute(select(demo_people)).mappings()}
    for row_id in (1, 2):
        with pytest.raises(CiphertextError) as err:
            cipher.decrypt(rows[row_id]["name_enc"], demo_aad("name_enc", rows[row_id]), where="demo_people.name_enc")
        message = str(err.value)
        assert "failed authentication" in message and "demo_people.name_enc" in message
        assert not any(s in message for s in SENTINELS) and "#1" not in message
    assert cipher.decrypt(rows[1]["phone_enc"], demo_aad("phone_enc", rows[1])) == "13800138000#1"


def test_every_flipped_byte_is_detected(tmp_path):
    _, _, keyring = keyed_store(tmp_path)
    cipher = FieldCipher(keyring)
    aad = location_aad("t", "c", 1)
    token = cipher.encrypt(SENTINELS[2], aad)
    prefix, _, data = token.rpartition(".")
    blob = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    for i in range(len(blob)):
        flipped = bytearray(blob)
        flipped[i] ^= 0x01
        bad = f"{prefix}.{base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip('=')}"
        with pytest.raises(CiphertextError) as err:
            cipher.decrypt(bad, aad)
        assert SENTINELS[2] not in str(err.value)
    for bad in ("ch1.1.", "ch1.1.@@@", "garbage", token[:-30], token.replace("ch1.", "ch2.", 1)):
        with pytest.raises(CiphertextError):
            cipher.decrypt(bad, aad)


def test_relabelled_key_id_is_detected(tmp_path):
    store, kek, keyring = keyed_store(tmp_path)
    with store.transaction() as conn:
        new_kid = keys.rotate_data_key(conn, kek)
    with store.reading() as conn:
        keyring = keys.Keyring.load(conn, kek)
    cipher = FieldCipher(keyring)
    aad = location_aad("t", "c", 1)
    old_kid = [k for k in keyring.kids() if k != new_kid][0]
    token = cipher.encrypt("secret", aad)
    relabelled = token.replace(f"ch1.{new_kid}.", f"ch1.{old_kid}.", 1)
    with pytest.raises(CiphertextError):
        cipher.decrypt(relabelled, aad)
    assert cipher.decrypt(cipher.encrypt("old", aad, kid=old_kid), aad) == "old"  # decrypt_only still opens


def test_kek_from_env_and_file_and_wrong_kek(tmp_path, monkeypatch):
    text = keys.generate_kek()
    monkeypatch.setenv("MY_KEK", text)
    from_env = keys.load_kek(env="MY_KEK")
    key_file = tmp_path / "kek"
    key_file.write_text(text + "\n", "ascii")
    assert keys.load_kek(file=key_file).kek_id == from_env.kek_id
    assert text not in repr(from_env)
    monkeypatch.delenv("MY_KEK")
    with pytest.raises(KeyMaterialError, match="MY_KEK is not set"):
        keys.load_kek(env="MY_KEK")
    with pytest.raises(KeyMaterialError, match="not valid base64"):
        keys.kek_from_text("not base64!!", source="x")
    with pytest.raises(KeyMaterialError, match="32 bytes"):
        keys.kek_from_text(base64.b64encode(b"short").decode(), source="x")

    store, kek, _ = keyed_store(tmp_path, "k.db")
    other = keys.kek_from_text(keys.generate_kek(), source="other")
    with store.reading() as conn, pytest.raises(KeyMaterialError, match="cannot be unwrapped") as err:
        keys.Keyring.load(conn, other)
    assert text not in str(err.value)
    with store.transaction() as conn, pytest.raises(KeyMaterialError):
        keys.init_keys(conn, other)  # refuses to add keys under a KEK that does not match


def test_wrapped_key_moved_to_another_id_is_refused(tmp_path):
    store, kek, _ = keyed_store(tmp_path)
    with store.transaction() as conn:
        wrapped = {r.kid: r.wrapped for r in conn.execute(select(privacy_keys))}
        conn.execute(update(privacy_keys).where(privacy_keys.c.kid == 1).values(wrapped=wrapped[2]))
    with store.reading() as conn, pytest.raises(KeyMaterialError, match="key id 1"):
        keys.Keyring.load(conn, kek)


def test_kek_rotation_rewraps_the_registry(tmp_path):
    store, kek, keyring = keyed_store(tmp_path)
    token = FieldCipher(keyring).encrypt("v", b"aad")
    new = keys.kek_from_text(keys.generate_kek(), source="new")
    with store.transaction() as conn:
        assert keys.rewrap_registry(conn, kek, new) == 3
    with store.reading() as conn:
        assert FieldCipher(keys.Keyring.load(conn, new)).decrypt(token, b"aad") == "v"
        with pytest.raises(KeyMaterialError):
            keys.Keyring.load(conn, kek)


def test_store_file_holds_no_plaintext_or_key_material(tmp_path):
    store, kek, keyring = keyed_store(tmp_path)
    fill_demo(store, FieldCipher(keyring), 20)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    for sentinel in SENTINELS[:2]:
        for encoding in ("utf-8", "gb18030", "utf-16-le"):
            assert sentinel.encode(encoding) not in raw
    assert kek.key not in raw and base64.b64encode(kek.key) not in raw
    assert keyring.dek(keyring.active_kid) not in raw and keyring.index_root not in raw
