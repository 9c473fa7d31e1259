"""The file source as an ``airbyte-cdk`` source: one incremental stream per configured file.

Imported lazily by ``connectors.file`` (through ``hub.sources.cdk_runner``) because it imports
the CDK. Each record is the row's ``{column: value}`` plus ``_row`` (its 1-based position after
the header) and ``_row_hash`` (SHA-1 of the row's canonical JSON: sorted keys, compact, UTF-8,
without ``_row``), which is the primary key unless ``primary_key`` names columns.

State of a stream (the blob of an Airbyte STREAM state message)::

    {"mtime_ns": ..., "size": ...,   # the file version the state belongs to
     "offset": 120,                  # data rows read so far (the _row of the last one)
     "done": true,                   # the whole version was read
     "cursor": "2024-05-01",         # with cursor_field: the largest value seen
     "since": "2024-04-01"}          # with cursor_field: rows at or below this are skipped in this pass

A read of the same version that is done emits nothing; of the same version not done, resumes after
``offset``; of a changed file, starts again from the top and, with ``cursor_field``, emits only the
rows whose value (a string compared after stripping spaces, so use ISO dates or zero-padded
numbers) is greater than the saved ``cursor``. Rows without a value are always emitted. A
full_refresh read ignores the state.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteStream,
    ConnectorSpecification,
    Status,
    SyncMode,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.core import CheckpointMixin

from connectors.file.formats import open_file
from connectors.file.keyed import ROW, ROW_HASH, keyed_rows
from connectors.file.settings import FileSettings, checkpoint_every, file_settings, spec
from hub.errors import ConfigError, CusthubError
from hub.sources.cdk_runner import BATCH, traced_error

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": True,
    "properties": {
        ROW: {"type": "integer"},
        ROW_HASH: {"type": "string"},
        "_invalid": {"type": "string"},
        "_extra": {"type": "array"},
    },
}


class FileSource(AbstractSource):
    """One stream per file of the config; config, catalog and state are fixed at construction."""

    def __init__(self, config: Mapping[str, Any], catalog: Any = None, state: Any = None) -> None:
        self._files = file_settings(config)
        self._checkpoint_every = checkpoint_every(config)

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(connectionSpecification=spec(), supportsIncremental=True)

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        return [FileStream(settings, self._checkpoint_every) for settings in self._files]

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        for settings in self._files:
            try:
                with _file_errors(settings):
                    open_file(settings).header()
            except CusthubError as error:
                return False, str(error)
        return True, None

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        ok, reason = self.check_connection(logger, config)  # the CDK would repr() the reason
        return AirbyteConnectionStatus(status=Status.SUCCEEDED if ok else Status.FAILED, message=reason)


MAX_BATCH_ROWS = 500


class FileStream(Stream, CheckpointMixin):
    """The rows of one file, checkpointed every ``checkpoint_every`` records and at the end.

    Rows travel through the CDK in batches (one CDK record ``{BATCH: [row, ...]}`` of up to
    ``MAX_BATCH_ROWS`` rows; ``hub.sources.cdk_runner`` unpacks them): the CDK's per-message work
    would otherwise cost more than reading the row. A batch never crosses a checkpoint boundary,
    and the CDK checkpoints after exactly the batches that end on one.
    """

    def __init__(self, settings: FileSettings, checkpoint_every: int) -> None:
        self._settings = settings
        self._checkpoint_every = checkpoint_every
        self._checkpoint_due = False
        self._state: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._settings.stream

    @property
    def primary_key(self) -> list[str]:
        return list(self._settings.primary_key) or [ROW_HASH]

    @property
    def cursor_field(self) -> str:
        """The configured cursor column, else ``_row`` (the position within an unchanged file)."""
        return self._settings.cursor_field or ROW

    @property
    def state_checkpoint_interval(self) -> int | None:
        # Read by the CDK after each record (batch): 1 checkpoints now, None does not.
        return 1 if self._checkpoint_due else None

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state  # updated in place by _read, so the CDK always checkpoints the latest

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    def get_json_schema(self) -> Mapping[str, Any]:
        return RECORD_SCHEMA  # called for every record: no I/O here; discover uses the header

    def as_airbyte_stream(self) -> AirbyteStream:
        stream = super().as_airbyte_stream()
        try:
            with _file_errors(self._settings):
                columns = open_file(self._settings).header()
        except CusthubError:
            # An unreadable file still is a stream (its key is known); reading it reports why.
            stream.json_schema = RECORD_SCHEMA
            return stream
        column_type = {} if self._settings.format == "jsonl" else {"type": "string"}
        properties = {column: dict(column_type) for column in columns}
        stream.json_schema = {**RECORD_SCHEMA, "properties": {**properties, **RECORD_SCHEMA["properties"]}}
        return stream

    def read_records(self, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                     stream_slice: Mapping[str, Any] | None = None,
                     stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any]]:
        try:
            with _file_errors(self._settings):
                yield from self._batches(self._read(full_refresh=sync_mode == SyncMode.full_refresh))
        except CusthubError as error:
            raise traced_error(error) from error

    def _batches(self, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        every, emitted, batch = self._checkpoint_every, 0, []
        size = min(MAX_BATCH_ROWS, every)
        self._checkpoint_due = False
        for data in rows:
            batch.append(data)
            if len(batch) >= size:
                emitted += len(batch)
                self._checkpoint_due = emitted % every == 0
                yield {BATCH: batch}  # the state's offset is this batch's last row until resumed
                batch = []
                size = min(MAX_BATCH_ROWS, every - emitted % every)
        if batch:
            emitted += len(batch)
            self._checkpoint_due = emitted % every == 0
            yield {BATCH: batch}
        self._checkpoint_due = False
        self._state["done"] = True  # after the last batch, as the state that follows it says

    def _read(self, *, full_refresh: bool) -> Iterator[dict[str, Any]]:
        settings = self._settings
        saved = {} if full_refresh else self._state
        stat = os.stat(settings.path)
        same_file = saved.get("mtime_ns") == stat.st_mtime_ns and saved.get("size") == stat.st_size
        if same_file and saved.get("done"):
            return
        file = open_file(settings)
        file.validate()  # refuse a corrupt file before its first record

        cursor_column = settings.cursor_field
        if same_file:
            skip, cursor, since = int(saved.get("offset") or 0), saved.get("cursor"), saved.get("since")
        else:
            skip, cursor = 0, saved.get("cursor")
            since = cursor
        state: dict[str, Any] = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size, "offset": skip,
                                 "done": False}
        if cursor_column:
            state.update(cursor=cursor, since=since)
        self._state = state

        rows = file.rows(skip)
        try:
            yield from keyed_rows(rows, state, settings.primary_key, cursor_column)
        finally:
            rows.close()  # closes the file now, also when a read stops early (compiled generators
            # do not run their own clean-up when merely dropped)

    def get_error_display_message(self, exception: BaseException) -> str | None:
        return str(exception) if isinstance(exception, CusthubError) else None


@contextlib.contextmanager
def _file_errors(settings: FileSettings) -> Iterator[None]:
    """Turn an ``OSError`` about a configured file into a one-line ``ConfigError``."""
    try:
        yield
    except OSError as error:
        raise _file_problem(settings, error) from None


def _file_problem(settings: FileSettings, error: OSError) -> ConfigError:
    label, path = settings.label, settings.path
    if isinstance(error, FileNotFoundError):
        return ConfigError(f"{label}: file not found at {path}",
                           fix="check the path; a relative path starts at the config file's folder")
    if isinstance(error, IsADirectoryError):
        return ConfigError(f"{label}: is a folder, not a file", fix="name a file in it")
    if isinstance(error, PermissionError):
        return ConfigError(f"{label}: cannot be read (permission denied)",
                           fix="let the user running custhub read it")
    return ConfigError(f"{label}: cannot be read ({error.strerror or type(error).__name__})")
