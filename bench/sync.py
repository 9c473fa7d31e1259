"""Sync benchmark: push N profiles to a local HTTP server speaking the Zoho upsert shape.

    python bench/sync.py                      # 100,000 profiles, SQLite store
    python bench/sync.py --profiles 20000
    python bench/sync.py --store postgresql+psycopg://postgres@127.0.0.1:5432/bench

Prints: the first full sync (profiles/s, requests), a no-change re-sync (seconds, requests: must be
0), and a re-sync after 1% of profiles changed. Targets: >= 5,000 profiles/s; no-change re-sync of
100,000 profiles under 5 s. The fake CRM runs in a thread of this process, so its JSON work competes
with custhub's for the GIL: real-world figures against a remote CRM are bounded by the CRM instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("CUSTHUB_LOAD_PLUGINS", "0")

from hub.config import parse_config  # noqa: E402
from hub.store import Store  # noqa: E402
from hub.sync import sync_destination  # noqa: E402
from hub.sync.testing import FakeZoho, person, seed_profiles, update_profile  # noqa: E402

MAPPING = "out_zoho_leads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeZoho() as crm:
        url = args.store or f"sqlite:///{Path(tmp) / 'bench.db'}"
        raw = {"version": 1, "store": {"url": url}, "connections": {}, "destinations": {"zoho": {
            "connector": "zoho", "mapping": MAPPING, "config": {
                "client_id": "bench", "client_secret": "bench", "refresh_token": "bench",
                "accounts_url": crm.url, "api_domain": crm.url}}}}
        path = Path(tmp) / "custhub.yaml"
        path.write_text(yaml.safe_dump(raw), "utf-8")
        config = parse_config(raw, path)
        store = Store.open(url)
        t = time.perf_counter()
        ids = seed_profiles(store, [person(i) for i in range(args.profiles)])
        print(f"seeded {len(ids):,} profiles in {time.perf_counter() - t:.1f}s ({store.dialect})")

        t = time.perf_counter()
        first = sync_destination(config, store, "zoho")
        took = time.perf_counter() - t
        print(f"full sync:      {first.delivery.created:,} created in {took:.2f}s = "
              f"{args.profiles / took:,.0f} profiles/s; {crm.requests:,} requests; status {first.status}")

        before = crm.requests
        t = time.perf_counter()
        again = sync_destination(config, store, "zoho")
        took = time.perf_counter() - t
        print(f"no-change sync: {again.plan.unchanged:,} unchanged in {took:.2f}s; "
              f"{crm.requests - before} requests; status {again.status}")

        changed = ids[:: 100]
        for pid in changed:
            update_profile(store, pid, person(0) | {"person": {"name": {"family": "Changed"}}})
        before = crm.requests
        t = time.perf_counter()
        third = sync_destination(config, store, "zoho")
        took = time.perf_counter() - t
        print(f"1% changed:     {third.delivery.updated:,} updated in {took:.2f}s; "
              f"{crm.requests - before} requests")
        print(f"fake CRM holds {len(crm.records):,} records for {args.profiles:,} profiles")
        store.close()


if __name__ == "__main__":
    main()
