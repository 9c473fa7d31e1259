"""Published Airbyte sources run as subprocesses, exercised with the stdlib-only tiny source."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import connectors.airbyte as airbyte_plugin
from hub.errors import ConfigError, ConnectorError
from hub.plugins import Registry
from hub.protocol import (
    GLOBAL_STATE_KEY,
    ConfigUpdate,
    Log,
    Record,
    State,
    StreamFailure,
    StreamSelection,
)
from hub.sources import venv_installer
from hub.sources.subprocess_runner import ExternalAirbyteSource, configured_catalog, translate

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny_source.py"
TINY_PACKAGE = FIXTURES / "airbyte_source_tiny"
PACKAGE = "airbyte-source-tiny"
CONFIG = {"api_key": "k-123", "count": 25}
PEOPLE = [StreamSelection("people")]


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CUSTHUB_HOME", str(home))
    return home


@pytest.fixture
def tiny(home):
    return ExternalAirbyteSource(PACKAGE).configured({"executable": str(TINY)})


def records(messages):
    return [m for m in messages if isinstance(m, Record)]


def ids(messages, stream="people"):
    return [r.data["id"] for r in records(messages) if r.stream == stream]


def test_spec_is_the_connection_specification_and_is_cached(tiny, home):
    spec = tiny.spec()
    assert spec["required"] == ["api_key"]
    assert spec["properties"]["api_key"]["airbyte_secret"] is True
    assert spec["properties"]["count"]["type"] == "integer"
    again = ExternalAirbyteSource(PACKAGE).configured({"executable": str(TINY)}).spec()
    assert again == spec
    runs = (home / "connectors" / PACKAGE / "stderr.log").read_text().splitlines()
    assert [line.split()[-1] for line in runs if line.startswith("--- ")] == ["spec"]


def test_check_ok_and_bad(tiny):
    assert tiny.check(CONFIG).ok
    bad = tiny.check({"api_key": "bad"})
    assert not bad.ok
    assert bad.message == "api_key was rejected by the tiny API (401 Unauthorized)"


@pytest.mark.parametrize(("config", "error"), [
    ({"api_key": "k", "count": "many"}, "airbyte:airbyte-source-tiny config: count: must be an integer"),
    ({"api_key": "k", "cuont": 3},
     "airbyte:airbyte-source-tiny config: cuont: unknown key (did you mean 'count'?)"),
    ({"count": 3},
     "airbyte:airbyte-source-tiny config: (top level): missing required key 'api_key' (add 'api_key')"),
    ({"api_key": 12345}, "airbyte:airbyte-source-tiny config: api_key: must be a string"),
])
def test_config_is_validated_against_the_spec_without_echoing_values(tiny, config, error):
    for operation in (tiny.check, tiny.discover, lambda c: list(tiny.read(c, PEOPLE, {}))):
        with pytest.raises(ConfigError) as raised:
            operation(config)
        assert str(raised.value) == error
        assert "12345" not in str(raised.value)


def test_discover(tiny):
    streams = {s.name: s for s in tiny.discover(CONFIG)}
    assert list(streams) == ["people", "events"]
    assert streams["people"].supported_sync_modes == ("full_refresh", "incremental")
    assert streams["people"].default_cursor_field == ("updated_at",)
    assert streams["people"].source_defined_primary_key == (("id",),)
    assert streams["events"].supported_sync_modes == ("full_refresh",)
    assert "email" in streams["people"].json_schema["properties"]


def test_read_translates_records_states_and_stray_lines(tiny, home, capfd):
    messages = list(tiny.read(CONFIG, [StreamSelection("people"), StreamSelection("events")], {}))
    assert ids(messages, "people") == list(range(1, 26))
    assert ids(messages, "events") == list(range(1, 26))
    states = [m for m in messages if isinstance(m, State)]
    assert [(s.stream, s.message["stream"]["stream_state"]["last_id"]) for s in states] == [
        ("people", 10), ("people", 20), ("people", 25)]
    assert states[0].message["type"] == "STREAM"
    assert Log("INFO", "tiny source: starting read") in messages
    # the child's stderr goes to the connector's log file, not to our terminal
    assert "stderr is for humans" not in capfd.readouterr().err
    assert "stderr is for humans" in (home / "connectors" / PACKAGE / "stderr.log").read_text()


def test_resume_from_every_state_gives_exactly_the_remaining_records(tiny):
    first = list(tiny.read(CONFIG, PEOPLE, {}))
    states = [m for m in first if isinstance(m, State)]
    assert states
    for state in states:
        covered = state.message["stream"]["stream_state"]["last_id"]
        resumed = list(tiny.read(CONFIG, PEOPLE, {"people": state.message}))
        assert ids(resumed) == list(range(covered + 1, 26)), f"resuming after {covered}"


def test_full_refresh_fallback_ignores_state(tiny):
    # events has no incremental mode: it is read in full whatever the selection asks
    events = [StreamSelection("events", sync_mode="incremental")]
    state = {"events": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "events"},
                                                      "stream_state": {"last_id": 20}}}}
    assert ids(tiny.read(CONFIG, events, state), "events") == list(range(1, 26))


def test_configured_catalog_from_discover_and_selection():
    raw = [{"name": "people", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
            "default_cursor_field": ["updated_at"], "source_defined_primary_key": [["id"]]},
           {"name": "events", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}]
    catalog = configured_catalog(raw, [
        StreamSelection("people"),
        StreamSelection("events"),
    ], source="airbyte:x")
    people, events = catalog["streams"]
    assert people == {"stream": raw[0], "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
                      "primary_key": [["id"]], "cursor_field": ["updated_at"]}
    assert events == {"stream": raw[1], "sync_mode": "full_refresh", "destination_sync_mode": "overwrite",
                      "primary_key": []}
    chosen = configured_catalog(raw, [StreamSelection("people", cursor_field=("modified",),
                                                      primary_key=(("email",),))], source="airbyte:x")
    assert chosen["streams"][0]["cursor_field"] == ["modified"]
    assert chosen["streams"][0]["primary_key"] == [["email"]]
    full = configured_catalog(raw, [StreamSelection("people", sync_mode="full_refresh")], source="airbyte:x")
    assert full["streams"][0]["sync_mode"] == "full_refresh"
    assert "cursor_field" not in full["streams"][0]
    with pytest.raises(ConfigError) as raised:
        configured_catalog(raw, [StreamSelection("peple")], source="airbyte:x")
    assert str(raised.value) == "airbyte:x streams: unknown stream 'peple' (did you mean 'people'?)"


def test_trace_error_yields_stream_failure_then_connector_error(tiny):
    seen = []
    with pytest.raises(ConnectorError) as raised:
        for message in tiny.read({**CONFIG, "fail_after": 5}, PEOPLE, {}):
            seen.append(message)
    assert ids(seen) == [1, 2, 3, 4, 5]
    failures = [m for m in seen if isinstance(m, StreamFailure)]
    assert failures == [StreamFailure("people", "Stream 'people' failed: the tiny API returned HTTP 500",
                                      "system_error")]
    text = str(raised.value)
    assert text.startswith("airbyte:airbyte-source-tiny read failed: "
                           "Stream 'people' failed: the tiny API returned HTTP 500 (details in ")
    assert "Person" not in text and "example.com" not in text


def test_exit_without_trace_reports_the_last_stderr_line(home, tmp_path):
    script = tmp_path / "broken-source"
    script.write_text("#!/bin/sh\necho 'starting' >&2\necho 'ImportError: no module named foo' >&2\nexit 3\n")
    script.chmod(0o755)
    source = ExternalAirbyteSource(PACKAGE, executable=script)
    with pytest.raises(ConnectorError) as raised:
        source.spec()
    assert str(raised.value).startswith(
        "airbyte:airbyte-source-tiny spec failed: ImportError: no module named foo (details in ")


def test_control_message_becomes_config_update(tiny):
    messages = list(tiny.read({**CONFIG, "count": 3, "rotate_token": True}, PEOPLE, {}))
    updates = [m for m in messages if isinstance(m, ConfigUpdate)]
    assert updates == [ConfigUpdate({**CONFIG, "count": 3, "rotate_token": True, "api_key": "k-123-rotated"})]


def test_input_files_are_private_and_removed(tiny):
    messages = list(tiny.read({**CONFIG, "count": 1, "report_files": True}, PEOPLE, {}))
    reports = [json.loads(m.message) for m in messages if isinstance(m, Log) and m.message.startswith("{")]
    modes = reports[0]
    assert sorted(Path(p).name for p in modes) == ["catalog.json", "config.json", "state.json"]
    assert set(modes.values()) == {"0o600"}
    for path in modes:
        assert not Path(path).exists()
        assert not Path(path).parent.exists()


def test_closing_the_iterator_stops_the_subprocess(tiny):
    messages = tiny.read({**CONFIG, "count": 10_000_000, "report_pid": True}, PEOPLE, {})
    pid = None
    for message in messages:
        if isinstance(message, Log) and message.message.startswith('{"pid"'):
            pid = json.loads(message.message)["pid"]
        if isinstance(message, Record):
            break
    assert pid is not None
    messages.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_translate_state_types():
    glob = {"type": "GLOBAL", "global": {"stream_states": [], "shared_state": {"lsn": 7}}}
    legacy = {"data": {"people": {"last_id": 3}}}
    assert translate({"type": "STATE", "state": glob}) == State(GLOBAL_STATE_KEY, glob)
    assert translate({"type": "STATE", "state": legacy}) == State(GLOBAL_STATE_KEY, legacy)
    assert translate({"type": "TRACE", "trace": {"type": "STREAM_STATUS"}}) is None
    assert translate({"type": "TRACE", "trace": {"type": "ERROR", "error": {"message": "boom"}}}) == \
        StreamFailure(None, "boom", "system_error")


def test_not_installed(home):
    with pytest.raises(ConnectorError) as raised:
        ExternalAirbyteSource("airbyte-source-nothing").spec()
    assert str(raised.value) == ("airbyte:airbyte-source-nothing is not installed "
                                 "(run `custhub connectors install airbyte:airbyte-source-nothing`)")


def test_configured_rejects_unknown_install_keys(home):
    with pytest.raises(ConfigError) as raised:
        ExternalAirbyteSource(PACKAGE).configured({"exectuable": "/bin/true"})
    assert str(raised.value) == ("airbyte:airbyte-source-tiny install: exectuable: unknown key "
                                 "(did you mean 'executable'?)")


def test_plugin_resolves_airbyte_names_through_the_family(home):
    registered = []
    airbyte_plugin.register_sources(register=registered.append)
    assert registered == [airbyte_plugin.AIRBYTE_FAMILY]
    registry = Registry()
    registry.add("source", "airbyte:*", airbyte_plugin.AIRBYTE_FAMILY, "connectors.airbyte")
    source = registry.get("source", "airbyte:airbyte-source-faker")
    assert isinstance(source, ExternalAirbyteSource)
    assert source.name == "airbyte:airbyte-source-faker"
    assert registry.get("source", "airbyte:source-faker").name == "airbyte:airbyte-source-faker"
    assert registry.get("source", "airbyte:my-source").package == "my-source"
    assert airbyte_plugin.AIRBYTE_FAMILY.spec() == {}
    with pytest.raises(ConnectorError):
        registry.get("source", "airbyte:")
    with pytest.raises(ConnectorError):
        registry.get("source", "airbyte:../../etc")


def test_pick_script_reads_entry_points_when_the_name_is_not_the_convention():
    assert venv_installer.pick_script("airbyte-source-faker", ["source-faker"]) == "source-faker"
    assert venv_installer.pick_script("source-hubspot-fork", ["helper", "source-hubspot"]) == "source-hubspot"
    assert venv_installer.pick_script("odd", ["run-odd"]) == "run-odd"
    assert venv_installer.pick_script("odd", []) is None


def test_registry_unreachable_only_for_network_failures():
    offline = "ERROR: No matching distribution found for airbyte-source-faker==7.2.1"
    assert venv_installer.registry_unreachable(offline, network_trouble=True)
    assert not venv_installer.registry_unreachable(offline, network_trouble=False)
    assert venv_installer.registry_unreachable(
        "ERROR: Could not install packages due to an OSError: HTTPSConnectionPool(host='pypi.org', "
        "port=443): Max retries exceeded (Caused by NewConnectionError('Failed to establish a new "
        "connection'))", network_trouble=False)
    assert not venv_installer.registry_unreachable("ERROR: ResolutionImpossible", network_trouble=True)


def test_install_into_own_venv_and_read(home):
    lines = []
    executable = venv_installer.install_connector(PACKAGE, pip_spec=str(TINY_PACKAGE), on_line=lines.append)
    folder = home / "connectors" / PACKAGE
    assert executable == folder / "venv" / "bin" / "source-tiny"
    assert lines and (folder / "install.log").is_file()
    info = json.loads((folder / "installed.json").read_text())
    assert {k: info[k] for k in ("package", "pip_spec", "executable", "version")} == {
        "package": PACKAGE, "pip_spec": str(TINY_PACKAGE), "executable": str(executable), "version": "0.1.0"}
    assert venv_installer.installed_executable(PACKAGE) == executable

    again = []
    reinstalled = venv_installer.install_connector(PACKAGE, pip_spec=str(TINY_PACKAGE), on_line=again.append)
    assert reinstalled == executable
    assert again == []  # same pip spec: nothing is re-installed

    source = ExternalAirbyteSource(PACKAGE)
    assert source.check(CONFIG).ok
    assert ids(source.read(CONFIG, PEOPLE, {})) == list(range(1, 26))
    with pytest.raises(ConnectorError) as raised:
        ExternalAirbyteSource(PACKAGE, pip_spec=f"{PACKAGE}==9.9").spec()
    assert "run `custhub connectors install airbyte:airbyte-source-tiny`" in str(raised.value)


def test_install_failure_is_one_line_with_a_fix(home, tmp_path):
    missing = tmp_path / "no-such-project"
    missing.mkdir()
    with pytest.raises(venv_installer.InstallError) as raised:
        venv_installer.install_connector(PACKAGE, pip_spec=str(missing))
    error = raised.value
    assert not error.unreachable
    assert error.output_tail
    assert "\n" not in str(error)
    assert str(error).startswith(f"could not install {PACKAGE} from '{missing}': ")
    assert venv_installer.installed_executable(PACKAGE) is None

