"""Resolve stored source records into golden profiles: a full run, or incrementally.

A full run (the first, or ``full=True``) reads every record, learns the match model when none is
stored (or ``retrain``), links and clusters everything and rewrites the identity tables in bulk.
An incremental run resolves only records that are new or changed since their last resolution:
their keys are stored, records sharing a usable key or a candidate block with them are found
through the key index, and that neighbourhood (with every member of the profiles it touches) is
linked again with the stored model. Profile ids are kept stable in both (see ``assign``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import Connection

from hub.failpoints import failpoint
from hub.identity import keys, parallel, review, storage
from hub.identity.assign import Assignment, assign_profiles
from hub.identity.compare import Comparer
from hub.identity.features import Features
from hub.identity.golden import golden_text
from hub.identity.graph import Edge
from hub.identity.key_writer import KeyWriter
from hub.identity.linker import (
    KeyEdges,
    Linker,
    LinkResult,
    block_codes,
    candidate_pairs,
    factorise,
    find_key_edges,
    fit_model,
    key_stats,
    sorted_unique,
)
from hub.identity.model import FSModel, weight_of
from hub.identity.settings import IdentitySettings
from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from hub.store import Store, runs
from hub.store.runs import StreamCounts

log = logging.getLogger("custhub.identity")
MODEL_STATE = "fs_model"
INDEX_STATE = "bidx_version"  # the blind index the stored keys were computed with (keys.index_version)
FULL_RUN_SHARE = 0.5  # when more than this share of records is pending, a full run is faster


@dataclass
class ResolveSummary:
    run_id: int = 0
    mode: str = "incremental"
    records: int = 0  # records (re)linked in this run
    pending: int = 0  # new or changed records that triggered it
    profiles: int = 0  # profiles written
    created: int = 0
    merged: int = 0
    links: int = 0
    review_added: int = 0
    pairs_scored: int = 0
    demoted: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    timings: dict[str, float] = field(default_factory=dict)
    touched_profiles: list[int] = field(default_factory=list)
    neighbourhood: dict[str, int] = field(default_factory=dict)
    reindexed: bool = False  # keys were rebuilt because the blind index changed


class _Timer:
    def __init__(self, summary: ResolveSummary) -> None:
        self.summary, self.last = summary, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.summary.timings[name] = round(self.summary.timings.get(name, 0.0) + now - self.last, 3)
        self.last = now


def resolve_identities(store: Store, settings: IdentitySettings, *, full: bool = False,
                       retrain: bool = False, privacy: PrivacySettings | None = None,
                       base_dir: Path | None = None) -> ResolveSummary:
    """Resolve new and changed records (or all, with ``full``); one transaction, all or nothing.

    Activates the privacy layer for the store first (blind indexes, sealed columns), with
    ``privacy``/``base_dir`` from the config (defaults: the auto KEK, the working directory), so
    a scheduler or a test need not open the store through the CLI. A kill at any point leaves the
    identity tables as they were before the run or as it left them; a rerun finishes the work.
    """
    ensure_active(store.engine, privacy or PrivacySettings(), base_dir or Path.cwd())
    with store.transaction() as conn:
        run_id = runs.start_run(conn, "resolve", "identity")
    summary = ResolveSummary(run_id=run_id)
    try:
        with store.transaction() as conn, _no_cyclic_gc(), _large_cache(conn):
            _resolve(conn, settings, summary, full=full, retrain=retrain,
                     workers=(privacy or PrivacySettings(), base_dir or Path.cwd()))
            failpoint("resolve.before_commit")
    except BaseException as exc:
        with store.transaction() as conn:
            runs.finish_run(conn, run_id, "failed", StreamCounts(), type(exc).__name__)
        raise
    failpoint("resolve.after_commit")
    with store.transaction() as conn:
        runs.finish_run(conn, run_id, "succeeded", StreamCounts(read=summary.records,
                                                                  inserted=summary.created), None)
    log.info("resolve run %s: %s records, %s profiles, %s created, %s merged", run_id, summary.records,
             summary.profiles, summary.created, summary.merged)
    return summary


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A run builds millions of small acyclic objects; the cyclic collector would rescan all of them
    again and again (a third of a full run's time). Reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


SQLITE_CACHE_KIB = 512 * 1024  # SQLite's page cache for a run's connection (default 2 MB), see _large_cache


@contextmanager
def _large_cache(conn: Connection) -> Iterator[None]:
    """A large SQLite page cache for the run: a full run writes millions of rows into indexed tables
    and builds the key indexes, and with the default 2 MB SQLite spills and reads back the same pages
    (index leaves, B-tree interiors) again and again, and sorts for CREATE INDEX in temporary files.
    Memory is taken only as pages are used; the connection's own size is restored after the run."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with suppress(Exception):  # never in place of the run's own error
            conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def resolve_records(conn: Connection, settings: IdentitySettings, record_ids: set[int],
                    summary: ResolveSummary | None = None) -> ResolveSummary:
    """Link ``record_ids`` again (with the stored model), e.g. after a human decision about them."""
    summary = summary or ResolveSummary(mode="subset")
    features = _load_features(conn, sorted(record_ids), settings)
    _link_and_apply(conn, settings, features, summary, _model(conn) or None, replace_all=False)
    return summary


