"""What a source connector is to the hub.

A source connector is registered through the ``register_sources`` hook. It is mostly data (a
name and a JSON Schema ``spec`` whose secret fields carry ``"airbyte_secret": true``) plus four
protocol operations. In-tree connectors implement them with ``airbyte-cdk`` (see
``hub.sources.cdk_runner``); published Airbyte sources run as subprocesses (``hub.sources.subprocess_runner``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from hub.protocol import CheckResult, Message, StreamInfo, StreamSelection


@runtime_checkable
class SourceConnector(Protocol):
    """The contract every source connector fulfils."""

    name: str
    description: str

    def spec(self) -> dict[str, Any]:
        """The JSON Schema of the connector's config."""

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        """Verify that ``config`` can reach the source; a failure says why in one line."""

    def discover(self, config: Mapping[str, Any]) -> list[StreamInfo]:
        """List the streams the source offers."""

    def read(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
             state: Mapping[str, dict[str, Any]]) -> Iterator[Message]:
        """Read the selected streams, resuming from ``state`` (stream name -> STATE message JSON).

        A source may also offer ``estimated_records(config, streams, state) -> int | None``, a cheap
        guess of how many records that read brings: ingest then starts its workers before reading."""
