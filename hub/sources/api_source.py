"""A small ``airbyte-cdk`` source for APIs a declarative manifest cannot describe.

A connector supplies an *API object* built from the validated config::

    class MyApi:
        def __init__(self, config: Mapping[str, Any]) -> None: ...
        def check(self) -> None: ...                 # raise a CusthubError with a one-line reason
        def streams(self) -> list[StreamDef]: ...

and each ``StreamDef.read(state)`` yields ``(record, state_after)`` pairs: ``state_after`` is the
exact resume point *after* that record, so a checkpoint taken at any record resumes with exactly
the records that follow. A pair whose record is ``None`` only moves the state (e.g. the final
cursor once a pass is complete). ``ApiSource`` turns that into CDK streams that checkpoint every
``checkpoint_every`` records and at the end, and reports ``hub.errors`` exceptions with the
failure type the hub acts on (a daily quota ends the stream at its last checkpoint: the run is
partial and the next one resumes).

Imported lazily (it imports the CDK): a connector's plugin module builds its source in a factory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteTraceMessage,
    ConnectorSpecification,
    FailureType,
    Status,
    StreamDescriptor,
    SyncMode,
    TraceType,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.core import CheckpointMixin

from hub import validation
from hub.errors import CusthubError
from hub.sources.cdk_runner import traced_error
from hub.sources.http import QuotaExhausted

__all__ = ["ApiSource", "StreamDef", "DEFAULT_CHECKPOINT_EVERY"]

DEFAULT_CHECKPOINT_EVERY = 1000
StreamRead = Callable[[Mapping[str, Any]], Iterator[tuple[dict[str, Any] | None, dict[str, Any]]]]


@dataclass(frozen=True)
class StreamDef:
    """One stream of an API: its name, key, cursor, schema and how to read it from a state."""

    name: str
    read: StreamRead
    primary_key: tuple[str, ...] = ("id",)
    cursor_field: str = ""
    json_schema: dict[str, Any] = field(default_factory=lambda: {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": True})


class ApiSource(AbstractSource):
    """A CDK source over an API object; config, catalog and state are fixed at construction."""

    def __init__(self, spec: dict[str, Any], make_api: Callable[[Mapping[str, Any]], Any],
                 config: Mapping[str, Any], *, label: str) -> None:
        validation.check(dict(config), spec, file=label)
        self._spec = spec
        self._api = make_api(config)
        self._checkpoint_every = int(config.get("checkpoint_every") or DEFAULT_CHECKPOINT_EVERY)

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(connectionSpecification=self._spec, supportsIncremental=True)

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        return [ApiStream(definition, self._checkpoint_every) for definition in self._api.streams()]

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        try:
            self._api.check()
        except CusthubError as error:
            return False, str(error)
        return True, None

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        ok, reason = self.check_connection(logger, config)  # the CDK would repr() the reason
        return AirbyteConnectionStatus(status=Status.SUCCEEDED if ok else Status.FAILED, message=reason)


def read_partitions(state: Mapping[str, Any], key: str, partition_ids: Iterable[str],
                    read_one: Callable[[str, dict[str, Any]], Iterator[Any]]) -> Iterator[Any]:
    """Read each partition (a form, an event ...) in turn; ``state[key]`` maps partition id to its own
    saved state, and every (record, state after it) pair carries the state of all partitions so far."""
    saved = dict(state.get(key) or {})
    for partition_id in partition_ids:
        for record, after in read_one(partition_id, saved):
            saved = after[key]
            yield record, after


class ApiStream(Stream, CheckpointMixin):
    """A ``StreamDef`` as a CDK stream whose state is exact after every record."""

    def __init__(self, definition: StreamDef, checkpoint_every: int) -> None:
        self._definition = definition
        self._checkpoint_every = checkpoint_every
        self._state: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._definition.name

    @property
    def primary_key(self) -> list[str]:
        return list(self._definition.primary_key)

    @property
    def cursor_field(self) -> str:
        return self._definition.cursor_field

    @property
    def state_checkpoint_interval(self) -> int:
        return self._checkpoint_every

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    def get_json_schema(self) -> Mapping[str, Any]:
        return self._definition.json_schema

    def read_records(self, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                     stream_slice: Mapping[str, Any] | None = None,
                     stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any]]:
        start = {} if sync_mode == SyncMode.full_refresh else dict(self._state)
        try:
            for record, state in self._definition.read(start):
                self._state = state
                if record is not None:
                    yield record
        except QuotaExhausted as error:
            # Stop cleanly: the CDK then checkpoints the exact position reached, and the hub marks the
            # stream failed (the run partial); the next run resumes from that checkpoint.
            yield _quota_trace(self.name, str(error))
        except CusthubError as error:
            raise traced_error(error) from error

    def get_error_display_message(self, exception: BaseException) -> str | None:
        return str(exception) if isinstance(exception, CusthubError) else None


def _quota_trace(stream: str, text: str) -> AirbyteTraceMessage:
    return AirbyteTraceMessage(
        type=TraceType.ERROR, emitted_at=time.time() * 1000,
        error=AirbyteErrorTraceMessage(message=text, internal_message=text, failure_type=FailureType.transient_error,
                                       stream_descriptor=StreamDescriptor(name=stream)))
