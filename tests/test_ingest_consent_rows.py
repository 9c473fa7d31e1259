"""Consent rows of ingested records: reused for equal consents, never across read times they depend on."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.ingest.processor import Sealing


def _record(consent: dict) -> dict:
    return {"consents": [consent], "provenance": {"connection": "expo"}}


def test_a_consent_with_its_own_time_gives_the_same_rows_in_every_batch():
    sealing = Sealing("expo", "signups", "digest")
    consent = {"purpose": "marketing", "status": "granted", "channel": "any", "at": "2026-03-01T09:30:00+08:00"}
    first = sealing.consents(_record(dict(consent)), datetime(2026, 5, 1, tzinfo=UTC))
    again = sealing.consents(_record(dict(consent)), datetime(2026, 5, 2, tzinfo=UTC))
    assert first == again and first[0].effective_from == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    denied = sealing.consents(_record({**consent, "status": "denied"}), datetime(2026, 5, 2, tzinfo=UTC))
    assert denied[0].status == "denied"


def test_a_consent_without_a_time_takes_each_batch_s_read_time():
    sealing = Sealing("expo", "signups", "digest")
    consent = {"purpose": "marketing", "status": "granted", "channel": "any"}
    may_first, may_second = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
    assert sealing.consents(_record(dict(consent)), may_first)[0].effective_from == may_first
    assert sealing.consents(_record(dict(consent)), may_second)[0].effective_from == may_second
