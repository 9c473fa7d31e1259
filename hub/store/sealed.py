"""Sealed (encrypted) columns of the store: one place that seals and opens them.

Every PII column is stored as a ``ch1.<kid>.…`` ciphertext (``hub.privacy.crypto``) bound by its AAD
to its table, column and row key. Row keys are natural keys known before the insert (for source
records ``[connection, stream, source_pk]``), so ingest workers can seal in parallel.

``open_*`` also reads a plaintext value written before encryption was switched on (such rows are
found by ``hub.privacy.rewrap.plaintext_count`` and sealed by the one-off encrypt pass).
"""

from __future__ import annotations

from typing import Any

import orjson

from hub.privacy.crypto import FORMAT, is_ciphertext
from hub.privacy.runtime import current

_PREFIX = f"{FORMAT}."
_BINARY_PREFIX = _PREFIX.encode("ascii")


def seal_text(table: str, column: str, row_key: Any, text: str) -> str:
    return current().seal(table, column, row_key, text)


def open_text(table: str, column: str, row_key: Any, stored: str) -> str:
    if is_ciphertext(stored):
        return current().open(table, column, row_key, stored)
    return stored


def seal_json(table: str, column: str, row_key: Any, value: Any) -> str:
    """``value`` (or JSON text) sealed; JSON text is sealed as is, without re-encoding."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return current().seal(table, column, row_key, text)


def is_sealed(stored: Any) -> bool:
    """Whether a stored value is sealed (a text or binary token) rather than plaintext JSON, which
    never starts with "ch1." (a full ``is_ciphertext`` check scans the whole token)."""
    if isinstance(stored, str):
        return stored.startswith(_PREFIX)
    return isinstance(stored, bytes) and stored.startswith(_BINARY_PREFIX)


def open_json(table: str, column: str, row_key: Any, stored: str | bytes) -> Any:
    if is_sealed(stored):
        return orjson.loads(current().open(table, column, row_key, stored))
    return orjson.loads(stored)


def source_key(connection: str, stream: str, source_pk: str) -> list[str]:
    """The AAD row key of a source record (and of its quarantine row)."""
    return [connection, stream, source_pk]
