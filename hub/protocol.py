"""The messages a source yields to the hub, independent of how the source runs.

Both runners (in-process ``airbyte-cdk`` sources and published Airbyte sources run as
subprocesses) translate Airbyte protocol messages into these small value types, so the ingest
pipeline never touches the CDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SyncMode = Literal["full_refresh", "incremental"]
GLOBAL_STATE_KEY = "*global*"


@dataclass(slots=True)
class Record:
    """One raw record of one stream."""

    stream: str
    data: dict[str, Any]


@dataclass(slots=True)
class State:
    """A checkpoint: the Airbyte STATE message (as JSON) covering every earlier record of ``stream``.

    ``stream`` is ``GLOBAL_STATE_KEY`` for a GLOBAL state that covers all streams.
    """

    stream: str
    message: dict[str, Any]


@dataclass(slots=True)
class ConfigUpdate:
    """The connector rotated part of its config (e.g. a single-use OAuth refresh token)."""

    config: dict[str, Any]


@dataclass(slots=True)
class Log:
    level: str
    message: str


@dataclass(slots=True)
class StreamFailure:
    """The source reported that a stream (or the whole read, when ``stream`` is None) failed."""

    stream: str | None
    message: str
    failure_type: str = "system_error"


Message = Record | State | ConfigUpdate | Log | StreamFailure


@dataclass(frozen=True)
class StreamInfo:
    """A stream as the source describes it (``discover``)."""

    name: str
    json_schema: dict[str, Any] = field(default_factory=dict)
    supported_sync_modes: tuple[SyncMode, ...] = ("full_refresh",)
    source_defined_primary_key: tuple[tuple[str, ...], ...] = ()
    default_cursor_field: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamSelection:
    """A stream the hub asks the source to read, and how."""

    name: str
    sync_mode: SyncMode = "incremental"
    cursor_field: tuple[str, ...] = ()
    primary_key: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str = ""


def stream_state_message(stream: str, blob: dict[str, Any]) -> dict[str, Any]:
    """The JSON of an Airbyte STREAM state message for ``stream`` holding ``blob``."""
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": blob}}


def state_blob(message: dict[str, Any]) -> dict[str, Any]:
    """The ``stream_state`` blob of a STREAM state message (empty when absent)."""
    return ((message or {}).get("stream") or {}).get("stream_state") or {}
