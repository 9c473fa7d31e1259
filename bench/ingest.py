"""Ingest benchmark: time `custhub run` on generated exhibition sign-up CSVs and report peak memory.

    python bench/ingest.py                       # 100k, 300k and 1,000,000 rows on SQLite
    python bench/ingest.py --sizes 1000000       # one size
    python bench/ingest.py --store postgresql+psycopg://postgres@127.0.0.1:5432/bench

Each size runs in a fresh store and a fresh child process, so the peak RSS printed is that run's
own. Memory that stays flat as the file grows shows the read is streamed in batches.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.datagen import bad_row_count, write_csv  # noqa: E402


def run_once(rows: int, workdir: Path, store_url: str | None, batch_size: int,
             plaintext_baseline: bool = False) -> dict[str, float]:
    data = workdir / f"signups_{rows}.csv"
    if not data.exists():
        started = time.perf_counter()
        write_csv(data, rows)
        took = time.perf_counter() - started
        print(f"  generated {rows:,} rows ({data.stat().st_size / 1e6:.0f} MB) in {took:.1f} s")
    store = workdir / f"store_{rows}.db"
    for leftover in workdir.glob(f"store_{rows}.db*"):  # a fresh store: every row must really be read
        leftover.unlink()
    url = store_url or f"sqlite:///{store}"
    # Ingest alone: identity resolution and the quality pass have their own benchmarks
    # (bench/identity.py, bench/quality_segments.py).
    config = {"version": 1, "store": {"url": url}, "ingest": {"batch_size": batch_size},
              "identity": {"resolve_after_ingest": False}, "quality": {"after_run": False},
              "connections": {"expo": {
                  "source": "file",
                  "config": {"files": [{"path": str(data), "stream": "signups", "primary_key": ["序号"]}]},
                  "streams": {"signups": {"mapping": "exhibition_signup"}}}}}
    config_path = workdir / f"custhub_{rows}.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    # The baseline patches this child process (and its workers) only: see bench/ingest_baseline.py.
    baseline = "from bench import ingest_baseline\ningest_baseline.install()\n" if plaintext_baseline else ""
    cmd = [sys.executable, "-c",
           "import resource, sys\n"
           f"{baseline}"
           "from hub.cli import main\n"
           "try:\n    main(sys.argv[1:])\n"
           "finally:\n    me = resource.getrusage(resource.RUSAGE_SELF)\n"
           "    kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
           "    print('MAXRSS', me.ru_maxrss, kids.ru_maxrss, me.ru_utime + me.ru_stime,\n"
           "          kids.ru_utime + kids.ru_stime, file=sys.stderr)\n",
           "--config", str(config_path), "run"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"custhub run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    main_kb, worker_kb, main_cpu, worker_cpu = (float(v) for v in next(
        line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("MAXRSS")))
    # CPU seconds say what the run costs even on a busy machine, where wall time does not: on
    # ``cores`` idle cores the run cannot take less than max(main, (main + workers) / cores).
    bound = max(main_cpu, (main_cpu + worker_cpu) / (os.cpu_count() or 1))
    return {"rows": rows, "seconds": elapsed, "rate": rows / elapsed, "rss_mb": main_kb / 1024,
            "worker_rss_mb": worker_kb / 1024, "quarantined": bad_row_count(rows), "main_cpu": main_cpu,
            "worker_cpu": worker_cpu, "cpu_rate": rows / bound}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file per size)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, help="keep generated files here (default: a temp dir)")
    parser.add_argument("--plaintext-baseline", action="store_true",
                        help="bench-only comparison: the same run without sealing or keyed hashing, to measure "
                             "what encryption at rest costs (custhub itself cannot be configured this way)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="custhub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    mode = "PLAINTEXT BASELINE (bench-only, no encryption)" if args.plaintext_baseline else "encrypted at rest"
    print(f"custhub ingest benchmark ({mode}): {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"workdir {workdir}")
    results = []
    for rows in args.sizes:
        print(f"- {rows:,} rows", flush=True)
        result = run_once(rows, workdir, args.store, args.batch_size, args.plaintext_baseline)
        results.append(result)
        print(f"  {result['seconds']:.1f} s end to end, {result['rate']:,.0f} records/s, peak RSS "
              f"{result['rss_mb']:.0f} MB (largest worker {result['worker_rss_mb']:.0f} MB), "
              f"{result['quarantined']:,} quarantined", flush=True)
        print(f"  CPU: main {result['main_cpu']:.1f} s, workers {result['worker_cpu']:.1f} s "
              f"(best case on idle cores: {result['cpu_rate']:,.0f} records/s)", flush=True)
    print("\n| rows | seconds | records/s | peak RSS main (MB) | peak RSS worker (MB) | CPU main/workers (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['rows']:,} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['rss_mb']:.0f} | "
              f"{r['worker_rss_mb']:.0f} | {r['main_cpu']:.0f}/{r['worker_cpu']:.0f} |")


if __name__ == "__main__":
    main()
