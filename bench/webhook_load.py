"""Load on the webhook server: a burst of signed posts against a real ``custhub serve`` (uvicorn).

    flock /tmp/custhub-bench.lock python bench/webhook_load.py [--events 5000] [--concurrency 64] [--store URL]

Starts ``custhub serve`` in a subprocess on a fresh store, fires ``--events`` signed deliveries
(Typeform and generic HMAC signatures, a share of them redelivered) from an httpx async client with
``--concurrency`` requests in flight, and reports requests/s and latency percentiles. Then it checks
zero loss: every acknowledged event is in the inbox exactly once. Exit status 1 on any loss.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.webhook_server import free_port  # noqa: E402
from tests.webhook_support import (  # noqa: E402
    SECRETS,
    generic_body,
    generic_headers,
    typeform_body,
    typeform_headers,
    write_config,
)


def request_for(n: int) -> tuple[str, str, bytes, dict[str, str]]:
    if n % 2:
        body = typeform_body(f"load-{n:07d}")
        return "typeform", f"load-{n:07d}", body, {**typeform_headers(body), "path": "/hooks/typeform/survey"}
    body = generic_body(f"g-{n:07d}")
    return "generic", f"contact:g-{n:07d}", body, {**generic_headers(body), "path": "/hooks/generic/contact"}


async def fire(url: str, events: int, concurrency: int, redeliver: float) -> tuple[list[float], Counter, Counter]:
    rng = random.Random(1)
    order = list(range(events)) + [rng.randrange(events) for _ in range(int(events * redeliver))]
    rng.shuffle(order)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in order:
        queue.put_nowait(n)
    latencies: list[float] = []
    acked: Counter = Counter()
    failures: Counter = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                provider, event_id, body, headers = request_for(n)
                path = headers.pop("path")
                started = time.perf_counter()
                try:
                    response = await client.post(path, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code == 200:
                    acked[(provider, event_id)] += 1
                else:
                    failures[str(response.status_code)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, acked, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--redeliver", type=float, default=0.1, help="share of events delivered twice")
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="custhub-load-"))
    url = args.store or f"sqlite:///{workdir / 'store.db'}"
    config = write_config(workdir, url)
    port = free_port()
    env = {**os.environ, **SECRETS, "CUSTHUB_LOAD_PLUGINS": "0", "PYTHONPATH": str(REPO)}
    if not env.get("CUSTHUB_KEK"):
        from hub.privacy.keys import generate_kek
        env["CUSTHUB_KEK"] = generate_kek()
    server = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--config", str(config), "--port", str(port)],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("custhub serve did not come up", file=sys.stderr)
                return 1
            time.sleep(0.1)
        started = time.perf_counter()
        latencies, acked, failures = asyncio.run(fire(base, args.events, args.concurrency, args.redeliver))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        stored = Counter(tuple(r) for r in conn.exec_driver_sql("SELECT provider, event_id FROM webhook_inbox"))
    engine.dispose()
    lost = set(acked) - set(stored)
    doubled = [k for k, c in stored.items() if c > 1]
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"webhook load: {len(latencies):,} requests in {elapsed:.1f} s = {len(latencies) / elapsed:,.0f} req/s "
          f"(concurrency {args.concurrency}, store {url.split(':')[0]})")
    print(f"  latency p50 {q[49] * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    print(f"  acknowledged {len(acked):,} distinct events ({sum(acked.values()):,} 200s), inbox {len(stored):,}; "
          f"lost {len(lost)}, stored twice {len(doubled)}, non-200 {dict(failures)}")
    return 1 if lost or doubled else 0


if __name__ == "__main__":
    sys.exit(main())
