"""The sealed columns of sync-out: outbox payloads and errors, row reasons; the keyed payload hash.

Row keys are natural keys known before the insert, so the planner and the dispatcher seal in bulk:

* ``sync_outbox.payload`` and ``.error``: ``[destination, profile_id, payload_hash]``. A ciphertext
  moved to another row authenticates only where it would decrypt to the same payload anyway.
* ``sync_results.reason``: ``[run_id, outbox_id]``.

Each column is registered as a ``RewrapTarget`` for ``custhub keys rewrap`` (which is also the
one-off encrypt pass for rows written before encryption: ``open_*`` reads plaintext too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hub.privacy.crypto import location_aad
from hub.privacy.rewrap import RewrapTarget, register_target
from hub.privacy.runtime import current
from hub.store.sealed import open_json, open_text, seal_json, seal_text
from hub.sync.tables import sync_outbox, sync_results


def payload_hash(payload: dict[str, Any]) -> str:
    """A keyed 32-hex digest of a payload: change detection without an unkeyed hash of PII."""
    return current().content_hash(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))


def outbox_key(destination: str, profile_id: str, payload_hash: str) -> list[str]:
    return [destination, profile_id, payload_hash]


def seal_payload(destination: str, profile_id: str, h: str, payload: dict[str, Any]) -> str:
    return seal_json("sync_outbox", "payload", outbox_key(destination, profile_id, h), payload)


def open_payload(destination: str, profile_id: str, h: str, stored: str) -> dict[str, Any]:
    return open_json("sync_outbox", "payload", outbox_key(destination, profile_id, h), stored)


def seal_error(destination: str, profile_id: str, h: str, text: str | None) -> str | None:
    if text is None:
        return None
    return seal_text("sync_outbox", "error", outbox_key(destination, profile_id, h), text)


def open_error(destination: str, profile_id: str, h: str, stored: str | None) -> str | None:
    if stored is None:
        return None
    return open_text("sync_outbox", "error", outbox_key(destination, profile_id, h), stored)


def seal_reason(run_id: int, outbox_id: int, text: str | None) -> str | None:
    return None if text is None else seal_text("sync_results", "reason", [run_id, outbox_id], text)


def open_reason(run_id: int, outbox_id: int, stored: str | None) -> str | None:
    return None if stored is None else open_text("sync_results", "reason", [run_id, outbox_id], stored)


def _outbox_aad(column: str, row: Mapping[str, Any]) -> bytes:
    return location_aad("sync_outbox", column, outbox_key(row["destination"], row["profile_id"], row["payload_hash"]))


def _results_aad(column: str, row: Mapping[str, Any]) -> bytes:
    return location_aad("sync_results", column, [row["run_id"], row["outbox_id"]])


OUTBOX_TARGET = RewrapTarget(table=sync_outbox, key_column="id", value_columns=("payload", "error"), aad=_outbox_aad)
RESULTS_TARGET = RewrapTarget(table=sync_results, key_column="id", value_columns=("reason",), aad=_results_aad)
register_target(OUTBOX_TARGET)
register_target(RESULTS_TARGET)
