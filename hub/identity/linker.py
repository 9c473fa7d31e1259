"""Link a set of records: identifier edges, blocked candidate pairs scored by the model, guarded
clustering, and the pairs left for review. Used alike for a full run (every record) and an
incremental one (new records plus the profiles they touch).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.fuzz import token_set_ratio

from hub.identity.compare import FIELDS, Comparer
from hub.identity.features import Features
from hub.identity.graph import Edge, GuardedUnionFind
from hub.identity.keys import DIGEST_CHARS
from hub.identity.model import FSModel, level_frequencies, match_weights, probability, train, weight_of
from hub.identity.settings import IdentitySettings

log = logging.getLogger("custhub.identity")
KeyStats = dict[str, tuple[int, int]]  # digest -> (records holding it, distinct names among them)
# name similarity (token set ratio, 0-100) below which two records sharing an identifier are not linked by it
NAME_COMPATIBLE = 75
AGREE_AT = (None, 2, 1, 2, 1, 1, 1, None)  # per field: level counted as "agrees" for common names


@dataclass
class LinkResult:
    roots: list[int]
    joined: list[Edge]
    review: list[Edge]
    refused: Counter = field(default_factory=Counter)
    demoted: Counter = field(default_factory=Counter)
    pairs_scored: int = 0


def factorise(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """A code per value (equal values, equal codes) and the distinct values by code."""
    fast = _factorise_digests(values)
    if fast is not None:
        return fast
    table: dict[str, int] = {}
    codes = np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(table)


def _factorise_digests(values: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """``factorise`` of 32-hex-digit digests, in numpy: each digest read as two 64-bit halves and
    coded by its first half, the second half checked to agree within every code (None otherwise:
    not all digests, or two digests sharing a first half)."""
    n = len(values)
    if n == 0 or sum(map(len, values)) != DIGEST_CHARS * n or min(map(len, values)) != DIGEST_CHARS:
        return None
    try:
        halves = np.frombuffer(bytes.fromhex("".join(values)), dtype=">u8").reshape(n, 2)
    except ValueError:
        return None
    uniques, first, codes = np.unique(halves[:, 0], return_index=True, return_inverse=True)
    if not np.array_equal(halves[first, 1][codes], halves[:, 1]):
        return None
    return codes.astype(np.int64, copy=False), [values[i] for i in first.tolist()]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers by sorting (numpy 2's hash-based ``unique`` is many times slower here)."""
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


@dataclass
class BlockCodes:
    """The records' blocking keys as integer codes: one entry per (record, key)."""

    codes: np.ndarray  # the code of each entry's digest
    nodes: np.ndarray  # the index of each entry's record
    uniques: list[str]  # the digest of each code


def block_codes(features: Sequence[Features]) -> BlockCodes:
    digests = [d for f in features for _, d in f.blocks]
    nodes = np.fromiter((i for i, f in enumerate(features) for _ in f.blocks), dtype=np.int64, count=len(digests))
    codes, uniques = factorise(digests)
    return BlockCodes(codes, nodes, uniques)