def _resolve(conn: Connection, settings: IdentitySettings, summary: ResolveSummary, *, full: bool,
             retrain: bool, workers: tuple[PrivacySettings, Path] | None = None) -> None:
    timer = _Timer(summary)
    total = storage.record_count(conn)
    pending = storage.pending_record_ids(conn)
    summary.pending = len(pending)
    timer.lap("find_pending")
    if total == 0:
        return
    version = keys.index_version()
    stored = storage.load_state(conn, INDEX_STATE)
    stale_index = stored != version and (stored is not None or storage.has_keys(conn))
    if stale_index:  # keys stored under another index (version or key): rebuild them all
        log.info("identity keys were stored under another blind index: rebuilding them")
        summary.reindexed = True
    storage.save_state(conn, INDEX_STATE, version, datetime.now(UTC))
    if full or retrain or stale_index or len(pending) > FULL_RUN_SHARE * total or _model(conn) is None:
        _full(conn, settings, summary, timer, retrain=retrain or _model(conn) is None,
              workers=workers if total >= parallel.MIN_RECORDS and parallel.workers() > 1 else None)
    elif pending:
        _incremental(conn, settings, summary, timer, pending, total)


def _model(conn: Connection) -> FSModel | None:
    text = storage.load_state(conn, MODEL_STATE)
    return FSModel.from_json(text) if text else None


def _load_features(conn: Connection, ids: Sequence[int] | None, settings: IdentitySettings, *,
                   digests: bool = True) -> list[Features]:
    return parallel.extract_rows(storage.iter_records(conn, ids), settings, digests=digests)


def _full(conn: Connection, settings: IdentitySettings, summary: ResolveSummary, timer: _Timer, *,
          retrain: bool, workers: tuple[PrivacySettings, Path] | None = None) -> None:
    summary.mode = "full"
    if workers is None:
        _full_run(conn, settings, summary, timer, retrain=retrain, pool=None)
        return
    with parallel.Pool(conn, settings, *workers) as pool:  # a large store: every core
        _full_run(conn, settings, summary, timer, retrain=retrain, pool=pool)


