"""The conformance suite every source connector gets for free (needs ``pytest`` and ``responses``).

It ships inside the ``hub`` package so that third-party connectors can run it too::

    from hub.sources.conformance import FakeApi, SourceConformance

A connector's test module subclasses ``SourceConformance`` (the subclass name must start with
``Test``), points it at the connector and at a fake of the vendor's API, and inherits these tests:

* the spec is a valid JSON Schema and every secret field is flagged ``airbyte_secret``;
* ``check`` succeeds on good credentials and fails on bad ones with one line that holds no secret;
* ``discover`` lists every stream with its primary key;
* a read of each stream returns every record across several pages;
* resuming from *every* STATE a read emitted returns exactly the records after it, and a read
  from the final state returns only what changed since;
* a 429 (with the vendor's body and ``Retry-After``) is waited out and the read completes;
* every record maps (``mappings/<name>.yaml``), cleans and validates against the canonical schema,
  with its CRM id and, where the record has one, its consent.

The fake API is any object with this interface (see ``FakeApi`` for a base class)::

    install(rsps)           register the vendor's endpoints on a ``responses.RequestsMock``
    seed(stream, n)         create n records in a stream
    touch(stream, ids)      change these records (their modified time moves forward)
    rate_limit_next(n)      the next n data calls answer the vendor's burst 429
    data_calls              how many data (non-token) calls were answered with records

Example (``tests/test_source_hubspot.py``)::

    class TestHubspotConformance(SourceConformance):
        connector = HUBSPOT_SOURCE
        streams = {"contacts": "hubspot_contacts"}
        secret_fields = ("access_token",)

        def make_api(self):
            return FakeHubspot()

        def make_config(self, api):
            return {"access_token": api.token, "page_size": 3, "checkpoint_every": 2}

        def bad_config(self, api):
            return {**self.make_config(api), "access_token": "pat-wrong"}
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import responses

from hub.canonical import schema_errors
from hub.cleaning import Cleaner
from hub.connectors import SourceConnector
from hub.ingest.processor import StreamProcessor
from hub.mapping import find_mapping, load_mapping
from hub.paths import bundled_dir
from hub.protocol import Record, State, StreamFailure, StreamSelection

SECRET_NAME = re.compile(r"secret|password|token|api_?key|private_?key|permanent_?code", re.I)


class FakeApi:
    """Shared parts of a fake vendor API: records per stream, a modified-time clock, queued 429s."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        # epoch ms, a minute ago (whole seconds); every change moves it a second forward
        self.clock = (int(time.time()) - 60) * 1000
        self.pending_429 = 0
        self.data_calls = 0
        self.calls_429 = 0

    def tick(self) -> int:
        self.clock += 1000
        return self.clock

    def rate_limit_next(self, n: int = 1) -> None:
        self.pending_429 += n

    def take_429(self) -> bool:
        if self.pending_429:
            self.pending_429 -= 1
            self.calls_429 += 1
            return True
        return False

    # subclasses: install(rsps), seed(stream, n), touch(stream, ids), make_record(stream, i)


def read(connector: SourceConnector, config: dict[str, Any], stream: str,
         state: dict[str, Any] | None = None) -> list[Any]:
    return list(connector.read(config, [StreamSelection(stream, "incremental")], state or {}))


def record_ids(messages: list[Any], key: str = "id") -> list[str]:
    return [str(m.data[key]) for m in messages if isinstance(m, Record)]


def failures(messages: list[Any]) -> list[StreamFailure]:
    return [m for m in messages if isinstance(m, StreamFailure)]


