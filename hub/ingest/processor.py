"""Turn a batch of raw records of one stream into stored records and quarantine rows.

Each raw record is keyed by its primary key, hashed (keyed), mapped, stamped with its provenance,
cleaned and validated. Every failure becomes a quarantine row carrying every reason found; nothing
is dropped silently. The privacy work runs here too, so that it runs on the worker processes:
raw and canonical JSON are sealed (``hub.store.sealed``), the content hash is keyed, and each
stored record carries the blind-index digests of its identifiers (for the suppression check) and
its consent events (for the ledger), both value-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from hub.canonical import SCHEMA_VERSION
from hub.cleaning import Cleaner
from hub.errors import RecordError
from hub.mapping import Mapping
from hub.privacy.consent import JURISDICTIONS, consent_time, events_from_canonical
from hub.privacy.crypto import location_aad
from hub.privacy.runtime import current
from hub.privacy.suppression import digests, identifiers_of
from hub.store.records import BadRecord, ConsentValues, GoodRecord
from hub.store.sealed import seal_json, source_key

INVALID_MARKER = "_invalid"  # set by a source on a record it could not read properly


_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=_JSON_OPTIONS).decode()


def json_bytes(value: Any) -> bytes:
    """``value`` as sorted, compact JSON. Records have text keys: orjson sorts them ~25% faster when
    not told to expect others, and writes the same bytes; any other key takes the general path."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return orjson.dumps(value, option=_JSON_OPTIONS)