def _full_run(conn: Connection, settings: IdentitySettings, summary: ResolveSummary, timer: _Timer, *,
              retrain: bool, pool: parallel.Pool | None) -> None:
    """With a pool on SQLite, the workers also return the key rows as JSON, and a thread writes them
    while this one blocks, trains and links (the connection is the thread's until ``settle``)."""
    key_json: list[str] | None = [] if pool is not None and conn.dialect.name == "sqlite" else None
    features = pool.features(conn, key_json) if pool is not None else _load_features(conn, None, settings)
    timer.lap("load_and_keys")
    model = _model(conn)
    decided = storage.decisions(conn, None)
    total = storage.record_count(conn)
    writer = KeyWriter(conn, features, key_json) if key_json is not None else None
    try:
        blocks = block_codes(features)
        stats = key_stats(features, blocks)
        pairs = candidate_pairs(features, stats, settings.max_block_size, blocks)
        del blocks
        timer.lap("blocking")
        comparer = Comparer(features)
        keyed = find_key_edges(features, settings, stats)
        trained = None
        if retrain or model is None:
            model = fit_model(features, pairs, settings, stats, comparer, keyed)
            trained = model.to_json()
            if writer is None:
                storage.save_state(conn, MODEL_STATE, trained, datetime.now(UTC))
            timer.lap("train")

        def settle() -> None:  # the keys are written: the connection is this thread's again
            assert writer is not None
            writer.join()
            if trained is not None:
                storage.save_state(conn, MODEL_STATE, trained, datetime.now(UTC))

        _link_and_apply(conn, settings, features, summary, model, replace_all=True, stats=stats, pairs=pairs,
                        timer=timer, comparer=comparer, keyed=keyed, pool=pool, write_keys=writer is None,
                        settle=settle if writer is not None else None, decided=decided, total=total)
    except BaseException:
        if writer is not None:
            writer.wait()  # the transaction is rolled back next: never under a running statement
        raise


def _incremental(conn: Connection, settings: IdentitySettings, summary: ResolveSummary, timer: _Timer,
                 pending: list[int], total: int) -> None:
    """Link new and changed records against what is stored, touching only their neighbourhood.

    1. store their keys; find records sharing a usable identifier or a small enough block with them;
    2. score the new records against those (only pairs with a new record in them);
    3. link the new records, the records they could join and the members of those profiles,
       with the stored links holding the existing profiles together.
    """
    model = _model(conn)
    new = _load_features(conn, pending, settings)
    storage.replace_keys(conn, new)
    timer.lap("load_and_keys")
    stats = _stored_stats(conn, new)
    strong, blocks = [], []
    for f in new:
        for kind, _, d in f.strong:
            rule = settings.rule_for(kind)
            records, names = stats.get(d, (1, 1))
            if records <= rule.max_records and names <= rule.max_names:
                strong.append(d)
        blocks.extend(d for _, d in f.blocks if stats.get(d, (1, 0))[0] <= settings.max_block_size)
    pending_set = set(pending)
    by_key = storage.holders(conn, strong) - pending_set
    sharing = storage.key_holders(conn, blocks)  # (digest, record id): the candidate pairs, from the index
    by_block = {rid for _, rid in sharing} - pending_set - by_key
    # the keys of stored records are in the index: they are only compared, so no digests are computed
    candidates = _load_features(conn, sorted(by_block), settings, digests=False)
    timer.lap("find_neighbourhood")
    nodes = new + candidates
    pairs = _pairs_from_index(nodes, len(new), sharing)
    linker = Linker(nodes, settings, model, stats, total)
    _, weights = linker.score(pairs) if len(pairs) else (None, np.zeros(0))
    close = pairs[weights >= weight_of(settings.review_threshold)]
    node_ids = np.array([f.record_id for f in nodes], dtype=np.int64)
    near = set(node_ids[close[:, 1]].tolist()) | set(node_ids[close[:, 0]].tolist())
    scope = pending_set | by_key | (near - pending_set)
    touched = set(storage.memberships(conn, list(scope)).values())
    scope |= storage.members_of(conn, list(touched))
    features = new + _load_features(conn, sorted(scope - pending_set), settings)
    timer.lap("load_neighbourhood")
    summary.neighbourhood = {"by_key": len(by_key), "by_block": len(by_block), "near": len(near),
                             "profiles": len(touched), "records": len(features)}
    stored = storage.links_among(conn, [f.record_id for f in features[len(new):]])
    _link_and_apply(conn, settings, features, summary, model, replace_all=False, timer=timer, total=total,
                    pairs_with_first=len(new), stored=stored, known_stats=stats)


def _stored_stats(conn: Connection, features: Sequence[Features], known: dict | None = None) -> dict:
    """Key stats from the key index for the keys of ``features``, but those already ``known``."""
    known = known or {}
    strong = [d for f in features for _, _, d in f.strong if d not in known]
    blocks = [d for f in features for _, d in f.blocks if d not in known]
    return {**known, **storage.key_stats(conn, strong), **storage.block_counts(conn, blocks)}


