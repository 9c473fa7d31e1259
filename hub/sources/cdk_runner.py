"""Run an ``airbyte-cdk`` source in-process as a ``hub.connectors.SourceConnector``.

``CdkSourceConnector`` wraps a factory that builds a CDK ``Source`` from (config, configured
catalog, state) and speaks ``hub.protocol`` to the hub. It guards against the traps of embedding
the CDK (``reference/connector-frameworks.md`` §3.1):

* ``airbyte_cdk`` is imported lazily, on the first operation, because the import takes ~3 s.
  The import reconfigures logging (closing every handler and sending the root logger's records
  to stdout as JSON) and the CDK installs its own ``sys.excepthook``: the reconfiguration is
  suppressed during the import, and root logging and ``sys.excepthook`` are put back after the
  import and after every operation.
* A fresh source is built per operation, and config, catalog and state go to its constructor
  as well as to ``read()`` (declarative sources ignore ``read()``'s state).
* Rotated configs (single-use OAuth refresh tokens) are *printed* by the CDK. While a source
  runs, ``sys.stdout`` is routed into a line parser (``StdoutRouter``) that turns those CONTROL
  lines into ``ConfigUpdate`` messages, so a rotated token is not lost, and no CDK output reaches
  the real stdout.
* A failed stream arrives as a TRACE ERROR message, and ``AbstractSource.read`` then raises an
  ``AirbyteTracedException`` summing the failures up: both become ``StreamFailure`` messages
  (the summary only when no failure was reported already), never an exception.

A stream implemented for this runner raises ``hub.errors`` exceptions wrapped by
``traced_error`` so that the failure type survives the CDK: fatal errors become
``config_error``, retriable ones ``transient_error``.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import logging
import logging.config
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hub.errors import ConnectorError, CusthubError, FatalError, RetriableError
from hub.protocol import (
    GLOBAL_STATE_KEY,
    CheckResult,
    ConfigUpdate,
    Log,
    Message,
    Record,
    State,
    StreamFailure,
    StreamInfo,
    StreamSelection,
)
from hub.sources.cdk_host import HostWiring, QuietCdk
from hub.sources.cdk_host import cdk as cdk_names
from hub.sources.stdout_router import STDOUT, StdoutTap

__all__ = ["BATCH", "CdkSourceConnector", "SourceFactory", "api_connector", "traced_error"]

# A stream may yield ``{BATCH: [record, ...]}``: one CDK message for many records, unpacked here into
# one ``Record`` each. The CDK's per-message work (wrapping, schema transform, state bookkeeping)
# then runs once per batch; the stream's ``state_checkpoint_interval`` counts batches.
BATCH = "_custhub_batch"

# (config, configured catalog or None, state messages) -> an airbyte_cdk Source
SourceFactory = Callable[[Mapping[str, Any], Any, list[Any]], Any]
# (config, selected stream names, state by stream) -> records a read will bring, or None if unknown
RecordEstimate = Callable[[Mapping[str, Any], list[str], Mapping[str, dict[str, Any]]], "int | None"]

_GENERIC_CDK_MESSAGE = "Something went wrong in the connector"


class CdkSourceConnector:
    """A source connector backed by an in-process ``airbyte-cdk`` source.

    ``make_source(config, catalog, state)`` builds the CDK source; ``catalog`` is None for
    ``check`` and ``discover`` and ``state`` is a list of ``AirbyteStateMessage``. ``estimate``,
    where a source can guess the size of a read cheaply, answers ``estimated_records``.
    """

    def __init__(self, name: str, description: str, spec: dict[str, Any],
                 make_source: SourceFactory, estimate: RecordEstimate | None = None) -> None:
        self.name = name
        self.description = description
        self._spec = spec
        self._make_source = make_source
        self._estimate = estimate

    def __repr__(self) -> str:
        return f"CdkSourceConnector({self.name!r})"

    def spec(self) -> dict[str, Any]:
        return copy.deepcopy(self._spec)

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        cdk = cdk_names()
        try:
            with _cdk_call(cdk, self.name, "check"):
                source = self._make_source(config, None, [])
                status = source.check(self._logger(), config)
        except CusthubError as error:
            return CheckResult(False, _one_line(str(error)))
        except cdk.AirbyteTracedException as error:
            return CheckResult(False, _one_line(_traced_message(error)))
        ok = status.status == cdk.Status.SUCCEEDED
        return CheckResult(ok, _one_line(status.message or ("" if ok else "check failed")))

    def estimated_records(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
                          state: Mapping[str, dict[str, Any]]) -> int | None:
        """About how many records ``read`` with these arguments will bring; None if unknown."""
        if self._estimate is None:
            return None
        return self._estimate(config, [s.name for s in streams], state)

    def discover(self, config: Mapping[str, Any]) -> list[StreamInfo]:
        cdk = cdk_names()
        try:
            with _cdk_call(cdk, self.name, "discover"):
                catalog = self._make_source(config, None, []).discover(self._logger(), config)
        except cdk.AirbyteTracedException as error:
            raise ConnectorError(f"source '{self.name}': discover failed: "
                                 f"{_one_line(_traced_message(error))}") from None
        return [_stream_info(stream) for stream in catalog.streams]

    def read(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
             state: Mapping[str, dict[str, Any]]) -> Iterator[Message]:
        """Read ``streams``; ``state`` maps a stream name (or ``GLOBAL_STATE_KEY``) to STATE JSON."""
        cdk = cdk_names()
        selections = list(streams)
        if not selections:
            return
        catalog = _configured_catalog(cdk, selections)
        state_messages = [cdk.AirbyteStateMessageSerializer.load(message) for message in state.values()]
        host = HostWiring.snapshot()
        tap = StdoutTap()
        STDOUT.attach(tap)
        try:
            tap.enter_source()
            try:
                source = self._make_source(config, catalog, state_messages)
            except cdk.AirbyteTracedException as error:
                source = None
                failure = _failure_from_exception(error)
            finally:
                tap.leave_source()
                host.undo_cdk_rewiring(cdk)
            if source is None:
                yield failure
            else:
                yield from self._messages(cdk, tap, source.read(self._logger(), config, catalog,
                                                                 state_messages))
            STDOUT.detach(tap)
            yield from _parse_lines(cdk, tap.finish())
        finally:
            STDOUT.detach(tap)
            host.undo_cdk_rewiring(cdk)

    def _messages(self, cdk: SimpleNamespace, tap: StdoutTap,
                  cdk_messages: Iterable[Any]) -> Iterator[Message]:
        """Translate the CDK's messages, pulling each one with stdout captured."""
        iterator = iter(cdk_messages)
        failures_reported = False
        started: set[str] = set()
        record_type = cdk.Type.RECORD
        while True:
            tap.enter_source()
            try:
                cdk_message = next(iterator)
            except StopIteration:
                return
            except cdk.AirbyteTracedException as error:
                cdk_message = error
            finally:
                tap.leave_source()
            if tap.has_lines():
                yield from _parse_lines(cdk, tap.take_lines())
            if isinstance(cdk_message, cdk.AirbyteTracedException):
                # AbstractSource.read raises this last, summing up the failures reported before.
                failure = _failure_from_exception(cdk_message)
                if failure.stream is not None or not failures_reported:
                    yield failure
                return
            if cdk_message.type == record_type:
                record = cdk_message.record
                rows = record.data.get(BATCH)
                if rows is None:
                    yield Record(record.stream, record.data)
                else:
                    stream = record.stream
                    for row in rows:
                        yield Record(stream, row)
                continue
            message = _translate(cdk, cdk_message)
            if message is None:
                message = self._unknown_stream(cdk, cdk_message, started)
            if message is not None:
                failures_reported = failures_reported or isinstance(message, StreamFailure)
                yield message

    def _unknown_stream(self, cdk: SimpleNamespace, message: Any, started: set[str]) -> StreamFailure | None:
        """A stream the source does not have: the CDK marks it INCOMPLETE without starting it."""
        if message.type != cdk.Type.TRACE or message.trace.type != cdk.models.TraceType.STREAM_STATUS:
            return None
        status = message.trace.stream_status
        name = status.stream_descriptor.name
        if status.status == cdk.models.AirbyteStreamStatus.STARTED:
            started.add(name)
        elif status.status == cdk.models.AirbyteStreamStatus.INCOMPLETE and name not in started:
            return StreamFailure(name, f"source '{self.name}' has no stream '{name}' "
                                       "(check the stream names of the connection)", "config_error")
        return None

    def _logger(self) -> logging.Logger:
        logger = logging.getLogger(f"custhub.source.{self.name}")
        if not any(isinstance(f, QuietCdk) for f in logger.filters):
            logger.addFilter(QuietCdk())
        return logger


