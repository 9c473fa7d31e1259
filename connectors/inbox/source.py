"""The inbox source as an ``airbyte-cdk`` source: one incremental stream per (provider, form).

Imported lazily by ``connectors.inbox``. A record is one inbox event::

    {"event_id": ..., "inbox_id": 42, "received_at": "...", "provider": "typeform", "form": "survey",
     "payload": {... as the provider sent it; facebook events gain "lead", fetched by id ...},
     "fields": {... the answers as a flat dict, see connectors.inbox.fields ...}}

The primary key is ``event_id``; the state of a stream is ``{"last_id": <inbox id>}``, moved past
each event as it is emitted and checkpointed every ``batch_size`` events and at the end, so the
hub commits it together with the records it covers. Inbox ids are assigned in commit order
(``hub.inbox.events``), so reading "after last_id" never skips an event.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from airbyte_cdk.models import AirbyteConnectionStatus, ConnectorSpecification, Status, SyncMode
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.core import CheckpointMixin

from connectors.inbox import spec
from connectors.inbox.fields import form_fields
from connectors.inbox.graph import GraphClient
from hub.config import read_yaml
from hub.errors import ConfigError, CusthubError
from hub.inbox import read_events, stream_name, streams_in_inbox
from hub.inbox.store import open_inbox_store
from hub.sources.cdk_runner import traced_error
from hub.store import Store

DEFAULT_BATCH = 500
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "event_id": {"type": "string"}, "inbox_id": {"type": "integer"}, "received_at": {"type": "string"},
        "provider": {"type": "string"}, "form": {"type": "string"}, "payload": {"type": "object"},
        "fields": {"type": "object"},
    },
}


class InboxSource(AbstractSource):
    def __init__(self, config: Mapping[str, Any], catalog: Any = None, state: Any = None) -> None:
        self._selected = [s.stream.name for s in catalog.streams] if catalog is not None else []

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(connectionSpecification=spec(), supportsIncremental=True)

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, Any]:
        try:
            with _store(config) as store, store.reading() as conn:
                streams_in_inbox(conn)
        except CusthubError as error:
            return False, str(error)
        return True, None

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        ok, reason = self.check_connection(logger, config)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED if ok else Status.FAILED, message=reason)

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        with _store(config) as store, store.reading() as conn:
            names = {stream_name(p, f) for p, f in streams_in_inbox(conn)}
        names.update(name for name in self._selected if "." in name)
        names.update(configured_streams(config.get("config_file")))
        return [InboxStream(name, config) for name in sorted(names)]


def configured_streams(config_file: str | None) -> set[str]:
    """The streams of the webhook forms in the config's server section (they exist before any event)."""
    if not config_file:
        return set()
    forms = ((read_yaml(Path(config_file)) or {}).get("server") or {}).get("forms") or {}
    return {stream_name(body["provider"], name) for name, body in forms.items()
            if isinstance(body, dict) and body.get("provider")}


@contextlib.contextmanager
def _store(config: Mapping[str, Any]) -> Iterator[Store]:
    """The store named by the config, opened for one operation and closed after it."""
    url = config.get("store_url")
    if not url:
        raise ConfigError("inbox source: no store_url", fix="run it through custhub, which sets it")
    store = open_inbox_store(url, config.get("config_file"))  # keys active: payloads are sealed
    try:
        yield store
    finally:
        store.close()


class InboxStream(Stream, CheckpointMixin):
    """The events of one form, in inbox order."""

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self._name = name
        self._provider, self._form = name.split(".", 1)
        self._config = config
        self._batch = int(config.get("batch_size") or DEFAULT_BATCH)
        self._state: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def primary_key(self) -> str:
        return "event_id"

    @property
    def cursor_field(self) -> str:
        return "inbox_id"

    @property
    def state_checkpoint_interval(self) -> int:
        return self._batch

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state  # moved in place by _read, so each checkpoint covers what was emitted

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    def get_json_schema(self) -> Mapping[str, Any]:
        return RECORD_SCHEMA

    def read_records(self, sync_mode: SyncMode, cursor_field: list[str] | None = None,
                     stream_slice: Mapping[str, Any] | None = None,
                     stream_state: Mapping[str, Any] | None = None) -> Iterable[Mapping[str, Any]]:
        try:
            yield from self._read(full_refresh=sync_mode == SyncMode.full_refresh)
        except CusthubError as error:
            raise traced_error(error) from error

    def _read(self, *, full_refresh: bool) -> Iterator[dict[str, Any]]:
        last_id = 0 if full_refresh else int(self._state.get("last_id") or 0)
        self._state = state = {"last_id": last_id}
        graph = self._graph() if self._provider == "facebook" else None
        with _store(self._config) as store:
            while True:
                with store.reading() as conn:  # a short read: never hold the store while the hub writes
                    events = read_events(conn, self._provider, self._form, last_id, self._batch)
                for event in events:
                    record = self._record(event, graph)
                    last_id = state["last_id"] = event["inbox_id"]
                    yield record
                if len(events) < self._batch:
                    return

    def _record(self, event: dict[str, Any], graph: GraphClient | None) -> dict[str, Any]:
        payload = event["payload"]
        record = {**event, "provider": self._provider, "form": self._form}
        if graph is not None:
            lead = graph.lead(str(payload.get("leadgen_id") or ""))
            if lead is None:
                record["_invalid"] = "the lead is not available from the Graph API (deleted or expired)"
            else:
                payload = record["payload"] = {**payload, "lead": lead}
        record["fields"] = form_fields(self._provider, payload)
        return record

    def _graph(self) -> GraphClient:
        settings = self._config.get("facebook") or {}
        if not settings.get("access_token"):
            raise ConfigError("inbox source: facebook.access_token is needed to fetch the leads of "
                              f"stream '{self._name}'", fix='set facebook.access_token: {"$env": NAME}')
        return GraphClient(settings.get("graph_url") or DEFAULT_GRAPH_URL, settings["access_token"],
                           float(settings.get("timeout") or 30))

    def get_error_display_message(self, exception: BaseException) -> str | None:
        return str(exception) if isinstance(exception, CusthubError) else None
