"""Identity resolution over the privacy layer, on SQLite and PostgreSQL: keys are keyed blind indexes
(and give the same partition as plaintext keys), golden profiles are sealed at rest, sealed source
records are read through the codec, a change of index is detected, and a large run extracts its
features on worker processes with the same result."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, update

from bench.identity_data import Generator
from hub.identity import keys, parallel, storage
from hub.identity.features import extract
from hub.identity.settings import IdentitySettings
from hub.identity.tables import identity_keys, identity_profiles, identity_state
from hub.privacy import blind_index, rewrap
from hub.privacy.crypto import is_ciphertext
from hub.privacy.runtime import current, ensure_active
from hub.privacy.settings import PrivacySettings
from hub.store.schema import source_records
from tests.test_identity_support import profile_of, rec, resolve, seeded, together


def _people(n: int) -> list[dict]:
    return [r for _, r in Generator(seed=3).records(n)]


def _partition(store) -> set[frozenset[str]]:  # noqa: ANN001
    groups: dict[int, set[str]] = {}
    for pk, pid in profile_of(store).items():
        groups.setdefault(pid, set()).add(pk)
    return {frozenset(g) for g in groups.values()}


def test_key_digest_is_the_keyed_blind_index(store_url, tmp_path):
    store = seeded(store_url, [rec("web", "a", name="Li Na", email="li.na@corp.cn", phone="+8613912345678")])
    ensure_active(store.engine, PrivacySettings(), tmp_path)
    digest = keys.key_digest("phone", "+8613912345678")
    assert digest == blind_index.blind_index("phone", "+8613912345678") and len(digest) == 32
    unkeyed = {hashlib.sha256(b"+8613912345678").hexdigest()[:32],
               hashlib.blake2b(b"phone\x1f+8613912345678", digest_size=16).hexdigest()}
    assert digest not in unkeyed
    resolve(store)
    with store.reading() as conn:
        stored = {d for (d,) in conn.execute(select(identity_keys.c.digest).where(identity_keys.c.kind == "phone"))}
        version = conn.execute(select(identity_state.c.value).where(identity_state.c.name == "bidx_version")).scalar()
    assert stored == {digest}
    assert version == keys.index_version() and version.startswith("bidx-v1:")


def test_blind_indexes_give_the_same_profiles_as_plaintext_keys(tmp_path):
    records = _people(1500)
    blind = seeded(f"sqlite:///{tmp_path / 'blind.db'}", records)
    resolve(blind)
    plain = seeded(f"sqlite:///{tmp_path / 'plain.db'}", records)
    with keys.plaintext_digests():
        resolve(plain)
    with plain.reading() as conn:
        assert conn.execute(select(identity_state.c.value).where(identity_state.c.name == "bidx_version")
                            ).scalar() == keys.PLAIN
    assert len(_partition(blind)) < len(records)  # people were merged at all
    assert _partition(blind) == _partition(plain)


def test_golden_profiles_are_sealed_at_rest_and_read_back(store_url):
    store = seeded(store_url, [rec("web", "a", name="张伟", email="zw@corp.cn"),
                               rec("crm", "b", name="张伟", email="zw@corp.cn", phone="+8613912345678")])
    resolve(store)
    assert together(store, "a", "b")
    with store.reading() as conn:
        pid, stored = conn.execute(select(identity_profiles.c.id, identity_profiles.c.golden).where(
            identity_profiles.c.status == "active")).one()
        assert is_ciphertext(stored)
        assert "张伟" not in stored and "zw@corp.cn" not in stored and "13912345678" not in stored
        golden = storage.open_golden(pid, stored)
        assert golden["fields"]["name"]["value"]["full"] == "张伟"
        assert {p["value"]["number"] for p in golden["phones"]} == {"+8613912345678"}
        from hub.identity.explain import describe

        assert describe(conn, pid)["golden"] == golden
    target = next(t for t in rewrap.registered_targets() if t.name == "identity_profiles.golden")
    with store.reading() as conn:
        assert rewrap.references(conn, target, current().keyring.active_kid) == 1
        assert rewrap.plaintext_count(conn, target) == 0


def test_sealed_source_records_are_read_through_the_codec(store_url):
    """Stored canonical records are sealed; one written before encryption (plaintext) reads too."""
    records = [rec("web", "a", name="Li Na", email="li.na@corp.cn"),
               rec("crm", "b", name="Li Na", email="LI.NA@corp.cn "),
               rec("expo", "c", name="Wang Fang", phone="+8613800138000")]
    store = seeded(store_url, records)
    s = source_records.c
    with store.transaction() as conn:
        rows = conn.execute(select(s.id, s.connection, s.stream, s.source_pk, s.canonical)).all()
        assert all(is_ciphertext(row.canonical) for row in rows)
        legacy = next(row for row in rows if row.source_pk == "b")
        conn.execute(update(source_records).where(s.id == legacy.id).values(canonical=orjson.dumps(
            storage.open_canonical(legacy.connection, legacy.stream, "b", legacy.canonical)).decode()))
    resolve(store)
    assert together(store, "a", "b") and not together(store, "a", "c")


def test_a_changed_blind_index_rebuilds_every_key(store_url):
    store = seeded(store_url, [rec("web", "a", name="Li Na", email="li.na@corp.cn"),
                               rec("crm", "b", name="Li Na", email="li.na@corp.cn")])
    first = resolve(store)
    assert not first.reindexed
    with store.transaction() as conn:  # keys written under an older index (version or key)
        conn.execute(update(identity_state).where(identity_state.c.name == "bidx_version").values(value="bidx-v0:x"))
        conn.execute(update(identity_keys).values(digest="0" * 32))
    second = resolve(store)
    assert second.reindexed and second.mode == "full"
    with store.reading() as conn:
        digests = {d for (d,) in conn.execute(select(identity_keys.c.digest))}
    assert "0" * 32 not in digests and keys.key_digest("email", "li.na@corp.cn") in digests
    assert together(store, "a", "b")


def test_extraction_on_worker_processes_equals_in_process(store_url, monkeypatch):
    records = _people(600)
    store = seeded(store_url, records)
    resolve(store)
    expected = profile_of(store), _goldens(store), _keys(store)
    settings = IdentitySettings()
    with store.reading() as conn:
        monkeypatch.setattr(parallel, "RANGE", 97)
        spawned = parallel.extract_all(conn, settings, PrivacySettings(), Path.cwd())
        local = parallel.extract_rows(storage.iter_records(conn), settings)
    assert [parallel._to_tuple(f) for f in spawned] == [parallel._to_tuple(f) for f in local]
    monkeypatch.setattr(parallel, "MIN_RECORDS", 1)
    again = resolve(store, full=True)  # on the pool
    assert again.mode == "full" and (profile_of(store), _goldens(store), _keys(store)) == expected


def test_a_failed_key_write_rolls_back_the_whole_run(store_url, monkeypatch):
    store = seeded(store_url, _people(300))
    resolve(store)
    before = profile_of(store), _goldens(store), _keys(store)

    def fail(conn, features, *key_json):  # noqa: ANN001, ANN002, ANN202
        raise RuntimeError("disk full")

    monkeypatch.setattr(parallel, "MIN_RECORDS", 1)
    monkeypatch.setattr(storage, "replace_all_keys", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        resolve(store, full=True)
    assert (profile_of(store), _goldens(store), _keys(store)) == before


def _keys(store) -> list[tuple]:  # noqa: ANN001
    with store.reading() as conn:
        return [tuple(row) for row in conn.execute(select(identity_keys).order_by(
            identity_keys.c.record_id, identity_keys.c.kind, identity_keys.c.digest))]


def _goldens(store) -> dict:  # noqa: ANN001
    with store.reading() as conn:
        rows = conn.execute(select(identity_profiles.c.id, identity_profiles.c.golden).where(
            identity_profiles.c.status == "active")).all()
    assert rows and all(is_ciphertext(golden) for _, golden in rows)
    return {pid: storage.open_golden(pid, golden) for pid, golden in rows}


@pytest.mark.parametrize("plain", [False, True])
def test_name_digests_cached_per_index(tmp_path, plain):
    """A cached name digest never leaks from one index (store key or plaintext mode) into another."""
    one = seeded(f"sqlite:///{tmp_path / 'one.db'}", [])
    two = seeded(f"sqlite:///{tmp_path / 'two.db'}", [])
    record = rec("web", "a", name="Li Na")
    ensure_active(one.engine, PrivacySettings(), tmp_path)
    first = extract(1, record, IdentitySettings()).name_digest
    ensure_active(two.engine, PrivacySettings(), tmp_path)
    with keys.plaintext_digests(plain):
        second = extract(1, record, IdentitySettings()).name_digest
        assert second == keys.key_digest("name", "li na")
    assert first != second