def traced_error(error: CusthubError) -> Exception:
    """``error`` as an ``AirbyteTracedException`` whose failure type says what the hub should do.

    Raise it from a CDK stream (``raise traced_error(exc) from exc``): the CDK reports a plain
    exception as a ``system_error`` with a generic message.
    """
    cdk = cdk_names()
    if isinstance(error, FatalError):
        failure_type = cdk.FailureType.config_error
    elif isinstance(error, RetriableError):
        failure_type = cdk.FailureType.transient_error
    else:
        failure_type = cdk.FailureType.system_error
    text = _one_line(str(error))
    return cdk.AirbyteTracedException(internal_message=text, message=text, failure_type=failure_type,
                                      exception=error)


@contextlib.contextmanager
def _cdk_call(cdk: SimpleNamespace, name: str, operation: str) -> Iterator[None]:
    """Run one short CDK operation with stdout captured and the host's wiring kept."""
    host = HostWiring.snapshot()
    tap = StdoutTap()
    STDOUT.attach(tap)
    try:
        tap.enter_source()
        yield
    finally:
        STDOUT.detach(tap)
        host.undo_cdk_rewiring(cdk)
        for message in _parse_lines(cdk, tap.finish()):
            if isinstance(message, ConfigUpdate):
                logging.getLogger(__name__).warning(
                    "source '%s' rotated its config during %s; the update cannot be saved outside a read",
                    name, operation)
            elif isinstance(message, Log):
                logging.getLogger(f"custhub.source.{name}").info("%s", message.message)