def key_stats(features: Sequence[Features], blocks: BlockCodes | None = None) -> KeyStats:
    """Holders and distinct names per key digest, from records in memory (a full run)."""
    digests = [d for f in features for _, _, d in f.strong]
    stats: KeyStats = {}
    if digests:
        codes, uniques = factorise(digests)
        holder_nodes = np.fromiter((i for i, f in enumerate(features) for _ in f.strong), dtype=np.int64,
                                   count=len(digests))
        name_codes = _name_codes(features)[holder_nodes]
        holders = np.bincount(codes, minlength=len(uniques))
        named = name_codes >= 0
        width = int(name_codes.max()) + 2
        pairs = sorted_unique(codes[named] * width + name_codes[named])
        distinct = np.bincount(pairs // width, minlength=len(uniques))
        stats.update(zip(uniques, zip(holders.tolist(), distinct.tolist(), strict=True), strict=True))
    blocks = blocks or block_codes(features)
    if len(blocks.codes):
        holders = np.bincount(blocks.codes, minlength=len(blocks.uniques))
        stats.update(zip(blocks.uniques, ((n, 0) for n in holders.tolist()), strict=True))
    return stats


def _name_codes(features: Sequence[Features]) -> np.ndarray:
    """A code per record for its name digest, -1 for none."""
    out = np.full(len(features), -1, dtype=np.int64)
    named = [i for i, f in enumerate(features) if f.name_digest]
    if named:
        out[named] = factorise([features[i].name_digest for i in named])[0]  # type: ignore[misc]
    return out


def candidate_pairs(features: Sequence[Features], stats: KeyStats, max_block: int,
                    blocks: BlockCodes | None = None) -> np.ndarray:
    """Distinct (a, b) index pairs, a < b, sharing a blocking key whose block is small enough.

    Vectorised: entries sorted by block; the k-th pass pairs each entry with the one k places
    further in the same block, so the work is the number of pairs, not blocks times records.
    ``blocks``: the features' ``block_codes`` when already computed.
    """
    blocks = blocks or block_codes(features)
    if len(blocks.codes) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    codes, nodes, uniques = blocks.codes, blocks.nodes, blocks.uniques
    local = np.bincount(codes, minlength=len(uniques))
    known = np.fromiter((stats.get(d, (0, 0))[0] for d in uniques), dtype=np.int64, count=len(uniques))
    usable = (local >= 2) & (np.maximum(local, known) <= max_block)
    keep = usable[codes]
    codes, nodes = codes[keep], nodes[keep]
    order = np.argsort(codes, kind="stable")
    codes, nodes = codes[order], nodes[order]
    if len(codes) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    first = np.searchsorted(codes, codes, side="left")
    pos = np.arange(len(codes)) - first
    size = local[codes]
    left, right = [], []
    idx = np.arange(len(codes))
    k = 1
    while True:
        idx = idx[pos[idx] + k < size[idx]]
        if len(idx) == 0:
            break
        left.append(nodes[idx])
        right.append(nodes[idx + k])
        k += 1
    a, b = np.concatenate(left), np.concatenate(right)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    lo, hi = lo[lo != hi], hi[lo != hi]
    n = len(features)
    unique = sorted_unique(lo * n + hi)
    return np.stack([unique // n, unique % n], axis=1)


def random_pairs(n: int, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, count), rng.integers(0, n, count)
    keep = a != b
    return np.stack([np.minimum(a, b)[keep], np.maximum(a, b)[keep]], axis=1)


MASK_FIELD = {"email": FIELDS.index("email"), "phone": FIELDS.index("phone")}


def fit_model(features: Sequence[Features], pairs: np.ndarray, settings: IdentitySettings,
              stats: KeyStats, comparer: Comparer | None = None, keyed: KeyEdges | None = None) -> FSModel:
    """u from random pairs; m and the match share by EM on the candidates, anchored by identifier links.

    ``keyed``: the records' identifier edges when already found (a full run finds them once for
    training and linking)."""
    comparer = comparer or Comparer(features)
    rnd = random_pairs(len(features), min(200_000, max(1000, len(features) * 2)))
    u = level_frequencies(comparer.gammas(rnd[:, 0], rnd[:, 1]))
    rng = np.random.default_rng(2)
    candidates = len(pairs)
    if len(pairs) > settings.em_max_pairs:
        pairs = pairs[rng.choice(len(pairs), settings.em_max_pairs, replace=False)]
    key_edges = (keyed or find_key_edges(features, settings, stats)).edges
    if len(key_edges) > 200_000:
        key_edges = [key_edges[i] for i in rng.choice(len(key_edges), 200_000, replace=False)]
    labelled = comparer.gammas(np.array([e.a for e in key_edges], dtype=np.int64),
                               np.array([e.b for e in key_edges], dtype=np.int64))
    for i, edge in enumerate(key_edges):
        if edge.evidence["key"] in MASK_FIELD:
            labelled[i, MASK_FIELD[edge.evidence["key"]]] = -1
    linker = Linker(features, settings, None, stats, len(features))
    return train(comparer.gammas(pairs[:, 0], pairs[:, 1]), u, labelled=labelled, name_u=linker._name_u(pairs),
                 candidates=candidates, records=len(features))


@dataclass
class KeyEdges:
    """Identifier edges among a set of records, strongest first, and the keys demoted on the way."""

    edges: list[Edge]
    demoted: Counter


def find_key_edges(features: Sequence[Features], settings: IdentitySettings, stats: KeyStats) -> KeyEdges:
    """Star edges between the holders of each usable identifier, by identifier priority."""
    holders: dict[str, list] = {}  # digest -> [kind, node, node, ...]
    for i, f in enumerate(features):
        for kind, _, digest in f.strong:
            entry = holders.get(digest)
            if entry is None:
                holders[digest] = [kind, i]
            else:
                entry.append(i)
    rules = {kind: settings.rule_for(kind) for kind in {entry[0] for entry in holders.values()}}
    demoted: Counter = Counter()
    edges: list[Edge] = []
    for digest, entry in holders.items():
        kind, rule = entry[0], rules[entry[0]]
        records, names = stats.get(digest, (len(entry) - 1, 1))
        if records > rule.max_records or names > rule.max_names:
            demoted[kind] += 1
        elif len(entry) > 2:  # a key held by one record here links nothing
            edges.extend(_star(features, entry[1:], kind, -float(rule.priority), demoted))
    edges.sort(key=lambda e: e.weight, reverse=True)
    return KeyEdges(edges, demoted)


def _star(features: Sequence[Features], nodes: list[int], kind: str, weight: float, demoted: Counter) -> list[Edge]:
    """Link holders of one key, but never two whose names clearly differ (a shared mailbox
    or number that is too rare to be caught by the counts): those are left to the model."""
    reps: list[int] = []
    edges = []
    for node in nodes:
        name = features[node].name_key
        rep = next((r for r in reps if _names_compatible(features[r].name_key, name)), None)
        if rep is None:
            if reps:
                demoted[f"{kind}_name_conflict"] += 1
            reps.append(node)
        else:
            edges.append(Edge(rep, node, "key", weight, {"key": kind}))
    return edges


class Linker:
    def __init__(self, features: Sequence[Features], settings: IdentitySettings, model: FSModel | None,
                 stats: KeyStats, total_records: int, comparer: Comparer | None = None,
                 keyed: KeyEdges | None = None) -> None:
        self.features, self.settings, self.model = features, settings, model
        self.stats, self.total = stats, max(total_records, 1)
        self._comparer, self._keyed = comparer, keyed

    @property
    def comparer(self) -> Comparer:
        if self._comparer is None:
            self._comparer = Comparer(self.features)
        return self._comparer

    def link(self, must_link: Sequence[tuple[int, int]], cannot_link: Sequence[tuple[int, int]],
             pairs: np.ndarray | None = None, stored: Sequence[Edge] = ()) -> LinkResult:
        """Cluster under the guards: human must-links, then links kept from earlier runs (``stored``,
        incremental runs), then identifiers by priority, then scored ``pairs`` by weight."""
        s = self.settings
        unlimited = {k for k, r in s.key_rules.items() if r.limit >= 1000}  # rule_for: other kinds are limited
        limited = {i: [(g, d) for k, g, d in f.strong if k not in unlimited]
                   for i, f in enumerate(self.features) if f.strong}
        limits = {k: r.limit for k, r in s.key_rules.items()}
        uf = GuardedUnionFind(len(self.features), limited, limits, cannot_link, s.max_cluster_records)
        result = LinkResult(roots=[], joined=[], review=[])
        for a, b in must_link:
            self._offer(uf, result, Edge(a, b, "manual", 0.0, {"decision": "must_link"}))
        for edge in stored:
            self._offer(uf, result, edge)
        keyed = self._keyed or find_key_edges(self.features, s, self.stats)
        result.demoted.update(keyed.demoted)
        for edge in keyed.edges:
            self._offer(uf, result, edge)
        if self.model is not None:
            if pairs is None:
                pairs = candidate_pairs(self.features, self.stats, s.max_block_size)
            self._match(uf, result, pairs, set(map(_ordered, cannot_link)))
        result.roots = [uf.find(i) for i in range(len(self.features))]
        return result

    def _offer(self, uf: GuardedUnionFind, result: LinkResult, edge: Edge) -> bool:
        why = uf.union(edge.a, edge.b, manual=edge.kind == "manual")
        if why is None:
            result.joined.append(edge)
            return True
        if why != "same":
            result.refused[why] += 1
        return False

    def score(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(comparison levels, match weights) of ``pairs``, the common-name guard applied."""
        gammas = self.comparer.gammas(pairs[:, 0], pairs[:, 1])
        weights = match_weights(self.model, gammas, self._name_u(pairs))
        match_w = weight_of(self.settings.match_threshold)
        capped = self._common_name_pairs(pairs, gammas) & (weights >= match_w)
        weights[capped] = np.minimum(weights[capped], match_w - 0.01)
        self.capped = int(capped.sum())
        return gammas, weights

    def _match(self, uf: GuardedUnionFind, result: LinkResult, pairs: np.ndarray, cannot: set) -> None:
        s = self.settings
        if len(pairs) == 0:
            return
        roots = np.fromiter((uf.find(i) for i in range(len(self.features))), dtype=np.int64,
                            count=len(self.features))
        pairs = pairs[roots[pairs[:, 0]] != roots[pairs[:, 1]]]
        result.pairs_scored = len(pairs)
        if len(pairs) == 0:
            return
        gammas, weights = self.score(pairs)
        review_w, match_w = weight_of(s.review_threshold), weight_of(s.match_threshold)
        result.refused["common_name"] += self.capped
        keep = np.flatnonzero(weights >= review_w)
        order = keep[np.argsort(-weights[keep], kind="stable")]
        for a, b, w, p, row in zip(pairs[order, 0].tolist(), pairs[order, 1].tolist(), weights[order].tolist(),
                                   probability(weights[order]).tolist(), gammas[order].tolist(), strict=True):
            levels = {name: level for name, level in zip(FIELDS, row, strict=True) if level >= 0}
            edge = Edge(a, b, "match", w, {"levels": levels, "p": round(p, 6)})
            if w >= match_w:
                self._offer(uf, result, edge)
            elif uf.find(a) != uf.find(b) and _ordered((a, b)) not in cannot:
                result.review.append(edge)
        result.review = [e for e in result.review if uf.find(e.a) != uf.find(e.b)]

    def _name_u(self, pairs: np.ndarray) -> np.ndarray:
        """The share of records carrying the left record's name (term frequency), per pair."""
        freq = np.zeros(len(self.features), dtype=np.float64)
        for i, f in enumerate(self.features):
            for kind, digest in f.blocks:
                if kind == "b_name":
                    freq[i] = self.stats.get(digest, (1, 0))[0] / self.total
                    break
        return freq[pairs[:, 0]]

    def _common_name_pairs(self, pairs: np.ndarray, gammas: np.ndarray) -> np.ndarray:
        s = self.settings
        threshold = max(s.common_name_min_records, s.common_name_share * self.total)
        common = np.zeros(len(self.features), dtype=bool)
        for i, f in enumerate(self.features):
            for kind, digest in f.blocks:
                if kind == "b_name" and self.stats.get(digest, (1, 0))[0] >= threshold:
                    common[i] = True
        agreements = np.zeros(len(pairs), dtype=np.int64)
        for col, at in enumerate(AGREE_AT):
            if at is not None:
                agreements += gammas[:, col] >= at
        return common[pairs[:, 0]] & (gammas[:, 0] >= 2) & (agreements < s.common_name_min_agreements)


def _names_compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b or token_set_ratio(a, b) >= NAME_COMPATIBLE


def _ordered(pair: tuple[int, int]) -> tuple[int, int]:
    a, b = pair
    return (a, b) if a < b else (b, a)
