"""Run a declarative ``airbyte-cdk`` manifest (YAML) in-process as a hub source connector.

``DeclarativeSourceConnector(name, manifest_path)`` is all a manifest-only connector needs::

    HUBSPOT_SOURCE = DeclarativeSourceConnector("hubspot", Path(__file__).with_name("manifest.yaml"))

* The manifest is read once, when the connector is built (plugin load stays fast: no CDK import).
  Its ``spec.connection_specification`` is the connector's spec; secret fields carry
  ``airbyte_secret: true``.
* Every operation builds a fresh ``ConcurrentDeclarativeSource`` with config, catalog *and* state
  passed to the constructor (the CDK ignores the state given to ``read()``), through
  ``CdkSourceConnector``, which handles the CDK's logging and stdout traps and translates messages.
* The config is validated against the spec first, so a wrong config is one line naming the key.
* The CDK logs a failed request with its request and response *bodies* (customer values): those
  log lines are cut to the method, URL and status before they reach any handler.
* A failure that every later window repeats (HubSpot's daily limit) is reported once.
* ``check`` answers with the reason alone, not the CDK's quoted "Stream x is not available: ...".
* Custom components (``class_name: connectors.<name>.components.Something``) are imported from
  the hub's own packages; they are trusted code like any plugin.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from hub import validation
from hub.errors import ConfigError
from hub.protocol import CheckResult, Message, StreamFailure, StreamSelection
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["DeclarativeSourceConnector", "RedactHttpBodies", "load_manifest"]

_UNAVAILABLE = re.compile(r"^'?Stream \S+ is not available: (.*?)'?$")


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, checked to have a spec with a connection specification."""
    try:
        manifest = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read the manifest ({type(error).__name__})", file=str(path)) from None
    spec = (manifest or {}).get("spec", {}).get("connection_specification") if isinstance(manifest, dict) else None
    if not isinstance(spec, dict):
        raise ConfigError("no spec.connection_specification", file=str(path),
                          fix="declare the config's JSON Schema under spec.connection_specification")
    return manifest


class DeclarativeSourceConnector(CdkSourceConnector):
    """A source connector defined by a declarative manifest."""

    def __init__(self, name: str, manifest_path: Path, description: str | None = None) -> None:
        self.manifest_path = Path(manifest_path)
        self._manifest = load_manifest(self.manifest_path)
        spec = self._manifest["spec"]["connection_specification"]
        super().__init__(name, description or self._manifest.get("description", ""), spec, self._make)
        self._streams = [str(stream.get("name", "")) for stream in self._manifest.get("streams", [])]
        _redact_airbyte_logs(self._streams)

    def read(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
             state: Mapping[str, dict[str, Any]]) -> Iterator[Message]:
        """As ``CdkSourceConnector.read``, with a failure repeated by every later window reported once."""
        _redact_airbyte_logs(self._streams)
        reported: set[tuple[str | None, str]] = set()
        for message in super().read(config, streams, state):
            if isinstance(message, StreamFailure):
                if (message.stream, message.message) in reported:
                    continue
                reported.add((message.stream, message.message))
            yield message

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        _redact_airbyte_logs(self._streams)
        result = super().check(config)
        match = _UNAVAILABLE.match(result.message)
        return CheckResult(result.ok, match.group(1) if match else result.message)

    def __repr__(self) -> str:
        return f"DeclarativeSourceConnector({self.name!r}, {str(self.manifest_path)!r})"

    def _make(self, config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
        from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

        validation.check(dict(config), self._spec, file=f"{self.name} source config")
        return ConcurrentDeclarativeSource(catalog=catalog, config=dict(config), state=state,
                                           source_config=copy.deepcopy(self._manifest))


class RedactHttpBodies(logging.Filter):
    """Cut a CDK "request failed" log line (or an exception repeating it) before its bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "(body)" in text or "error message:" in text:
            record.msg, record.args = text.split(" and error message:")[0].split(". Request (body)")[0], ()
        if record.exc_info and "(body)" in str(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None
        return True


_KNOWN_LOGGERS = ("airbyte", "airbyte.ConcurrentDeclarativeSource", "airbyte.ConcurrentSource")


def _redact_airbyte_logs(streams: Iterable[str] = ()) -> None:
    """Put ``RedactHttpBodies`` on every CDK logger (a logger's filters do not reach its children)."""
    names = {*_KNOWN_LOGGERS, *(f"airbyte.HttpRequester.{s}" for s in streams)}
    names.update(n for n in list(logging.root.manager.loggerDict) if n.startswith("airbyte"))
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactHttpBodies) for f in logger.filters):
            logger.addFilter(RedactHttpBodies())
