"""How a run ends when a source reports failures: failed, partial, or deferred to the next run."""

from __future__ import annotations

import pytest
import yaml

from hub import hookimpl, plugins
from hub.protocol import CheckResult, Record, State, StreamFailure, StreamInfo, stream_state_message
from tests.helpers import run_cli, table_rows


class ScriptedSource:
    """A source that emits a fixed script of messages (set by each test)."""

    name = "test-scripted"
    description = "emits the messages a test gives it"
    script: list = []

    def spec(self):
        return {}

    def check(self, config):
        return CheckResult(True)

    def discover(self, config):
        return [StreamInfo(name, source_defined_primary_key=(("id",),)) for name in ("a", "b")]

    def read(self, config, streams, state):
        yield from self.script


@pytest.fixture
def scripted(tmp_path):
    class Plugin:
        @hookimpl
        def register_sources(self, register):
            register(ScriptedSource())

    plugins.pm.register(Plugin(), name="test-scripted-plugin")
    plugins.reset_registry()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = {"version": 1, "store": {"url": url}, "connections": {"c": {
        "source": "test-scripted", "streams": {"a": {"mapping": "webform_contact"},
                                               "b": {"mapping": "webform_contact"}}}}}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    try:
        yield str(path), url
    finally:
        plugins.pm.unregister(name="test-scripted-plugin")
        plugins.reset_registry()


def row(i: int) -> dict:
    return {"id": str(i), "first_name": "Ada", "last_name": "Lovelace", "email": f"ada{i}@example.com"}


@pytest.mark.parametrize(("failures", "status", "exit_code"), [
    ([], "succeeded", 0),
    ([StreamFailure("a", "daily quota reached", "transient_error")], "partial", 3),
    ([StreamFailure("a", "daily quota reached", "transient_error"),
      StreamFailure("b", "daily quota reached", "transient_error")], "partial", 3),
    ([StreamFailure("a", "bad credentials", "config_error")], "partial", 3),
    ([StreamFailure("a", "bad credentials", "config_error"),
      StreamFailure("b", "bad credentials", "config_error")], "failed", 1),
])
def test_run_outcome(scripted, failures, status, exit_code):
    config, url = scripted
    ScriptedSource.script = [Record("a", row(1)), State("a", stream_state_message("a", {"n": 1})),
                             Record("b", row(2)), *failures]
    assert run_cli("--config", config, "run") == exit_code
    assert table_rows(url, "SELECT status FROM runs WHERE kind = 'ingest'") == [(status,)]
    # records read before a failure are kept, and so is the state that covers them
    assert table_rows(url, "SELECT count(*) FROM source_records") == [(2,)]
    assert table_rows(url, "SELECT stream FROM stream_state") == [("a",)]
    deferred = {s for s, in table_rows(url, "SELECT stream FROM run_streams WHERE status = 'deferred'")}
    assert deferred == {f.stream for f in failures if f.failure_type == "transient_error"}
