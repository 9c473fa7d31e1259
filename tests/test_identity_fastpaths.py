"""The vectorised fast paths of identity resolution give what their plain definitions give."""

from __future__ import annotations

import marshal
import random

import numpy as np
import orjson
import pytest
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import ratio, token_set_ratio

from bench.identity_data import Generator
from hub.identity import parallel, storage
from hub.identity.compare import Comparer
from hub.identity.features import Features
from hub.identity.linker import factorise, sorted_unique
from hub.identity.resolver import _pairs_from_index
from hub.identity.settings import IdentitySettings
from hub.privacy.crypto import is_ciphertext
from tests.test_identity_support import resolve, seeded


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _check_codes(values: list[str]) -> None:
    codes, uniques = factorise(values)
    assert [uniques[c] for c in codes.tolist()] == values
    assert len(uniques) == len(set(values))


def test_factorise_codes_digests_as_a_dictionary_would():
    rng = random.Random(1)
    pool = [_hex(rng) for _ in range(300)]
    _check_codes([rng.choice(pool) for _ in range(2000)])


@pytest.mark.parametrize("values", [
    ["0" * 16 + "1" * 16, "0" * 16 + "2" * 16, "0" * 16 + "1" * 16],  # two digests share their first half
    ["ab", "", "ab", "cd"],  # not digests
    ["g" * 32, "f" * 32],  # 32 characters, not hexadecimal
    [],
])
def test_factorise_falls_back_where_the_fast_path_cannot_tell(values):
    _check_codes(values)


def test_sorted_unique_is_numpys_unique():
    rng = np.random.default_rng(3)
    for values in (np.zeros(0, dtype=np.int64), np.array([7]), rng.integers(0, 50, 1000)):
        assert np.array_equal(sorted_unique(values), np.unique(values))


class _Node:
    def __init__(self, record_id: int) -> None:
        self.record_id = record_id


def _pairs_by_definition(nodes: list[_Node], first: int, sharing: list[tuple[str, int]]) -> list[tuple[int, int]]:
    index = {n.record_id: i for i, n in enumerate(nodes)}
    holders: dict[str, set[int]] = {}
    for digest, rid in sharing:
        if rid in index:
            holders.setdefault(digest, set()).add(index[rid])
    return sorted({(min(a, b), max(a, b)) for group in holders.values() for a in group for b in group
                   if a != b and min(a, b) < first})


@pytest.mark.parametrize("seed", range(40))
def test_pairs_from_the_key_index_pair_each_new_record_with_every_other_holder(seed):
    rng = random.Random(seed)
    ids = rng.sample(range(10_000), 60)
    nodes = [_Node(r) for r in ids[:rng.randint(0, 50)]]  # the other ids hold keys but are not nodes
    first = rng.randint(0, len(nodes))
    digests = [_hex(rng) for _ in range(rng.randint(1, 8))]
    sharing = list({(rng.choice(digests), rng.choice(ids)) for _ in range(rng.randint(0, 120))})
    assert _pairs_from_index(nodes, first, sharing).tolist() == [list(p) for p in
                                                                 _pairs_by_definition(nodes, first, sharing)]


def _features(rng: random.Random, i: int) -> Features:
    def pick(*values: str | None) -> str | None:
        return rng.choice(values)

    return Features(
        record_id=i, connection="c", strong=[], blocks=[], blocked=0, name_digest=None,
        name_key=pick("wei zhang", "wei zhan", "jon smith", "john smith", "na li", None), han=None,
        dob=pick("19870412", "19871204", "19870413", "19901201", None),
        employer=pick("acme", "acme tech", "globex", None), city=pick("beijing", "bejing", "shanghai", None),
        street=pick("1 main st", "1 main street", "2 high rd", None), postcode=pick("100000", None),
        gender=pick("male", "female", None), email_locals=frozenset(), emails=frozenset(), phones=frozenset())


@pytest.mark.parametrize(("attr", "scorer"), [("name_key", JaroWinkler.normalized_similarity),
                                              ("name_key", token_set_ratio), ("employer", ratio),
                                              ("city", JaroWinkler.normalized_similarity),
                                              ("street", JaroWinkler.normalized_similarity),
                                              ("dob", Levenshtein.distance)])
