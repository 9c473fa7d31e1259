"""Helpers for the privacy tests (no tests here): a migrated store with keys, a demo encrypted table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from hub.privacy import keys
from hub.privacy.crypto import FieldCipher, location_aad
from hub.privacy.rewrap import RewrapTarget
from hub.store import Store

SENTINELS = ("张三丰", "13800138000", "zhang.sanfeng@example.com", "oUnionSentinel0001")

demo_metadata = MetaData()  # not the store's metadata: the demo table is a test fixture only
demo_people = Table(
    "demo_people", demo_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tag", String(20), nullable=False),
    Column("name_enc", Text),
    Column("phone_enc", Text),
)


def demo_aad(column: str, row) -> bytes:
    return location_aad("demo_people", column, row["id"])


DEMO_TARGET = RewrapTarget(demo_people, "id", ("name_enc", "phone_enc"), demo_aad)


def open_store(tmp_path: Path, name: str = "store.db") -> Store:
    return Store.open(f"sqlite:///{tmp_path / name}")


def keyed_store(tmp_path: Path, name: str = "store.db") -> tuple[Store, keys.Kek, keys.Keyring]:
    store = open_store(tmp_path, name)
    kek = keys.kek_from_text(keys.generate_kek(), source="test")
    with store.transaction() as conn:
        keys.init_keys(conn, kek)
    with store.reading() as conn:
        keyring = keys.Keyring.load(conn, kek)
    return store, kek, keyring


def fill_demo(store: Store, cipher: FieldCipher, rows: int) -> None:
    demo_metadata.create_all(store.engine)
    with store.transaction() as conn:
        conn.execute(demo_people.insert(), [
            {"id": i, "tag": f"t{i}",
             "name_enc": cipher.encrypt(f"{SENTINELS[0]}{i}", location_aad("demo_people", "name_enc", i)),
             "phone_enc": cipher.encrypt(f"{SENTINELS[1]}#{i}", location_aad("demo_people", "phone_enc", i))}
            for i in range(1, rows + 1)])