def lookup(record: Any, path: Sequence[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def suppression_digests(canonical: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(kind, digest) of the record's identifiers, as the suppression list stores them."""
    return tuple(sorted(digests(current().indexer, identifiers_of(canonical))))


CONSENT_CACHE_SIZE = 1 << 15
_NULL = len(b"null")
_EMPTY_PREFIX = len(location_aad("", "", None)) - _NULL
_EMPTY_PK = len(b'""]')


@lru_cache(maxsize=1 << 14)  # sign-up times repeat: a form's batch, a minute's worth of visitors
def utc_consent_time(text: str) -> datetime | None:
    """``consent_time(text)`` in UTC, as the ledger rows carry it."""
    time = consent_time(text)
    return None if time is None else time.astimezone(UTC)


class Sealing:
    """The privacy work of ingest for one stream: keyed hash, sealed columns, value-free extracts."""

    def __init__(self, connection: str, stream: str, mapping_digest: str, jurisdiction: str = "CN") -> None:
        self.connection, self.stream = connection, stream
        self.salt = ("\x1f" + mapping_digest).encode()
        self.jurisdiction = jurisdiction if jurisdiction in JURISDICTIONS else "other"
        # location_aad(table, column, key) is a fixed prefix plus the key's JSON: build the key's
        # JSON once per record for both columns (with location_aad itself, so it cannot drift).
        self._raw_aad = location_aad("source_records", "raw", None)[:-_NULL]
        self._canonical_aad = location_aad("source_records", "canonical", None)[:-_NULL]
        # The key's JSON is ["<connection>","<stream>","<pk>"]: all but the pk is the same every time.
        self._key_start = location_aad("", "", source_key(connection, stream, ""))[_EMPTY_PREFIX:-_EMPTY_PK]
        self._consent_rows: dict[tuple[Any, ...], tuple[ConsentValues, ...]] = {}

    def record_hash(self, raw_json: str | bytes) -> str:
        """Keyed: an unkeyed hash of a record would let anyone confirm a guessed phone or name."""
        data = raw_json if isinstance(raw_json, bytes) else raw_json.encode()
        return current().content_hash(data + self.salt)

    def seal_record(self, pk: str, raw_json: str | bytes, canonical_json: str | bytes) -> tuple[bytes, bytes]:
        """raw and canonical sealed where ``seal_json("source_records", column, source_key(...), text)``
        seals them, as binary tokens (``hub.store.records.write_records`` stores them as they are
        on SQLite, as text elsewhere)."""
        key = self._key_start + orjson.dumps(pk) + b"]"  # as location_aad writes a list of text
        cipher = current().cipher
        return (cipher.encrypt_binary(raw_json, self._raw_aad + key),
                cipher.encrypt_binary(canonical_json, self._canonical_aad + key))

    def seal_quarantine(self, pk: str, raw_json: str) -> str:
        return seal_json("quarantine", "raw", source_key(self.connection, self.stream, pk), raw_json)

    def suppression_digests(self, canonical: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return suppression_digests(canonical)

    def consents(self, canonical: dict[str, Any], read_at: datetime) -> tuple[ConsentValues, ...]:
        """The record's consent events as ledger rows without their subject (the stored row's id).

        Consents repeat (the same checkbox) except for their time, so rows are made once per content
        but the times and then only re-timed, as long as every consent has a time of its own (one
        that took the batch's read time is computed each time)."""
        entries = canonical.get("consents")
        if not entries:
            return ()
        try:
            key = tuple(tuple(item for item in entry.items() if item[0] != "at") for entry in entries)
            made = self._consent_rows.get(key)
        except (AttributeError, TypeError):  # not plain values: no key, computed each time
            return self._consents(canonical, read_at)
        times: list[datetime] = []
        for entry in entries:
            at = entry.get("at")
            time = utc_consent_time(at) if isinstance(at, str) else None
            if time is None:
                return self._consents(canonical, read_at)
            times.append(time)
        if made is not None:
            return tuple((*row[:7], time, row[8]) for row, time in zip(made, times, strict=True))
        rows = self._consents(canonical, read_at)
        if len(rows) == len(entries):  # one row per consent, in order (none was left out)
            if len(self._consent_rows) >= CONSENT_CACHE_SIZE:
                self._consent_rows.clear()
            self._consent_rows[key] = rows
        return rows

    def _consents(self, canonical: dict[str, Any], read_at: datetime) -> tuple[ConsentValues, ...]:
        events = events_from_canonical(canonical, subject="record:0", source_record=None,
                                       jurisdiction=self.jurisdiction, fallback_time=read_at)
        # Plain tuples in ConsentRow's field order: a named tuple costs a Python call to pickle and
        # to unpickle, ~2 us per record on each side (bench figures in docs/performance.md).
        return tuple((e.purpose, e.status, e.basis, e.separate, e.jurisdiction, e.channel, e.source_connection,
                      e.effective_from.astimezone(UTC), e.expires_at.astimezone(UTC) if e.expires_at else None)
                     for e in events)


@dataclass
class StreamProcessor:
    """Map, clean, key and seal the records of one stream of one connection."""

    connection: str
    stream: str
    mapping: Mapping
    cleaner: Cleaner
    primary_key: tuple[tuple[str, ...], ...]
    mapping_digest: str
    jurisdiction: str = "CN"
    sealing: Sealing = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sealing = Sealing(self.connection, self.stream, self.mapping_digest, self.jurisdiction)

    def source_pk(self, raw: Any) -> str | None:
        parts = []
        for path in self.primary_key:
            value = lookup(raw, path)
            if value is None or value == "":
                return None
            parts.append(str(value))
        return "|".join(parts)

    def record_hash(self, raw_json: str) -> str:
        return self.sealing.record_hash(raw_json)

    def process(self, batch: Sequence[Any], read_at: str,
                digests: bool = True) -> tuple[list[GoodRecord], list[BadRecord]]:
        """(stored records, quarantine rows) as plain tuples in the fields' order (cheap to pickle).

        ``digests=False`` (the suppression list was empty when the batch was handed over) leaves the
        suppression digests out (None); ``hub.ingest.commit`` computes them if the list filled since.
        """
        good: list[Any] = []
        bad: list[Any] = []
        sealing = self.sealing
        read_time = datetime.fromisoformat(read_at)
        for raw in batch:
            raw_json = json_bytes(raw)  # UTF-8 bytes: hashed and sealed as they are
            record_hash = sealing.record_hash(raw_json)
            pk = self.source_pk(raw)
            if pk is None:
                names = ", ".join(".".join(p) for p in self.primary_key)
                # Without a key the record cannot be addressed; key the quarantine row by its content.
                pk = f"#{record_hash}"
                bad.append((pk, record_hash, sealing.seal_quarantine(pk, raw_json.decode()),
                            dumps([f"(record): missing primary key field {names}"]), "source"))
                continue
            stage, reasons, canonical = self.canonicalise(raw, pk, read_at)
            if reasons:
                bad.append((pk, record_hash, sealing.seal_quarantine(pk, raw_json.decode()), dumps(reasons), stage))
            else:
                good.append(self.good_record(pk, record_hash, raw_json, canonical, read_time, digests))
        return good, bad

    def good_record(self, pk: str, record_hash: str, raw_json: str | bytes, canonical: dict[str, Any],
                    read_time: datetime, digests: bool = True) -> tuple[Any, ...]:
        sealing = self.sealing
        canonical_json = json_bytes(canonical)
        raw_sealed, canonical_sealed = sealing.seal_record(pk, raw_json, canonical_json)
        return (pk, record_hash, raw_sealed, canonical_sealed,
                sealing.suppression_digests(canonical) if digests else None, sealing.consents(canonical, read_time))

    def canonicalise(self, raw: Any, pk: str, read_at: str) -> tuple[str, list[str], Any]:
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