def _pairs_from_index(nodes: Sequence[Features], first: int, sharing: Sequence[tuple[str, int]]) -> np.ndarray:
    """Pairs (a new record first) of ``nodes`` holding a common key, given (digest, record id) rows
    of the key index; the first ``first`` nodes are the new records, whose keys are stored too.
    Sorted and distinct: each new record paired with every other holder of each of its keys."""
    node_ids = np.array([f.record_id for f in nodes], dtype=np.int64)
    order = np.argsort(node_ids, kind="stable")
    rids = np.array([rid for _, rid in sharing], dtype=np.int64)
    found = np.minimum(np.searchsorted(node_ids[order], rids), max(len(order) - 1, 0))
    held = node_ids[order][found] == rids if len(order) else np.zeros(len(rids), dtype=bool)
    codes, _ = factorise([d for (d, _), keep in zip(sharing, held.tolist(), strict=True) if keep])
    holders = order[found[held]]
    by_code = np.argsort(codes, kind="stable")
    codes, holders = codes[by_code], holders[by_code]
    start = np.searchsorted(codes, codes, side="left")
    size = np.searchsorted(codes, codes, side="right") - start
    new = np.flatnonzero(holders < first)  # entries of new records: each pairs with its whole group
    a = np.repeat(holders[new], size[new])
    offsets = np.arange(len(a)) - np.repeat(np.cumsum(size[new]) - size[new], size[new])
    b = holders[np.repeat(start[new], size[new]) + offsets]
    a, b = np.minimum(a, b)[a != b], np.maximum(a, b)[a != b]
    if len(a) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    n = max(len(nodes), 1)
    unique = sorted_unique(a * n + b)
    return np.stack([unique // n, unique % n], axis=1)


def _pairs_with(features: Sequence[Features], first: int, stats: dict, settings: IdentitySettings) -> np.ndarray:
    """Candidate pairs with at least one of the first ``first`` records in them."""
    pairs = candidate_pairs(features, stats, settings.max_block_size)
    return pairs[(pairs[:, 0] < first) | (pairs[:, 1] < first)]


def _link_and_apply(conn: Connection, settings: IdentitySettings, features: list[Features],
                    summary: ResolveSummary, model: FSModel | None, *, replace_all: bool,
                    stats: dict | None = None, pairs=None, timer: _Timer | None = None,  # noqa: ANN001
                    total: int | None = None, pairs_with_first: int | None = None,
                    stored: Sequence[tuple] = (), comparer: Comparer | None = None,
                    keyed: KeyEdges | None = None, pool: parallel.Pool | None = None,
                    write_keys: bool = False, known_stats: dict | None = None,
                    settle: Callable[[], None] | None = None,
                    decided: tuple[list[tuple[int, int]], list[tuple[int, int]]] | None = None) -> None:
    """Link ``features`` and write the result; ``write_keys``: also replace every stored key with
    theirs (a full run), while the pool's workers build the golden profiles. ``known_stats``: stored
    key stats already read in this transaction (only the other keys' are read). ``settle``: called
    after linking, before the connection is used (it is another thread's until then), and
    ``decided``: the decisions, read before that."""
    timer = timer or _Timer(summary)
    if stats is None:
        stats = _stored_stats(conn, features, known_stats or {})
    if pairs is None and pairs_with_first is not None:
        pairs = _pairs_with(features, pairs_with_first, stats, settings)
    index = {f.record_id: i for i, f in enumerate(features)}
    must, cannot = decided if decided is not None else storage.decisions(conn, None if replace_all else set(index))
    to_idx = lambda pairs_: [(index[a], index[b]) for a, b in pairs_ if a in index and b in index]  # noqa: E731
    linker = Linker(features, settings, model, stats, total or storage.record_count(conn), comparer, keyed)
    kept = [Edge(index[a], index[b], kind, w or 0.0, orjson.loads(ev)) for a, b, kind, w, ev in stored
            if a in index and b in index]
    result = linker.link(to_idx(must), to_idx(cannot), pairs, stored=kept)
    timer.lap("link")
    if settle is not None:
        settle()
        timer.lap("write_keys")
    plan = _plan(conn, features, result, replace_all=replace_all)
    goldens = pool.golden(plan.clusters) if pool is not None else None  # built on the workers meanwhile
    if write_keys:
        storage.replace_all_keys(conn, features)
        timer.lap("write_keys")
    _apply(conn, features, result, plan, summary, replace_all=replace_all)
    timer.lap("write")
    failpoint("resolve.after_links")
    now = datetime.now(UTC)
    if goldens is not None:  # each batch of profiles written with its golden records, as they come
        rows = {row["id"]: row for row in plan.profiles}
        for batch in goldens:
            storage.write_profiles(conn, [{**rows.pop(pid), "golden": sealed} for sealed, pid in batch], now,
                                   summary.run_id)
        storage.write_profiles(conn, list(rows.values()), now, summary.run_id)  # merged and retired ones
    else:
        storage.write_profiles(conn, plan.profiles, now, summary.run_id)
        _write_golden(conn, settings, None if replace_all else summary.touched_profiles)
    timer.lap("golden")


@dataclass
class _Plan:
    """Profile ids for the clusters of a link result, before anything is written."""

    clusters: list[tuple[int, list[int]]]  # (profile id, member record ids)
    assignment: Assignment
    profiles: list[dict]  # the profile rows to write


def _plan(conn: Connection, features: list[Features], result: LinkResult, *, replace_all: bool) -> _Plan:
    record_ids = [f.record_id for f in features]
    groups: dict[int, list[int]] = {}
    for i, root in enumerate(result.roots):
        groups.setdefault(root, []).append(record_ids[i])
    clusters = list(groups.values())
    old = storage.memberships(conn, None if replace_all else record_ids)
    known = storage.active_profiles(conn) if replace_all else sorted(set(old.values()))
    assignment = assign_profiles(clusters, old, storage.next_profile_id(conn), known)
    rows = [{"id": pid, "status": "active", "member_count": len(c)}
            for pid, c in zip(assignment.cluster_ids, clusters, strict=True)]
    rows += [{"id": old_id, "status": "merged", "merged_into": into, "member_count": 0}
             for old_id, into in assignment.merged.items()]
    rows += [{"id": pid, "status": "retired", "member_count": 0} for pid in assignment.retired]
    return _Plan(list(zip(assignment.cluster_ids, clusters, strict=True)), assignment, rows)


def _apply(conn: Connection, features: list[Features], result: LinkResult, plan: _Plan, summary: ResolveSummary,
           *, replace_all: bool) -> None:
    """Write members, links and review pairs (the profiles are written with their golden records)."""
    now = datetime.now(UTC)
    record_ids = [f.record_id for f in features]
    hashes = {f.record_id: f.record_hash for f in features}
    members = [(rid, pid, hashes[rid]) for pid, c in plan.clusters for rid in c]
    storage.write_members(conn, members, replace_all=replace_all)
    link_rows = [(record_ids[e.a], record_ids[e.b], e.kind, e.weight, orjson.dumps(e.evidence).decode())
                 for e in result.joined]
    storage.write_links(conn, record_ids, link_rows, replace_all=replace_all)
    summary.review_added += review.queue_pairs(
        conn, [(record_ids[e.a], record_ids[e.b], e.weight, e.evidence) for e in result.review], now)
    # a full run links every record and has just replaced every membership: all of them, in one query
    review.mark_stale(conn, None if replace_all else record_ids, now)
    assignment = plan.assignment
    summary.records += len(features)
    summary.profiles += len(plan.clusters)
    summary.created += len(assignment.created)
    summary.merged += len(assignment.merged)
    summary.links += len(link_rows)
    summary.pairs_scored += result.pairs_scored
    summary.demoted.update(result.demoted)
    summary.refused.update(result.refused)
    summary.touched_profiles = assignment.cluster_ids


def _write_golden(conn: Connection, settings: IdentitySettings, profile_ids: Sequence[int] | None) -> None:
    batch: list[tuple[str, int]] = []
    for pid, members in storage.iter_profile_members(conn, profile_ids):
        batch.append((golden_text(members, settings), pid))
        if len(batch) >= storage.CHUNK:
            storage.write_golden(conn, batch)
            batch = []
    storage.write_golden(conn, batch)
