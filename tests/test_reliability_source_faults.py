"""Fault injection against a source API (issue 7): the Typeform Responses source under 429 with Retry-After,
5xx, timeouts, slow answers, dropped connections, truncated and invalid JSON bodies.

Typeform's ``api_base`` is an enum of Typeform's own hosts (no localhost override), so the fake is the
in-tree ``FakeTypeform`` (``tests.test_source_typeform``, the exact request and response shapes) behind
the ``responses`` library, with a fault plan in front of it: each data request takes the next fault of
the plan, if any. Timeouts and dropped connections are raised as ``requests`` raises them.

Oracle: ``run_connection`` never raises; a run whose stream failed transiently is ``partial`` (or
``failed``), never ``succeeded``; reruns after the faults stop store every response exactly once, and
nothing is lost or duplicated across the faulty runs.
"""

from __future__ import annotations

import json
import random
import threading

import pytest
import requests
import responses
import yaml

from hub.cli.common import open_store
from hub.config import load_config
from hub.ingest.pipeline import run_connection
from tests.helpers import table_rows
from tests.test_source_typeform import FORM, TOKEN, FakeTypeform

CONN = "typeform"
TRANSIENT = ("429", "500", "503", "timeout", "drop")
CORRUPT = ("truncated", "invalid")


class FaultyTypeform(FakeTypeform):
    """``FakeTypeform`` with a fault plan: each request takes ``plan.pop(0)`` (``None`` = answer normally)."""

    def __init__(self) -> None:
        super().__init__()
        self.plan: list[str | None] = []
        self.faults: list[str] = []

    def _responses(self, request):
        fault = self.plan.pop(0) if self.plan else None
        if fault == "slow":  # answered late, within the client's timeout (time.sleep is patched out: wait on an Event)
            threading.Event().wait(0.2)
        if fault in (None, "slow"):
            return super()._responses(request)
        self.faults.append(fault)
        if fault == "429":
            return self._answer(429, {"code": "TOO_MANY_REQUESTS"}, {"Retry-After": "2"})
        if fault in ("500", "503"):
            return int(fault), {"Content-Type": "text/html"}, "<html><body>Service Unavailable</body></html>"
        if fault == "timeout":
            raise requests.ReadTimeout("Read timed out. (read timeout=60.0)")
        if fault == "drop":
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected")
        status, headers, body = super()._responses(request)
        if fault == "truncated":
            return status, headers, body[: len(body) // 2]
        return status, {**headers, "Content-Type": "text/html"}, "<html>upstream error</html>"  # invalid


@pytest.fixture(autouse=True)
def no_waits(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("hub.sources.http.time.sleep", waits.append)  # Retry-After and backoff, not waited
    return waits


def write_config(tmp_path):
    raw = {"version": 1, "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
           "ingest": {"workers": 1}, "identity": {"resolve_after_ingest": False},
           "connections": {CONN: {"source": "typeform",
                                  "config": {"token": TOKEN, "form_ids": [FORM], "page_size": 3, "checkpoint_every": 2},
                                  "streams": {"responses": {"mapping": "typeform_responses"}}}}}
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    return path


def ingest(path, api: FaultyTypeform) -> str:
    cfg = load_config(path)
    store = open_store(cfg)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            api.install(rsps)
            return run_connection(cfg, store, CONN).status  # must not raise, whatever the API does
    finally:
        store.close()


def stored(path) -> list[str]:
    url = load_config(path).store_url
    return [pk for (pk,) in table_rows(url, "SELECT source_pk FROM source_records ORDER BY source_pk")]


def assert_exactly_once(path, api: FaultyTypeform) -> None:
    pks = stored(path)
    assert len(pks) == len(set(pks)), "a response is stored twice"
    assert pks == sorted(api.records["responses"]), "a response is missing"


@pytest.mark.parametrize("fault", (*TRANSIENT, "slow"))
def test_a_short_transient_fault_is_retried_within_the_run(tmp_path, fault, no_waits):
    path, api = write_config(tmp_path), FaultyTypeform()
    api.seed("responses", 8)
    api.plan = [None, fault, fault]  # the second page fails twice, then answers (5 attempts per request)
    assert ingest(path, api) == "succeeded"
    assert api.faults == ([] if fault == "slow" else [fault, fault])
    assert_exactly_once(path, api)
    if fault == "429":
        assert no_waits[:2] == [2.0, 2.0]  # Retry-After is honoured


@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_lasting_fault_makes_the_run_partial_and_the_rerun_completes(tmp_path, fault):
    path, api = write_config(tmp_path), FaultyTypeform()
    api.seed("responses", 8)
    # The first page lands, then the API stays down for this run (429s past the 900 s burst-wait budget).
    api.plan = [None] + [fault] * (500 if fault == "429" else 30)
    status = ingest(path, api)
    assert status in ("partial", "failed"), status
    first = stored(path)
    assert first == sorted(api.records["responses"])[:3]  # the page read before the fault is kept
    api.plan = []
    assert ingest(path, api) == "succeeded"
    assert_exactly_once(path, api)
    url = load_config(path).store_url
    assert [s for (s,) in table_rows(url, "SELECT status FROM runs WHERE kind = 'ingest' ORDER BY id")] == \
        [status, "succeeded"]


def test_a_random_fault_plan_loses_nothing_over_reruns(tmp_path):
    """Faults of every kind, new responses between runs: after the faults stop, each response once."""
    rng = random.Random(7)
    path, api = write_config(tmp_path), FaultyTypeform()
    api.seed("responses", 5)
    statuses = []
    for _ in range(12):
        api.plan = [rng.choice((None, None, "slow", *TRANSIENT)) for _ in range(rng.randint(0, 12))]
        statuses.append(ingest(path, api))
        pks = stored(path)
        assert len(pks) == len(set(pks))
        assert set(pks) <= set(api.records["responses"])
        api.seed("responses", rng.randint(0, 4))
    api.plan = []
    assert ingest(path, api) == "succeeded"
    assert_exactly_once(path, api)
    assert set(statuses) <= {"succeeded", "partial", "failed"}
    assert "succeeded" in statuses and ({"partial", "failed"} & set(statuses))


@pytest.mark.parametrize("fault", CORRUPT)
def test_a_corrupt_page_loses_nothing_over_reruns(tmp_path, fault):
    path, api = write_config(tmp_path), FaultyTypeform()
    api.seed("responses", 8)
    api.plan = [None, fault]
    ingest(path, api)
    api.plan = []
    for _ in range(3):
        ingest(path, api)
    assert_exactly_once(path, api)


@pytest.mark.parametrize("fault", CORRUPT)
def test_a_corrupt_page_is_a_transient_failure_not_the_end_of_the_data(tmp_path, fault):
    path, api = write_config(tmp_path), FaultyTypeform()
    api.seed("responses", 8)
    api.plan = [None] + [fault] * 30
    status = ingest(path, api)
    assert status in ("partial", "failed"), f"a corrupt answer ended the run as {status}"


def test_the_fault_bodies_are_what_they_claim(tmp_path):
    """The fake's corrupt answers really are corrupt, so the tests above test what they say."""
    api = FaultyTypeform()
    api.seed("responses", 4)
    with responses.RequestsMock() as rsps:
        api.install(rsps)
        url = f"https://api.typeform.com/forms/{FORM}/responses?page_size=3"
        api.plan = ["truncated", "invalid", None]
        for _ in range(2):
            with pytest.raises(ValueError):
                json.loads(requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text)
        assert len(requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()["items"]) == 3
