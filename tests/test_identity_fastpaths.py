"""The vectorised fast paths of identity resolution give what their plain definitions give."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import ratio, token_set_ratio

from hub.identity.compare import Comparer
from hub.identity.features import Features
from hub.identity.linker import factorise, sorted_unique
from hub.identity.resolver import _pairs_from_index


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
