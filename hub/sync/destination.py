"""What a destination connector is to the hub.

A destination registers through ``register_destinations``. ``open(config, key_field=...)`` returns a
writer; the dispatcher hands it batches of at most ``writer.batch_size`` rows and gets back one
``RowResult`` per row, in order. Ops: ``upsert`` (create or update, keyed on ``key_field``, which
holds custhub's profile id, so a resend after a crash never creates a second record), ``update``
(the record identified by ``external_id`` must exist) and ``delete``. Failures that concern the
whole batch are raised (``hub.sync.errors``); a row the CRM refuses is ``RowResult("rejected")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(slots=True)
class OutRow:
    outbox_id: int
    profile_id: str
    op: str  # upsert | update | delete
    payload: dict[str, Any]
    external_id: str | None = None


@dataclass(slots=True)
class RowResult:
    status: str  # synced | rejected
    external_id: str | None = None
    code: str | None = None
    reason: str | None = None  # value-free: codes and field names only

    @classmethod
    def ok(cls, external_id: str | None) -> RowResult:
        return cls("synced", external_id)

    @classmethod
    def rejected(cls, code: str | None, reason: str | None) -> RowResult:
        return cls("rejected", None, code, reason)


@runtime_checkable
class Writer(Protocol):
    batch_size: int

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        """Apply ``rows``; one result per row, in order."""

    def close(self) -> None:
        """Release connections and flush anything buffered."""


@runtime_checkable
class DestinationConnector(Protocol):
    name: str
    description: str

    def spec(self) -> dict[str, Any]:
        """The JSON Schema of the destination's config (secret fields flagged ``airbyte_secret``)."""

    def open(self, config: Mapping[str, Any], *, key_field: str) -> Writer:
        """A writer for one sync run."""
