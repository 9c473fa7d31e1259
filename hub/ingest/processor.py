"""Turn a batch of raw records of one stream into stored records and quarantine rows.

Each raw record is keyed by its primary key, hashed, mapped, stamped with its provenance, cleaned
and validated. Every failure becomes a quarantine row carrying every reason found; nothing is
dropped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hub.canonical import SCHEMA_VERSION
from hub.cleaning import Cleaner
from hub.errors import RecordError
from hub.mapping import Mapping
from hub.store.records import BadRecord, GoodRecord

INVALID_MARKER = "_invalid"  # set by a source on a record it could not read properly


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def lookup(record: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass
class StreamProcessor:
    """Map, clean and key the records of one stream of one connection."""

    connection: str
    stream: str
    mapping: Mapping
    cleaner: Cleaner
    primary_key: tuple[tuple[str, ...], ...]
    mapping_digest: str

    def source_pk(self, raw: dict[str, Any]) -> str | None:
        parts = []
        for path in self.primary_key:
            value = lookup(raw, path)
            if value is None or value == "":
                return None
            parts.append(str(value))
        return "|".join(parts)

    def record_hash(self, raw_json: str) -> str:
        digest = hashlib.sha1(raw_json.encode(), usedforsecurity=False)
        digest.update(self.mapping_digest.encode())
        return digest.hexdigest()

    def process(self, batch: Sequence[dict[str, Any]], read_at: str) -> tuple[list[GoodRecord], list[BadRecord]]:
        """(stored records, quarantine rows) as plain tuples in the fields' order (cheap to pickle)."""
        good: list[Any] = []
        bad: list[Any] = []
        for raw in batch:
            raw_json = dumps(raw)
            record_hash = self.record_hash(raw_json)
            pk = self.source_pk(raw)
            if pk is None:
                names = ", ".join(".".join(p) for p in self.primary_key)
                # Without a key the record cannot be addressed; key the quarantine row by its content.
                bad.append((f"#{record_hash}", record_hash, raw_json,
                            dumps([f"(record): missing primary key field {names}"]), "source"))
                continue
            stage, reasons, canonical = self.canonicalise(raw, pk, read_at)
            if reasons:
                bad.append((pk, record_hash, raw_json, dumps(reasons), stage))
            else:
                good.append((pk, record_hash, raw_json, dumps(canonical)))
        return good, bad

    def canonicalise(self, raw: dict[str, Any], pk: str, read_at: str) -> tuple[str, list[str], dict[str, Any]]:
        """(stage, reasons, cleaned record): reasons is empty when the record is valid."""
        if raw.get(INVALID_MARKER):
            return "source", [f"(record): {raw[INVALID_MARKER]}"], {}
        try:
            mapped = self.mapping.apply(raw)
        except RecordError as exc:
            return "map", exc.reasons, {}
        mapped["schema_version"] = SCHEMA_VERSION
        mapped["provenance"] = {"connection": self.connection, "stream": self.stream, "source_pk": pk,
                                "read_at": read_at}
        cleaned, reasons = self.cleaner.clean(mapped)
        return "clean", reasons, cleaned