# --- translation between the CDK and hub.protocol ------------------------------------------------


def _configured_catalog(cdk: SimpleNamespace, selections: list[StreamSelection]) -> Any:
    models = cdk.models
    streams = []
    for selection in selections:
        primary_key = [list(key) for key in selection.primary_key]
        streams.append(models.ConfiguredAirbyteStream(
            stream=models.AirbyteStream(
                name=selection.name, json_schema={},
                supported_sync_modes=[models.SyncMode.full_refresh, models.SyncMode.incremental]),
            sync_mode=models.SyncMode(selection.sync_mode),
            destination_sync_mode=(models.DestinationSyncMode.append_dedup if primary_key
                                   else models.DestinationSyncMode.append),
            cursor_field=list(selection.cursor_field) or None,
            primary_key=primary_key or None,
        ))
    return models.ConfiguredAirbyteCatalog(streams=streams)


def _stream_info(stream: Any) -> StreamInfo:
    return StreamInfo(
        name=stream.name,
        json_schema=dict(stream.json_schema or {}),
        supported_sync_modes=tuple(mode.value for mode in stream.supported_sync_modes or ()),
        source_defined_primary_key=tuple(tuple(key) for key in stream.source_defined_primary_key or ()),
        default_cursor_field=tuple(stream.default_cursor_field or ()),
    )


def _translate(cdk: SimpleNamespace, message: Any) -> Message | None:
    kind = message.type
    types = cdk.Type
    if kind == types.RECORD:
        return Record(message.record.stream, message.record.data)
    if kind == types.STATE:
        state = message.state
        stream = (state.stream.stream_descriptor.name
                  if state.type == cdk.models.AirbyteStateType.STREAM and state.stream else GLOBAL_STATE_KEY)
        return State(stream, cdk.AirbyteStateMessageSerializer.dump(state))
    if kind == types.TRACE and message.trace.type == cdk.models.TraceType.ERROR:
        error = message.trace.error
        message_text = error.message
        if not message_text or message_text.startswith(_GENERIC_CDK_MESSAGE):
            message_text = error.internal_message or message_text
        stream = error.stream_descriptor.name if error.stream_descriptor else None
        failure_type = error.failure_type.value if error.failure_type else "system_error"
        return StreamFailure(stream, _one_line(message_text or "the source failed"), failure_type)
    if kind == types.CONTROL and message.control.type == cdk.models.OrchestratorType.CONNECTOR_CONFIG:
        return ConfigUpdate(dict(message.control.connectorConfig.config))
    if kind == types.LOG:
        return Log(message.log.level.value, message.log.message)
    return None


def _parse_lines(cdk: SimpleNamespace, lines: list[str]) -> Iterator[Message]:
    """Messages from lines the source printed: Airbyte JSON messages, anything else as a Log."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        message = None
        if text.startswith("{"):
            try:
                message = cdk.AirbyteMessageSerializer.load(json.loads(text))
            except Exception:  # not an Airbyte message: report the line as printed
                message = None
        translated = _translate(cdk, message) if message is not None else Log("INFO", text)
        if translated is not None:
            yield translated


def _failure_from_exception(error: Any) -> StreamFailure:
    descriptor = getattr(error, "_stream_descriptor", None)
    failure_type = error.failure_type.value if error.failure_type else "system_error"
    return StreamFailure(descriptor.name if descriptor else None,
                         _one_line(_traced_message(error)), failure_type)


def _traced_message(error: Any) -> str:
    return error.message or error.internal_message or type(error).__name__


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def api_connector(name: str, description: str, spec_file: Path, api: str) -> CdkSourceConnector:
    """An in-process source whose HTTP side is the class ``api`` ("module:Class"), run by
    ``hub.sources.api_source``. Both are imported on first use, so registering costs no CDK import."""
    spec = json.loads(spec_file.read_text("utf-8"))
    module_name, class_name = api.split(":")

    def make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
        from hub.sources.api_source import ApiSource

        api_class = getattr(importlib.import_module(module_name), class_name)
        return ApiSource(spec, api_class, config, label=f"{name} source config")

    return CdkSourceConnector(name=name, description=description, spec=spec, make_source=make_source)
