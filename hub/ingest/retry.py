"""Re-run quarantined records through the current mapping and cleaning (after a fix)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from hub.cleaning import Cleaner
from hub.config import Config
from hub.ingest.commit import SUPPRESSED_STAGE, store_batch
from hub.ingest.pipeline import mapping_digest, mapping_for, source_config, stream_primary_keys
from hub.ingest.processor import StreamProcessor, dumps
from hub.privacy.runtime import ensure_active
from hub.sources import source_for
from hub.store import Store, records
from hub.store.schema import quarantine


@dataclass
class RetryResult:
    resolved: int = 0
    still_bad: int = 0
    skipped: int = 0  # rows whose connection or stream is no longer configured


def retry_quarantined(config: Config, store: Store, *, connection: str | None = None,
                      ids: list[int] | None = None) -> RetryResult:
    """Retry open quarantine rows; each fixed record is stored exactly once and its row resolved.

    Rows of suppressed records are left alone: their payload was not kept.
    """
    ensure_active(store.engine, config.privacy, config.base_dir)
    result = RetryResult()
    query = select(quarantine).where(quarantine.c.status == "open").order_by(quarantine.c.id)
    if connection:
        query = query.where(quarantine.c.connection == connection)
    if ids:
        query = query.where(quarantine.c.id.in_(ids))
    with store.reading() as conn:
        rows = conn.execute(query).mappings().all()
    cleaner = Cleaner(default_region=config.default_region)
    processors: dict[tuple[str, str], StreamProcessor | None] = {}
    for row in rows:
        key = (row["connection"], row["stream"])
        if key not in processors:
            processors[key] = _processor(config, store, cleaner, *key)
        processor = processors[key]
        if processor is None:
            result.skipped += 1
            continue
        if row["stage"] == SUPPRESSED_STAGE:
            result.still_bad += 1
            continue
        raw = records.open_quarantine_raw(row["connection"], row["stream"], row["source_pk"], row["raw"])
        pk = processor.source_pk(raw)
        now = datetime.now(UTC)
        stage, reasons, canonical = ("source", ["(record): missing primary key"], {}) if pk is None else \
            processor.canonicalise(raw, pk, now.isoformat(timespec="seconds"))
        with store.transaction() as conn:
            if reasons:
                conn.execute(update(quarantine).where(quarantine.c.id == row["id"]).values(
                    reasons=dumps(reasons), stage=stage, updated_at=now))
                result.still_bad += 1
                continue
            raw_json = dumps(raw)
            good = processor.good_record(pk, processor.record_hash(raw_json), raw_json, canonical, now)
            stored = store_batch(conn, row["connection"], row["stream"], [good], [], row["run_id"], now,
                                 resolve=False)
            if stored.quarantined:  # suppressed meanwhile: its row now says so
                if pk != row["source_pk"]:
                    conn.execute(update(quarantine).where(quarantine.c.id == row["id"]).values(
                        status="resolved", updated_at=now))
                result.still_bad += 1
                continue
            conn.execute(update(quarantine).where(quarantine.c.id == row["id"]).values(
                status="resolved", updated_at=now))
            result.resolved += 1
    return result


def _processor(config: Config, store: Store, cleaner: Cleaner, connection: str,
               stream: str) -> StreamProcessor | None:
    conn = config.connections.get(connection)
    if conn is None or stream not in conn.streams:
        return None
    source = source_for(conn)
    keys = stream_primary_keys(config, conn, source, source_config(config, store, conn, source.spec()))
    mapping = mapping_for(config, conn.streams[stream].mapping)
    return StreamProcessor(connection, stream, mapping, cleaner, keys[stream], mapping_digest(mapping),
                           config.privacy.region)
