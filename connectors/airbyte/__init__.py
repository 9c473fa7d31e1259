"""Published Airbyte sources as custhub sources: ``airbyte:<package>``, e.g. ``airbyte:airbyte-source-faker``.

PyAirbyte's short names work too: ``airbyte:source-faker`` is the package ``airbyte-source-faker``
(as ``custhub connectors install`` reads it).

The family registers once as ``airbyte:*``; ``hub.plugins.Registry.get`` resolves each
``airbyte:<package>`` name through ``AIRBYTE_FAMILY.for_name``. Each package runs as a subprocess
from its own virtual environment (``custhub connectors install airbyte:<package>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hub import hookimpl
from hub.errors import ConnectorError
from hub.protocol import CheckResult, Message, StreamInfo, StreamSelection
from hub.sources.subprocess_runner import ExternalAirbyteSource

PREFIX = "airbyte:"


class AirbyteFamily:
    """Stands for every ``airbyte:<package>`` source; only ``for_name`` gives a runnable connector."""

    name = PREFIX + "*"
    description = "Any published Airbyte source (PyPI package), run in its own virtual environment"

    def spec(self) -> dict[str, Any]:
        return {}

    def for_name(self, full_name: str) -> ExternalAirbyteSource:
        return ExternalAirbyteSource(package_name(full_name))

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        raise self._no_package()

    def discover(self, config: Mapping[str, Any]) -> list[StreamInfo]:
        raise self._no_package()

    def read(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
             state: Mapping[str, dict[str, Any]]) -> Iterator[Message]:
        raise self._no_package()

    def _no_package(self) -> ConnectorError:
        return ConnectorError("airbyte:* is a family of sources (name one: airbyte:<package>)")


AIRBYTE_FAMILY = AirbyteFamily()


def package_name(full_name: str) -> str:
    """The PyPI package of ``airbyte:<package>``; a short ``source-x`` means ``airbyte-source-x``."""
    package = full_name.removeprefix(PREFIX)
    if not full_name.startswith(PREFIX) or not package:
        raise ConnectorError(f"'{full_name}' names no package (write airbyte:<package>, "
                             "e.g. airbyte:airbyte-source-faker)")
    return f"airbyte-{package}" if package.startswith("source-") else package


@hookimpl
def register_sources(register):
    register(AIRBYTE_FAMILY)