class SourceConformance:
    """Inherit in a ``Test...`` class; set the attributes and implement the three methods."""

    connector: ClassVar[Any]
    streams: ClassVar[dict[str, str]]  # stream -> mapping name
    secret_fields: ClassVar[tuple[str, ...]]
    primary_key: ClassVar[str] = "id"
    seeded: ClassVar[int] = 7  # records per stream; with page_size 3 that is three pages
    crm_system: ClassVar[str | None] = None  # expected crm_ids[].system, when the source is a CRM
    mappings_dirs: ClassVar[tuple[Path, ...]] = ()  # searched before the bundled mappings/

    def make_api(self) -> Any:
        raise NotImplementedError

    def make_config(self, api: Any) -> dict[str, Any]:
        """A config for ``api`` with a small page size (3) and a small checkpoint_every (2)."""
        raise NotImplementedError

    def bad_config(self, api: Any) -> dict[str, Any]:
        """A config whose credentials the fake refuses."""
        raise NotImplementedError

    # --- fixtures ------------------------------------------------------------------------------

    @pytest.fixture
    def api(self, monkeypatch) -> Iterator[Any]:
        monkeypatch.setattr("hub.sources.http.time.sleep", lambda seconds: self.slept.append(seconds))
        self.slept: list[float] = []
        fake = self.make_api()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake.install(rsps)
            for stream in self.streams:
                fake.seed(stream, self.seeded)
            yield fake

    # --- spec, check, discover -----------------------------------------------------------------

    def test_spec_is_valid_json_schema_with_secrets_flagged(self):
        spec = self.connector.spec()
        jsonschema.validators.validator_for(spec).check_schema(spec)
        properties = spec["properties"]
        for name in self.secret_fields:
            assert properties[name].get("airbyte_secret") is True, f"{name} is not flagged airbyte_secret"
        for name, schema in properties.items():
            if SECRET_NAME.search(name) and schema.get("type") == "string":
                assert schema.get("airbyte_secret") is True, f"{name} looks secret but is not flagged"

    def test_check_succeeds_on_good_credentials(self, api):
        result = self.connector.check(self.make_config(api))
        assert result.ok, result.message

    def test_check_fails_with_one_line_reason_on_bad_credentials(self, api):
        config = self.bad_config(api)
        result = self.connector.check(config)
        assert not result.ok
        assert result.message and "\n" not in result.message
        for name in self.secret_fields:
            assert str(config.get(name)) not in result.message

    def test_discover_lists_every_stream_with_its_key(self, api):
        infos = {info.name: info for info in self.connector.discover(self.make_config(api))}
        for stream in self.streams:
            assert stream in infos
            assert infos[stream].source_defined_primary_key == ((self.primary_key,),)
            assert "incremental" in infos[stream].supported_sync_modes

    # --- read ----------------------------------------------------------------------------------

    def test_read_returns_every_record_across_pages(self, api):
        config = self.make_config(api)
        for stream in self.streams:
            calls_before = api.data_calls
            messages = read(self.connector, config, stream)
            assert not failures(messages), failures(messages)
            ids = record_ids(messages, self.primary_key)
            assert sorted(ids) == sorted(api.records[stream]) and len(ids) == len(set(ids))
            assert api.data_calls - calls_before >= 3, "expected several pages"

    def test_resume_from_every_state_gives_exactly_the_rest(self, api):
        config = self.make_config(api)
        for stream in self.streams:
            messages = read(self.connector, config, stream)
            states = [(i, m) for i, m in enumerate(messages) if isinstance(m, State)]
            assert len(states) >= 3, "expected checkpoints during the read"
            for index, state in states:
                expected = record_ids(messages[index + 1:], self.primary_key)
                resumed = read(self.connector, config, stream, {stream: state.message})
                assert not failures(resumed)
                assert record_ids(resumed, self.primary_key) == expected, f"resuming from state #{index}"

    def test_incremental_read_from_the_final_state_gives_only_changes(self, api):
        config = self.make_config(api)
        for stream in self.streams:
            final = [m for m in read(self.connector, config, stream) if isinstance(m, State)][-1]
            assert record_ids(read(self.connector, config, stream, {stream: final.message}),
                              self.primary_key) == []
            changed = sorted(api.records[stream])[1:3]
            api.touch(stream, changed)
            again = read(self.connector, config, stream, {stream: final.message})
            assert sorted(record_ids(again, self.primary_key)) == sorted(changed)

    def test_rate_limit_is_waited_out(self, api):
        config = self.make_config(api)
        stream = next(iter(self.streams))
        api.rate_limit_next(1)
        messages = read(self.connector, config, stream)
        assert not failures(messages), failures(messages)
        assert sorted(record_ids(messages, self.primary_key)) == sorted(api.records[stream])
        assert api.calls_429 == 1 and self.slept, "the 429 was not waited out"

    # --- mapping -------------------------------------------------------------------------------

    def test_records_map_and_validate_against_the_canonical_schema(self, api):
        config = self.make_config(api)
        cleaner = Cleaner(default_region="CN")
        for stream, mapping_name in self.streams.items():
            path = find_mapping(mapping_name, (*self.mappings_dirs, bundled_dir("mappings")))
            assert path is not None, f"mapping '{mapping_name}' not found"
            mapping = load_mapping(path)
            processor = StreamProcessor("conformance", stream, mapping, cleaner, ((self.primary_key,),), "x")
            consents = 0
            for message in read(self.connector, config, stream):
                if not isinstance(message, Record):
                    continue
                pk = str(message.data[self.primary_key])
                stage, reasons, record = processor.canonicalise(message.data, pk, "2026-01-01T00:00:00+00:00")
                assert reasons == [], f"{stream} record {pk}: {stage}: {reasons}"
                assert schema_errors(record) == []
                crm_ids = (record.get("person") or record.get("organization") or {}).get("crm_ids") or []
                if self.crm_system:
                    assert {"system": self.crm_system, "id": pk}.items() <= crm_ids[0].items()
                    assert crm_ids[0].get("object")
                consents += len(record.get("consents") or [])
            if self.expects_consents(stream):
                assert consents, f"{stream}: no consent mapped from the opt-out fields"

    def expects_consents(self, stream: str) -> bool:
        return True
