"""Stream isolation and poison records, beyond tests/test_ingest_outcomes.py (which covers the run status).

- 7 poison records among 1,000 are quarantined (7) and the rest stored (993), in one run, with the
  stream's state committed past them.
- A stream that fails mid-read keeps the batches and the state it committed, and does not roll back
  the other stream, whose records and state are all committed.
- A source that raises (a data-moving error) keeps every batch read before the error and its state;
  the next run resumes from that state and stores nothing twice.
"""

from __future__ import annotations

import json

import pytest

from hub.errors import RetriableError
from hub.protocol import Record, State, StreamFailure, stream_state_message
from tests.helpers import run_cli, table_rows
from tests.test_ingest_outcomes import ScriptedSource, row, scripted  # noqa: F401 - the fixture

POISON = {13, 101, 257, 400, 512, 777, 999}


def poison(i: int) -> dict:
    record = row(i)
    record["email"] = f"not an e-mail {i} @@"  # an invalid e-mail is a content error: quarantine
    record["phone"] = "12345"
    return record


def counts(url: str) -> dict:
    stored = dict(table_rows(url, "SELECT stream, count(*) FROM source_records GROUP BY stream"))
    quarantined = dict(table_rows(url, "SELECT stream, count(*) FROM quarantine GROUP BY stream"))
    return {"stored": stored, "quarantined": quarantined}


def test_seven_poison_records_in_a_thousand(scripted):  # noqa: F811
    config, url = scripted
    script = []
    for i in range(1, 1001):
        script.append(Record("a", poison(i) if i in POISON else row(i)))
        if i % 250 == 0:
            script.append(State("a", stream_state_message("a", {"n": i})))
    ScriptedSource.script = script
    assert run_cli("--config", config, "run") == 0
    assert counts(url) == {"stored": {"a": 993}, "quarantined": {"a": 7}}
    assert {int(pk) for pk, in table_rows(url, "SELECT source_pk FROM quarantine")} == POISON
    assert table_rows(url, "SELECT status, records_read, records_quarantined FROM runs WHERE kind = 'ingest'") == \
        [("succeeded", 1000, 7)]
    (state,), = table_rows(url, "SELECT state FROM stream_state WHERE stream = 'a'")
    assert json.loads(state)["stream"]["stream_state"] == {"n": 1000}
    # a rerun of the same records changes nothing: no duplicates, the quarantine is not doubled
    assert run_cli("--config", config, "run") == 0
    assert counts(url) == {"stored": {"a": 993}, "quarantined": {"a": 7}}


@pytest.mark.parametrize("failure_type", ["config_error", "transient_error"])
def test_a_failing_stream_does_not_roll_back_the_other(scripted, failure_type):  # noqa: F811
    config, url = scripted
    script = []
    for i in range(1, 301):
        script.append(Record("a", row(i)))
        if i <= 120:
            script.append(Record("b", row(10_000 + i)))
        if i % 50 == 0:
            script.append(State("a", stream_state_message("a", {"n": i})))
            if i <= 100:
                script.append(State("b", stream_state_message("b", {"n": i})))
        if i == 120:
            script.append(StreamFailure("b", "the API refused the request", failure_type))
    ScriptedSource.script = script
    assert run_cli("--config", config, "run") == 3  # partial
    assert counts(url)["stored"] == {"a": 300, "b": 120}  # b's records read before the failure are kept
    states = {s: json.loads(v)["stream"]["stream_state"] for s, v in
              table_rows(url, "SELECT stream, state FROM stream_state")}
    assert states == {"a": {"n": 300}, "b": {"n": 100}}  # b's state stays at its last checkpoint
    status = dict(table_rows(url, "SELECT stream, status FROM run_streams"))
    assert status == {"a": "succeeded", "b": "deferred" if failure_type == "transient_error" else "failed"}


class Exploding:
    """Messages, then a data-moving error from the source (a network failure)."""

    def __init__(self, script: list, after: int) -> None:
        self.script, self.after = script, after

    def __iter__(self):
        for n, message in enumerate(self.script):
            if n == self.after:
                raise RetriableError("connection reset by peer")
            yield message


def test_a_source_error_keeps_what_was_read_and_resumes(scripted, monkeypatch):  # noqa: F811
    config, url = scripted
    script = []
    for i in range(1, 201):
        script.append(Record("a", row(i)))
        if i % 40 == 0:
            script.append(State("a", stream_state_message("a", {"n": i})))
    monkeypatch.setattr(ScriptedSource, "read", lambda self, c, s, st: iter(Exploding(script, after=150)))
    assert run_cli("--config", config, "run") == 1
    stored = table_rows(url, "SELECT count(*), count(DISTINCT source_pk) FROM source_records")[0]
    assert stored[0] == stored[1] >= 120  # every batch read before the error, each record once
    assert table_rows(url, "SELECT status FROM runs WHERE kind = 'ingest'") == [("failed",)]
    monkeypatch.setattr(ScriptedSource, "read", lambda self, c, s, st: iter(script))
    assert run_cli("--config", config, "run") == 0
    assert table_rows(url, "SELECT count(*), count(DISTINCT source_pk) FROM source_records") == [(200, 200)]