def test_fuzzy_scores_of_distinct_value_pairs_are_each_pairs_scores(attr, scorer):
    rng = random.Random(5)
    features = [_features(rng, i) for i in range(60)]
    comparer = Comparer(features)
    ia = np.array([rng.randrange(60) for _ in range(500)], dtype=np.int64)
    ib = np.array([rng.randrange(60) for _ in range(500)], dtype=np.int64)
    present = np.array([getattr(features[a], attr) is not None and getattr(features[b], attr) is not None
                        for a, b in zip(ia.tolist(), ib.tolist(), strict=True)])
    sims = comparer._sims(attr, ia, ib, present, scorer, fill=-1.0)
    expected = [np.float32(scorer(getattr(features[a], attr), getattr(features[b], attr))) if keep else -1.0
                for a, b, keep in zip(ia.tolist(), ib.tolist(), present.tolist(), strict=True)]
    assert sims.tolist() == pytest.approx(expected)


@pytest.fixture
def keyed_store(tmp_path, monkeypatch):  # noqa: ANN201
    """A resolved SQLite store of generated people, with this process set up as a pool worker."""
    store = seeded(f"sqlite:///{tmp_path / 'fast.db'}", [r for _, r in Generator(seed=11).records(400)])
    resolve(store)
    monkeypatch.setattr(parallel, "_engine", store.engine)
    monkeypatch.setattr(parallel, "_settings", IdentitySettings())
    return store


def _stored_keys(conn) -> list[tuple]:  # noqa: ANN001
    return [tuple(r) for r in conn.exec_driver_sql(
        "SELECT record_id, kind, digest, name_digest, typeof(record_id), typeof(name_digest) FROM identity_keys "
        "ORDER BY rowid")]


def test_keys_inserted_from_json_chunks_are_the_rows_inserted_one_by_one(keyed_store):
    with keyed_store.transaction() as conn:
        features = parallel.extract_rows(storage.iter_records(conn), IdentitySettings())
        storage.replace_all_keys(conn, features)
        expected = _stored_keys(conn)
        cut = len(features) // 3
        storage.replace_all_keys(conn, features, [storage.key_rows_json(features[:cut]),
                                                  storage.key_rows_json(features[cut:])])
        assert _stored_keys(conn) == expected and any(row[3] is None for row in expected)


def test_a_worker_returns_the_features_keys_and_records_it_opened(keyed_store):
    with keyed_store.reading() as conn:
        rows = list(storage.iter_records(conn))
    lo, hi = rows[0][0], rows[-1][0] + 1
    features = parallel.extract_rows(rows, IdentitySettings())
    plain = parallel._extract(lo, hi, False)
    assert marshal.loads(parallel._extract_range(lo, hi)) == plain
    assert plain == ([parallel._to_tuple(f) for f in features], None, [])
    tuples, key_json, opened = marshal.loads(parallel._extract_range(lo, hi, True))
    assert tuples == plain[0] and key_json == storage.key_rows_json(features)
    assert [(c, s, pk, orjson.loads(text)) for c, s, pk, text in opened] == [
        (c, s, pk, storage.open_canonical(c, s, pk, canonical)) for _, c, s, pk, _, canonical in rows]
    assert all(isinstance(text, bytes) for *_, text in opened)


def test_open_canonical_text_reads_sealed_and_plaintext_records(keyed_store):
    with keyed_store.reading() as conn:
        _, c, s, pk, _, stored = next(iter(storage.iter_records(conn)))
    assert is_ciphertext(stored)
    assert orjson.loads(storage.open_canonical_text(c, s, pk, stored)) == storage.open_canonical(c, s, pk, stored)
    text = orjson.dumps(storage.open_canonical(c, s, pk, stored)).decode()
    assert storage.open_canonical_text(c, s, pk, text) == text


def test_golden_records_from_carried_records_equal_those_read_from_the_store(keyed_store):
    with keyed_store.reading() as conn:
        members = conn.exec_driver_sql("SELECT profile_id, record_id FROM identity_members "
                                       "ORDER BY profile_id, record_id DESC").all()
        rows = list(storage.iter_records(conn))
    clusters: dict[int, list[int]] = {}
    for pid, rid in members:
        clusters.setdefault(pid, []).append(rid)
    _, _, opened = parallel._extract(rows[0][0], rows[-1][0] + 1, True)
    by_id = {row[0]: record for row, record in zip(rows, opened, strict=True)}
    by_ids = parallel._golden_batch(list(clusters.items()))
    carried = parallel._golden_batch([(pid, [(r, *by_id[r]) for r in sorted(rids)]) for pid, rids in clusters.items()])
    assert any(len(rids) > 1 for rids in clusters.values())
    assert [(storage.open_golden(pid, sealed), pid) for sealed, pid in carried] == [
        (storage.open_golden(pid, sealed), pid) for sealed, pid in by_ids]
