"""Quality and segments at scale: measure a generated store of N records and evaluate segments.

    python bench/quality_segments.py --records 1000000
    python bench/quality_segments.py --records 200000 --store postgresql+psycopg://postgres@127.0.0.1:5432/bench

Records (two connections, 60/40) are stored with ``hub.identity.seed.write_canonical`` and profiles
written straight into the identity tables (every expo record i < 30% of N paired with crm record i,
so a third of the profiles are multi-source), golden profiles by the real survivorship code; none of
this is timed. Timed: ``evaluate_quality`` over both connections, a full ``evaluate_segments`` and an
incremental one after 1,000 profiles changed. Prints seconds and peak RSS; the load average too,
since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from hub.config import load_config  # noqa: E402
from hub.identity.golden import Member, build_golden  # noqa: E402
from hub.identity.seed import write_canonical  # noqa: E402
from hub.identity.settings import IdentitySettings  # noqa: E402
from hub.identity.storage import copy_rows  # noqa: E402
from hub.identity.tables import identity_profiles  # noqa: E402
from hub.privacy.runtime import ensure_active  # noqa: E402
from hub.quality import evaluate_quality  # noqa: E402
from hub.segments import evaluate_segments  # noqa: E402
from hub.store import Store  # noqa: E402
from hub.store.bulk import db_value  # noqa: E402
from hub.store.schema import source_records  # noqa: E402

PROVINCES = ("广东", "北京", "上海", "浙江", "江苏", "四川")
STAGES = ("lead", "mql", "sql", "customer", "subscriber")
SEGMENTS = [
    {"name": "guangdong", "rule": {"field": "person.addresses.province", "eq": "广东"}},
    {"name": "customers", "rule": {"field": "person.lifecycle_stage", "in": ["customer", "evangelist"]}},
    {"name": "recent_event", "rule": {"interactions": {"type": "event_registered", "within_days": 90}}},
    {"name": "big_spenders", "rule": {"interactions": {"type": "purchase", "sum_amount": {"gte": 5000}}}},
]


def record(connection: str, stream: str, i: int, rng: random.Random, now: datetime) -> dict:
    person = {"name": {"full": f"客户{i}"}, "lifecycle_stage": rng.choice(STAGES)}
    if rng.random() < 0.8:
        person["emails"] = [{"address": f"user{i}@example.cn"}]
    if rng.random() < 0.6:
        person["phones"] = [{"number": f"+86138{i:08d}"}]
    if rng.random() < 0.5:
        person["addresses"] = [{"country": "CN", "province": rng.choice(PROVINCES)}]
    if rng.random() < 0.3:
        person["title"] = rng.choice(("经理", "总监", "工程师"))
    out = {"schema_version": "1.0", "person": person,
           "provenance": {"connection": connection, "stream": stream, "source_pk": str(i),
                          "read_at": (now - timedelta(days=rng.randint(0, 30))).isoformat()}}
    if rng.random() < 0.4:
        out["interactions"] = [{"type": rng.choice(("event_registered", "purchase", "form_submitted")),
                                "at": (now - timedelta(days=rng.randint(0, 400))).isoformat(),
                                "amount": rng.randint(100, 9000)}]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="custhub-bench-quality-"))
    url = args.store or f"sqlite:///{tmp / 'bench.db'}"
    example = yaml.safe_load((REPO / "config" / "custhub.example.yaml").read_text("utf-8"))
    example["store"]["url"] = url
    example["segments"] = SEGMENTS
    (tmp / "custhub.yaml").write_text(yaml.safe_dump(example, allow_unicode=True), "utf-8")
    import shutil

    shutil.copytree(REPO / "config" / "samples", tmp / "samples")
    cfg = load_config(tmp / "custhub.yaml")
    store = Store.open(url)
    ensure_active(store.engine, cfg.privacy, cfg.base_dir)
    rng, now = random.Random(7), datetime.now(UTC)
    n_crm = int(args.records * 0.6)
    n_expo = args.records - n_crm
    started = time.perf_counter()
    for name, stream, count in (("crm_export", "contacts", n_crm), ("expo_2026_signups", "signups", n_expo)):
        for start in range(0, count, 50_000):
            end = min(count, start + 50_000)
            write_canonical(store, (record(name, stream, i, rng, now) for i in range(start, end)))
    print(f"stored {args.records:,} records in {time.perf_counter() - started:.0f} s (not timed)", flush=True)
    _profiles(store, n_crm, n_expo, now)
    print(f"profiles written after {time.perf_counter() - started:.0f} s", flush=True)

    timings = {}
    t = time.perf_counter()
    evaluations = evaluate_quality(store, cfg)
    timings["quality (all metrics, 2 connections)"] = time.perf_counter() - t
    t = time.perf_counter()
    full = evaluate_segments(store, cfg)
    timings["segments full (4 rules)"] = time.perf_counter() - t
    with store.transaction() as conn:
        ids = [i for (i,) in conn.execute(select(identity_profiles.c.id).limit(1000))]
        conn.execute(update(identity_profiles).where(identity_profiles.c.id.in_(ids)).values(
            updated_at=datetime.now(UTC) + timedelta(seconds=1)))
    t = time.perf_counter()
    incremental = evaluate_segments(store, cfg)
    timings["segments incremental (1,000 changed)"] = time.perf_counter() - t
    for name, seconds in timings.items():
        print(f"{name}: {seconds:.1f} s")
    print("sizes:", {n: c.size for n, c in full.segments.items()},
          "incremental evaluated:", {n: c.evaluated for n, c in incremental.segments.items()})
    print("metric rows:", sum(len(e.metrics) for e in evaluations))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")


def _profiles(store: Store, n_crm: int, n_expo: int, now: datetime) -> None:
    settings = IdentitySettings()
    with store.transaction() as conn:
        s = source_records.c
        ids = {(c, pk): rid for rid, c, pk in conn.execute(select(s.id, s.connection, s.source_pk))}
        pairs = int((n_crm + n_expo) * 0.3 / 2)
        profiles, members, pid = [], [], 0
        groups = [[("crm_export", str(i)), ("expo_2026_signups", str(i))] for i in range(min(pairs, n_expo))]
        groups += [[("crm_export", str(i))] for i in range(min(pairs, n_expo), n_crm)]
        groups += [[("expo_2026_signups", str(i))] for i in range(min(pairs, n_expo), n_expo)]
        stamp = db_value(conn, identity_profiles.c.updated_at, now)
        for group in groups:
            pid += 1
            group_members = []
            for c, pk in group:
                rid = ids[(c, pk)]
                members.append((rid, pid, "x"))
                body = {"person": {"name": {"full": f"客户{pk}"}, "lifecycle_stage": "customer" if int(pk) % 5 == 0
                                   else "lead", "addresses": [{"country": "CN", "province": PROVINCES[int(pk) % 6]}]},
                        "interactions": [{"type": "purchase", "at": now.isoformat(), "amount": int(pk) % 9000}],
                        "provenance": {"read_at": now.isoformat()}}
                if c == "expo_2026_signups" and int(pk) % 3 == 0:
                    body["person"]["name"] = {"full": f"客户{pk}号"}
                group_members.append(Member(rid, c, "contacts" if c == "crm_export" else "signups", pk, body))
            golden = orjson.dumps(build_golden(group_members, settings)).decode()
            profiles.append((pid, "active", None, len(group), golden, stamp, stamp, 1))
            if len(profiles) >= 20_000:
                copy_rows(conn, "identity_profiles", ("id", "status", "merged_into", "member_count", "golden",
                                                      "created_at", "updated_at", "run_id"), profiles)
                copy_rows(conn, "identity_members", ("record_id", "profile_id", "record_hash"), members)
                profiles, members = [], []
        copy_rows(conn, "identity_profiles", ("id", "status", "merged_into", "member_count", "golden", "created_at",
                                              "updated_at", "run_id"), profiles)
        copy_rows(conn, "identity_members", ("record_id", "profile_id", "record_hash"), members)


if __name__ == "__main__":
    main()
