"""Store canonical records directly, without a connector (benchmarks, tests, imports of cleaned data)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from hub.store import Store, records, runs
from hub.store.records import GoodRecord

BATCH = 5000


def write_canonical(store: Store, items: Iterable[dict[str, Any]], *, run_kind: str = "ingest",
                    privacy: PrivacySettings | None = None, base_dir: Path | None = None) -> int:
    """Upsert canonical records keyed by their provenance (connection, stream, source_pk), sealed
    as ingest stores them (the privacy layer is activated for the store first)."""
    runtime = ensure_active(store.engine, privacy or PrivacySettings(), base_dir or Path.cwd())
    groups: dict[tuple[str, str], list[GoodRecord]] = {}
    for item in items:
        prov = item["provenance"]
        canonical = orjson.dumps(item).decode()
        digest = runtime.content_hash(canonical.encode())
        groups.setdefault((prov["connection"], prov["stream"]), []).append(
            GoodRecord(prov["source_pk"], digest, canonical, canonical))
    written = 0
    with store.transaction() as conn:
        run_id = runs.start_run(conn, run_kind, "seed")
        now = datetime.now(UTC)
        for (connection, stream), good in groups.items():
            for start in range(0, len(good), BATCH):
                records.write_records(conn, connection, stream, good[start:start + BATCH], run_id, now)
                written += len(good[start:start + BATCH])
        runs.finish_run(conn, run_id, "succeeded", runs.StreamCounts(read=written), None)
    return written
