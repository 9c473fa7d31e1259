"""Admin console benchmark: every page's answer time with 1,000,000 profiles in the store.

    python bench/console.py                         # 1,000,000 profiles (built once, then reused)
    python bench/console.py --profiles 100000 --requests 50
    python bench/console.py --rebuild               # build the store again
    nice python bench/console.py --build-only && flock /tmp/custhub-bench.lock python bench/console.py

The store is built fast by bulk-inserting synthetic rows straight into the identity tables
(profiles with sealed golden JSON, members, blind-index keys, links), ``source_records``, runs with
per-stream counts and quarantine, sync results, review pairs, quality evaluations and segments;
every fifth profile has two records. Then each console page is requested ``--requests`` times
through Starlette's TestClient (in-process ASGI: no network, but the whole app: session, CSRF,
masking, audit writes, templates), logged in as an admin, and the median and p95 are printed
against the 200 ms target. Profile pages and searches pick a different profile each request. The
machine may be shared: the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("CUSTHUB_LOAD_PLUGINS", "0")

from hub import paths  # noqa: E402
from hub.config import Config, load_config  # noqa: E402
from hub.console import build_console  # noqa: E402
from hub.console.passwords import hash_password  # noqa: E402
from hub.identity import storage  # noqa: E402
from hub.identity.keys import key_digest  # noqa: E402
from hub.identity.tables import (  # noqa: E402
    identity_keys,
    identity_links,
    identity_members,
    identity_profiles,
    identity_review,
)
from hub.privacy.runtime import ensure_active  # noqa: E402
from hub.quality.tables import quality_metrics, quality_runs  # noqa: E402
from hub.segments.tables import segment_members, segment_state  # noqa: E402
from hub.store import Store  # noqa: E402
from hub.store.bulk import db_value, insert_rows  # noqa: E402
from hub.store.schema import quarantine, run_streams, runs, source_records  # noqa: E402
from hub.sync.tables import sync_results  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "bench password 1"
BATCH = 50_000
TARGET_MS = 200.0
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
CITIES = ("深圳", "广州", "上海", "北京", "杭州", "成都")


def write_config(workdir: Path, url: str) -> Config:
    example = paths.example_config()
    if not (workdir / "samples").exists():
        shutil.copytree(example.parent / "samples", workdir / "samples")
    data = yaml.safe_load(example.read_text("utf-8"))
    data["store"]["url"] = url
    data.pop("server", None)
    data["console"] = {"users": {"ada": {"password_hash": hash_password(PASSWORD, log2_n=12), "role": "admin"}},
                       "login": {"failure_delay_ms": 0}}
    (workdir / "custhub.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return load_config(workdir / "custhub.yaml")


def email_of(i: int) -> str:
    return f"user{i}@example.cn"


def phone_of(i: int) -> str:
    return f"+86139{i:08d}"


def golden_of(pid: int, records: list[tuple[int, str, str]], at: str) -> dict:
    rng = random.Random(pid)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    sources = [{"record_id": rid, "connection": c, "stream": "contacts", "source_pk": pk, "at": at}
               for rid, c, pk in records]
    return {"fields": {"name": {"value": {"full": name}, "rule": "most_complete", "sources": sources,
                                "alternatives": []},
                       "employer": {"value": f"公司{pid % 5000}", "rule": "most_recent", "sources": sources[:1],
                                    "alternatives": []}},
            "emails": [{"value": {"address": email_of(pid)}, "sources": sources}],
            "phones": [{"value": {"number": phone_of(pid), "kind": "mobile"}, "sources": sources[:1]}],
            "addresses": [{"value": {"country": "CN", "city": rng.choice(CITIES)}, "sources": sources[:1]}],
            "interactions": [{"type": "event_registered", "at": at, "name": "Expo 2026", "source": sources[0]}],
            "consents": {"current": [{"purpose": "marketing", "channel": "email", "status": "granted", "at": at,
                                      "source": sources[0]}], "history": []},
            "sources": sources}


def build(store: Store, config: Config, n: int) -> None:
    """Bulk-insert ``n`` profiles and everything around them (secondary indexes rebuilt at the end)."""
    start = time.perf_counter()
    now = datetime.now(UTC)
    at = now.isoformat()
    connections = sorted(config.connections)
    drop = [("ix_identity_keys_digest", "identity_keys (digest)"),
            ("ix_identity_keys_record", "identity_keys (record_id)"),
            ("ix_identity_members_profile", "identity_members (profile_id)"),
            ("ix_identity_profiles_status", "identity_profiles (status)"),
            ("ix_identity_links_a", "identity_links (record_a)"), ("ix_identity_links_b", "identity_links (record_b)")]
    with store.transaction() as conn:
        for name, _ in drop:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        ts = db_value(conn, identity_profiles.c.created_at, now)
        run_id = conn.execute(runs.insert().returning(runs.c.id), {
            "kind": "ingest", "target": connections[0], "status": "succeeded", "started_at": now, "finished_at": now,
            "records_read": n, "records_inserted": n, "records_updated": 0, "records_unchanged": 0,
            "records_quarantined": 0}).scalar_one()
        rid = 0
        for lo in range(1, n + 1, BATCH):
            hi = min(n + 1, lo + BATCH)
            recs, members, keys, links, profiles = [], [], [], [], []
            for pid in range(lo, hi):
                conn_name = connections[pid % len(connections)]
                mine = []
                for copy in range(2 if pid % 5 == 0 else 1):
                    rid += 1
                    pk = f"p{pid}-{copy}"
                    mine.append((rid, conn_name if copy == 0 else connections[(pid + 1) % len(connections)], pk))
                for r, c, pk in mine:
                    canonical = orjson.dumps({"person": {"emails": [{"address": email_of(pid)}]},
                                              "provenance": {"connection": c, "stream": "contacts",
                                                             "source_pk": pk}}).decode()
                    recs.append((r, c, "contacts", pk, f"{r:064x}", "{}", canonical, ts, ts, run_id))
                    members.append((r, pid, f"{r:064x}"))
                    keys.append((r, "email", key_digest("email", email_of(pid)), None))
                    keys.append((r, "phone", key_digest("phone", phone_of(pid)), None))
                if len(mine) == 2:
                    links.append((mine[0][0], mine[1][0], "key", None, '{"key": "email"}'))
                golden = orjson.dumps(golden_of(pid, mine, at)).decode()
                profiles.append((pid, "active", None, len(mine), storage.seal_golden(pid, golden), ts, ts, run_id))
            insert_rows(conn, source_records, ("id", "connection", "stream", "source_pk", "record_hash", "raw",
                                               "canonical", "first_seen_at", "updated_at", "run_id"), recs)
            insert_rows(conn, identity_members, ("record_id", "profile_id", "record_hash"), members)
            insert_rows(conn, identity_keys, ("record_id", "kind", "digest", "name_digest"), keys)
            insert_rows(conn, identity_links, ("record_a", "record_b", "kind", "weight", "evidence"), links)
            insert_rows(conn, identity_profiles, ("id", "status", "merged_into", "member_count", "golden",
                                                  "created_at", "updated_at", "run_id"), profiles)
            print(f"  {hi - 1:,} profiles, {rid:,} records ({time.perf_counter() - start:.0f} s)", flush=True)
        for name, on in drop:
            conn.exec_driver_sql(f"CREATE INDEX {name} ON {on}")
        _around(conn, config, n, now, ts)
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    print(f"  built in {time.perf_counter() - start:.0f} s")


def _around(conn, config: Config, n: int, now: datetime, ts) -> None:  # noqa: ANN001
    """Runs, quarantine, sync results, review pairs, quality history and segments."""
    rng = random.Random(7)
    connections = sorted(config.connections)
    run_rows, stream_rows, bad_rows = [], [], []
    run_id = conn.execute(runs.select().with_only_columns(runs.c.id).order_by(runs.c.id.desc()).limit(1)).scalar()
    for i in range(5000):
        run_id += 1
        target = connections[i % len(connections)]
        started = db_value(conn, runs.c.started_at, now - timedelta(hours=5000 - i))
        run_rows.append((run_id, "ingest", target, "partial" if i % 7 == 0 else "succeeded", started, started,
                         200, 150, 40, 0, 10 if i % 7 == 0 else 0))
        stream_rows.append((run_id, "contacts", "succeeded", 200, 150, 40, 0, 10 if i % 7 == 0 else 0))
        if i % 7 == 0:
            for j in range(10):
                pk = f"bad{i}-{j}"
                bad_rows.append((target, "contacts", pk, f"{i:064x}", "clean",
                                 '["person.emails[0].address: not an e-mail address"]',
                                 orjson.dumps({"Email": f"bad{j}@@x", "Name": "某某"}).decode(),
                                 "open", started, started, run_id))
    insert_rows(conn, runs, ("id", "kind", "target", "status", "started_at", "finished_at", "records_read",
                             "records_inserted", "records_updated", "records_unchanged", "records_quarantined"),
                run_rows)
    insert_rows(conn, run_streams, ("run_id", "stream", "status", "records_read", "records_inserted",
                                    "records_updated", "records_unchanged", "records_quarantined"), stream_rows)
    insert_rows(conn, quarantine, ("connection", "stream", "source_pk", "record_hash", "stage", "reasons", "raw",
                                   "status", "first_seen_at", "updated_at", "run_id"), bad_rows)
    destination = sorted(config.destinations)[0] if config.destinations else "crm"
    sync_run = conn.execute(runs.insert().returning(runs.c.id), {
        "kind": "sync", "target": destination, "status": "succeeded", "started_at": now, "finished_at": now,
        "records_read": 20000, "records_inserted": 0, "records_updated": 0, "records_unchanged": 0,
        "records_quarantined": 0}).scalar_one()
    insert_rows(conn, sync_results, ("run_id", "outbox_id", "profile_id", "kind", "status", "external_id", "code",
                                     "reason", "at"),
                [(sync_run, i, str(i), "create", "synced" if i % 50 else "rejected", f"ext{i}",
                  None if i % 50 else "INVALID_DATA", None, ts) for i in range(1, 20001)])
    review_rows = []
    for _ in range(2000):  # pairs of single-record profiles (records of profiles not divisible by 5)
        a, b = rng.randrange(1, n), rng.randrange(1, n)
        ra, rb = _record_of(a), _record_of(b)
        if a % 5 and b % 5 and ra != rb:
            review_rows.append((min(ra, rb), max(ra, rb), 0.8, 2.0, '{"p": 0.8, "levels": {"name": 3, "city": 2}}',
                                "open", ts))
    insert_rows(conn, identity_review, ("record_a", "record_b", "probability", "weight", "evidence", "status",
                                        "created_at"), review_rows)
    for c in connections:
        for k in range(30):
            degraded = k % 9 == 0
            qid = conn.execute(quality_runs.insert().returning(quality_runs.c.id), {
                "connection": c, "run_id": None, "computed_at": now - timedelta(days=30 - k), "seconds": 0.5,
                "status": "degraded" if degraded else "ok",
                "reasons": '["validity 0.91 < 0.95"]' if degraded else "[]"}).scalar_one()
            metrics = [("contacts", "completeness", f, 0.5 + 0.4 * rng.random())
                       for f in ("person.emails", "person.phones", "person.name", "person.employer")]
            metrics += [("contacts", "validity", "*", 0.9 + 0.1 * rng.random()), ("*", "uniqueness", "*", 0.8),
                        ("*", "freshness", "last_success_hours", 24 * rng.random())]
            conn.execute(quality_metrics.insert(), [{"quality_run_id": qid, "connection": c, "stream": st,
                                                     "metric": m, "field": f, "value": v} for st, m, f, v in metrics])
    sizes = {"guangdong": n // 4, "vip": n // 50, "recent_event": n // 3, "dormant": n // 10, "b2b": n // 20}
    for name, size in sizes.items():
        conn.execute(segment_state.insert().values(segment=name, rule_hash="0" * 32, evaluated_at=now, full_at=now,
                                                   size=size))
    seg_ts = db_value(conn, segment_members.c.since, now)
    for name, size in sizes.items():
        members = rng.sample(range(1, n + 1), size)
        for lo in range(0, size, BATCH):
            insert_rows(conn, segment_members, ("segment", "profile_id", "since"),
                        [(name, pid, seg_ts) for pid in members[lo:lo + BATCH]])


def _record_of(pid: int) -> int:
    """The first record id of profile ``pid`` (ids are handed out in profile order; every 5th has two)."""
    return pid + (pid - 1) // 5


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def measure(client: TestClient, store: Store, requests: int, n: int) -> list[tuple[str, list[float]]]:
    rng = random.Random(11)
    token = csrf_of(client.get("/").text)
    with store.reading() as conn:
        bad_run, bad_row = conn.exec_driver_sql("SELECT run_id, id FROM quarantine ORDER BY id DESC LIMIT 1").one()
        sync_run = conn.exec_driver_sql("SELECT id FROM runs WHERE kind = 'sync' LIMIT 1").scalar_one()
        review_ids = [i for (i,) in conn.exec_driver_sql(
            "SELECT id FROM identity_review WHERE status = 'open' ORDER BY id LIMIT 20")]
    pages: list[tuple[str, callable]] = [
        ("overview", lambda: client.get("/")),
        ("runs (latest 50)", lambda: client.get("/runs")),
        ("runs of one connection", lambda: client.get("/runs?target=zoho_crm")),
        ("run detail (ingest, quarantine)", lambda: client.get(f"/runs/{bad_run}")),
        ("run detail (sync, 20k results)", lambda: client.get(f"/runs/{sync_run}")),
        ("quarantined record", lambda: client.get(f"/quarantine/{bad_row}")),
        ("quality (30 evaluations)", lambda: client.get("/quality")),
        ("segments", lambda: client.get("/segments")),
        ("segment members", lambda: client.get("/segments/guangdong")),
        ("profiles (latest)", lambda: client.get("/profiles")),
        ("search by e-mail", lambda: client.post("/profiles", data={
            "csrf": token, "kind": "email", "q": email_of(rng.randrange(1, n))})),
        ("search by phone", lambda: client.post("/profiles", data={
            "csrf": token, "kind": "phone", "q": phone_of(rng.randrange(1, n))})),
        ("profile page (1 record)", lambda: client.get(f"/profiles/{rng.randrange(1, n // 5) * 5 + 1}")),
        ("profile page (2 records)", lambda: client.get(f"/profiles/{rng.randrange(1, n // 5) * 5}")),
        ("review queue", lambda: client.get("/review")),
    ]
    results = []
    for label, call in pages:
        call()  # warm
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            answer = call()
            times.append((time.perf_counter() - t0) * 1000)
            assert answer.status_code in (200, 303), (label, answer.status_code)
        results.append((label, times))
    times = []
    for review_id in review_ids[:min(requests, 20)]:  # each accept merges two profiles and re-resolves them
        t0 = time.perf_counter()
        answer = client.post(f"/review/{review_id}/accept", data={"csrf": token}, follow_redirects=False)
        times.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 303, answer.text[:300]
    results.append(("review accept (POST, merge)", times))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--workdir", default="/tmp/custhub-console-bench")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true",
                        help="build the store and stop (data generation, e.g. under `nice`; time pages later)")
    args = parser.parse_args()
    workdir = Path(args.workdir) / str(args.profiles)
    db = workdir / "console.db"
    if args.rebuild and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fresh = not db.exists()
    config = write_config(workdir, f"sqlite:///{db}")
    print(f"custhub console benchmark: {args.profiles:,} profiles, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    store = Store.open(config.store_url)
    ensure_active(store.engine, config.privacy, config.base_dir)
    if fresh:
        print("building the store (bulk inserts; reused by later runs)")
        build(store, config, args.profiles)
    size = sum(p.stat().st_size for p in workdir.glob("console.db*"))
    print(f"store: {db} ({size / 1e9:.2f} GB)")
    if args.build_only:
        return
    client = TestClient(build_console(config, store), base_url="http://bench")
    page = client.get("/login")
    login = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf": csrf_of(page.text)},
                        follow_redirects=False)
    assert login.status_code == 303, login.text[:300]
    results = measure(client, store, args.requests, args.profiles)
    print(f"\n{'page':<34} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  target {TARGET_MS:.0f} ms")
    worst = 0.0
    for label, times in results:
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
        worst = max(worst, p95)
        flag = "ok" if p95 < TARGET_MS else "SLOW"
        print(f"{label:<34} {statistics.median(times):>10.1f} {p95:>8.1f} {max(times):>8.1f}  {flag}")
    print(f"\nworst p95 {worst:.1f} ms over {args.requests} requests per page; load average {os.getloadavg()[0]:.2f}")
    store.close()


if __name__ == "__main__":
    main()
