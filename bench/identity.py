"""Identity-resolution benchmark: accuracy on generated data with known truth, and speed at scale.

    python bench/identity.py                          # accuracy: multi-channel 50k + FEBRL-like 10k people
    python bench/identity.py --channels 200000 --febrl 0
    python bench/identity.py --scale 1000000 --incremental 10000   # speed: full run, then 10k new records
    python bench/identity.py --store postgresql+psycopg://postgres@127.0.0.1:5432/bench ...

Records are generated (bench/identity_data.py, bench/identity_febrl.py), cleaned by the real
cleaner, stored with ``hub.identity.seed.write_canonical`` (sealed, as ingest stores them; not
timed), then resolved by ``resolve_identities`` (timed). It prints pairwise precision, recall and
F1 against the truth, the time per phase and peak RSS. The machine may be shared: the load average
is printed alongside.

The accuracy runs also resolve the same records a second time without the privacy layer (plaintext
canonical records, unkeyed digests, unsealed golden profiles; ``--no-compare`` skips it) and print
whether the two partitions are identical and both resolve times (issue 6: blind indexes give the
same results; encryption costs at most 30% of resolve throughput).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import pickle
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import identity_febrl  # noqa: E402
from bench.identity_data import Generator, clean_batch  # noqa: E402
from hub.identity.keys import plaintext_digests  # noqa: E402
from hub.identity.resolver import resolve_identities  # noqa: E402
from hub.identity.settings import IdentitySettings  # noqa: E402
from hub.store import Store  # noqa: E402


def pairwise_scores(truth: dict[tuple[str, str, str], int], assigned: dict[tuple[str, str, str], int]) -> dict:
    """Pairwise precision/recall/F1 of ``assigned`` profile ids against ``truth`` person ids."""
    def pairs(counter: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    keys = [k for k in truth if k in assigned]
    true_pairs = pairs(Counter(truth[k] for k in keys))
    found_pairs = pairs(Counter(assigned[k] for k in keys))
    both = pairs(Counter((truth[k], assigned[k]) for k in keys))
    precision = both / found_pairs if found_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": len(keys), "true_pairs": true_pairs, "found_pairs": found_pairs, "precision": precision,
            "recall": recall, "f1": f1, "people": len(set(truth.values())), "profiles": len(set(assigned.values()))}


def assignments(store: Store) -> dict[tuple[str, str, str], int]:
    with store.reading() as conn:
        rows = conn.exec_driver_sql(
            "SELECT s.connection, s.stream, s.source_pk, m.profile_id FROM source_records s "
            "JOIN identity_members m ON m.record_id = s.id")
        return {(c, s, pk): pid for c, s, pk, pid in rows}


def _key(record: dict) -> tuple[str, str, str]:
    p = record["provenance"]
    return p["connection"], p["stream"], p["source_pk"]


def fresh_store(url: str | None, name: str, workdir: Path) -> Store:
    if url:
        import sqlalchemy

        admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
        db = f"custhub_bench_{name}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
        admin.dispose()
        return Store.open(sqlalchemy.engine.make_url(url).set(database=db).render_as_string(hide_password=False))
    path = workdir / f"identity_{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Store.open(f"sqlite:///{path}")


def seed(store: Store, items: list[tuple[int, dict]]) -> dict[tuple[str, str, str], int]:
    from hub.identity.seed import write_canonical

    write_canonical(store, (r for _, r in items))
    return {_key(r): pid for pid, r in items}


def seed_plaintext(store: Store, items: list[tuple[int, dict]]) -> dict[tuple[str, str, str], int]:
    """The baseline store: canonical records in plaintext, as before encryption (benchmark only)."""
    import hashlib
    from datetime import UTC, datetime

    import orjson

    from hub.store import runs
    from hub.store.bulk import db_value, insert_rows
    from hub.store.records import RECORD_COLUMNS
    from hub.store.schema import source_records

    with store.transaction() as conn:
        run_id = runs.start_run(conn, "ingest", "seed")
        ts = db_value(conn, source_records.c.updated_at, datetime.now(UTC))
        groups: dict[tuple[str, str], list[tuple]] = {}  # ids in write_canonical's order: same tie-breaks
        for _, r in items:
            text = orjson.dumps(r).decode()
            c, s, pk = _key(r)
            groups.setdefault((c, s), []).append(
                (c, s, pk, hashlib.sha256(text.encode()).hexdigest(), text, text, ts, ts, run_id))
        rows = [row for group in groups.values() for row in group]
        for start in range(0, len(rows), 5000):
            insert_rows(conn, source_records, RECORD_COLUMNS, rows[start:start + 5000])
        runs.finish_run(conn, run_id, "succeeded", runs.StreamCounts(read=len(rows)), None)
    return {_key(r): pid for pid, r in items}


def partition(assigned: dict[tuple[str, str, str], int]) -> set[frozenset]:
    groups: dict[int, set] = {}
    for key, pid in assigned.items():
        groups.setdefault(pid, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def report(title: str, scores: dict, seconds: float, summary) -> None:  # noqa: ANN001
    print(f"{title}: {scores['records']:,} records, {scores['people']:,} people -> {scores['profiles']:,} profiles")
    print(f"  precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  F1 {scores['f1']:.4f}  "
          f"(true pairs {scores['true_pairs']:,}, found {scores['found_pairs']:,})")
    print(f"  resolve {seconds:.1f} s ({summary.mode}); pairs scored {summary.pairs_scored:,}; "
          f"review queue +{summary.review_added:,}; demoted keys {dict(summary.demoted)}; "
          f"refused unions {dict(summary.refused)}")
    print(f"  phases: {summary.timings}")
    if summary.neighbourhood:
        print(f"  neighbourhood: {summary.neighbourhood}")


def accuracy(kind: str, size: int, args: argparse.Namespace, workdir: Path) -> dict:
    started = time.perf_counter()
    items = list(Generator(seed=args.seed).records(size)) if kind == "channels" \
        else list(identity_febrl.records(size, seed=args.seed))
    store = fresh_store(args.store, kind, workdir)
    truth = seed(store, items)
    print(f"- {kind}: generated and stored {len(items):,} records in {time.perf_counter() - started:.1f} s")
    started, cpu = time.perf_counter(), time.process_time()
    summary = resolve_identities(store, IdentitySettings())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    blind = assignments(store)
    scores = pairwise_scores(truth, blind)
    report(kind, scores, seconds, summary)
    store.close()
    if args.compare:
        store = fresh_store(args.store, f"{kind}_plain", workdir)
        seed_plaintext(store, items)
        with plaintext_digests():
            started, plain_cpu = time.perf_counter(), time.process_time()
            plain_summary = resolve_identities(store, IdentitySettings())
            plain_seconds, plain_cpu = time.perf_counter() - started, time.process_time() - plain_cpu
        plain = assignments(store)
        store.close()
        same = partition(blind) == partition(plain)
        print(f"  privacy layer: partitions over blind indexes and plaintext keys identical: {same}; "
              f"resolve {seconds:.1f} s sealed+blind vs {plain_seconds:.1f} s plaintext "
              f"({(seconds / plain_seconds - 1) * 100:+.0f}%); CPU time {cpu:.1f} s vs {plain_cpu:.1f} s "
              f"({(cpu / plain_cpu - 1) * 100:+.0f}%, less sensitive to a shared machine); plaintext F1 "
              f"{pairwise_scores(truth, plain)['f1']:.4f}; phases {plain_summary.timings}")
    return scores


def seeded_store(args: argparse.Namespace, workdir: Path) -> tuple[Store, dict[tuple[str, str, str], int]]:
    """A store holding the generated records, and their truth. With ``--seeded FILE`` (SQLite only) a
    copy of FILE when it exists (seeded by an earlier run with the same ``--scale``/``--seed``, from the
    same working directory: its keys are in .custhub/ there), else seeded and then copied to FILE."""
    saved = Path(f"{args.seeded}.truth.pickle") if args.seeded else None
    if args.seeded and args.seeded.exists() and saved is not None and saved.exists():
        started = time.perf_counter()
        store = fresh_store(None, f"scale{args.scale}", workdir)
        store.close()
        shutil.copyfile(args.seeded, workdir / f"identity_scale{args.scale}.db")
        store = Store.open(f"sqlite:///{workdir / f'identity_scale{args.scale}.db'}")
        truth = pickle.loads(saved.read_bytes())
        os.sync()  # the copy on disk before the timed run, whose reads would otherwise wait for its writeback
        print(f"- scale: copied the seeded store ({len(truth):,} records) in {time.perf_counter() - started:.1f} s")
        return store, truth
    gen = Generator(seed=args.seed)
    started = time.perf_counter()
    store = fresh_store(args.store, f"scale{args.scale}", workdir)
    truth: dict[tuple[str, str, str], int] = {}
    raw = gen.raw_records(args.scale)
    batches = iter(lambda: list(itertools.islice(raw, 10_000)), [])
    # cleaned on worker processes, in order (the same records as Generator.records), streamed: the
    # peak RSS printed is the resolver's
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        for chunk in pool.imap(clean_batch, batches):
            truth.update(seed(store, chunk))
    print(f"- scale: generated and stored {len(truth):,} records in {time.perf_counter() - started:.1f} s")
    if args.seeded and saved is not None:
        store.close()  # the last connection closed checkpoints the write-ahead log into the file
        with sqlite3.connect(workdir / f"identity_scale{args.scale}.db") as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(workdir / f"identity_scale{args.scale}.db", args.seeded)
        saved.write_bytes(pickle.dumps(truth))
        store = Store.open(f"sqlite:///{workdir / f'identity_scale{args.scale}.db'}")
    return store, truth


def scale(args: argparse.Namespace, workdir: Path) -> None:
    store, truth = seeded_store(args, workdir)
    started = time.perf_counter()
    summary = resolve_identities(store, IdentitySettings())
    seconds = time.perf_counter() - started
    report("full run", pairwise_scores(truth, assignments(store)), seconds, summary)
    print(f"  peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (largest worker "
          f"process {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB); "
          f"load average {os.getloadavg()[0]:.2f}")
    if args.incremental:
        rng = random.Random(args.seed + 1)
        new = list(Generator(seed=args.seed).records(args.incremental // 2))  # same people again: known
        new = [(pid, {**r, "provenance": {**r["provenance"], "source_pk": r["provenance"]["source_pk"] + "-again"}})
               for pid, r in new if rng.random() < 0.9]
        fresh = Generator(seed=args.seed + 99)
        new += [(10**8 + pid, r) for pid, r in fresh.records(args.incremental - len(new), start_pid=10**6)]
        truth.update(seed(store, new))
        started = time.perf_counter()
        summary = resolve_identities(store, IdentitySettings())
        seconds = time.perf_counter() - started
        report(f"incremental (+{len(new):,} records)", pairwise_scores(truth, assignments(store)), seconds, summary)
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=50_000, help="multi-channel records (0: skip)")
    parser.add_argument("--febrl", type=int, default=10_000, help="FEBRL-like original people (0: skip)")
    parser.add_argument("--scale", type=int, default=0, help="records for the speed run (0: skip)")
    parser.add_argument("--incremental", type=int, default=10_000, help="new records after the scale run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the second resolution without the privacy layer")
    parser.add_argument("--store", help="PostgreSQL admin URL (default: SQLite files in a temp dir)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--seeded", type=Path, help="scale run, SQLite: copy this seeded store (and its .truth.pickle) "
                        "instead of seeding; when missing, seed and save it there (run from the same directory)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="custhub-identity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"custhub identity benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
          f"Python {sys.version.split()[0]}")
    if args.scale:
        scale(args, workdir)
        return
    if args.channels:
        accuracy("channels", args.channels, args, workdir)
    if args.febrl:
        accuracy("febrl", args.febrl, args, workdir)


if __name__ == "__main__":
    main()
