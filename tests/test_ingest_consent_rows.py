"""Consent rows of ingested records: reused for equal consents, never across read times they depend on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.ingest.processor import Sealing
from hub.store.records import ConsentRow


def _record(consent: dict) -> dict:
    return {"consents": [consent], "provenance": {"connection": "expo"}}


def _rows(sealing: Sealing, record: dict, read_at: datetime) -> list[ConsentRow]:
    """The rows, named; they travel from the workers as plain tuples (cheaper to pickle)."""
    rows = sealing.consents(record, read_at)
    assert all(row.__class__ is tuple for row in rows)
    return [ConsentRow(*row) for row in rows]


def test_a_consent_with_its_own_time_gives_the_same_rows_in_every_batch():
    sealing = Sealing("expo", "signups", "digest")
    consent = {"purpose": "marketing", "status": "granted", "channel": "any", "at": "2026-03-01T09:30:00+08:00"}
    first = _rows(sealing, _record(dict(consent)), datetime(2026, 5, 1, tzinfo=UTC))
    again = _rows(sealing, _record(dict(consent)), datetime(2026, 5, 2, tzinfo=UTC))
    assert first == again and first[0].effective_from == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    denied = _rows(sealing, _record({**consent, "status": "denied"}), datetime(2026, 5, 2, tzinfo=UTC))
    assert denied[0].status == "denied"


def test_a_consent_without_a_time_takes_each_batch_s_read_time():
    sealing = Sealing("expo", "signups", "digest")
    consent = {"purpose": "marketing", "status": "granted", "channel": "any"}
    may_first, may_second = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
    assert _rows(sealing, _record(dict(consent)), may_first)[0].effective_from == may_first
    assert _rows(sealing, _record(dict(consent)), may_second)[0].effective_from == may_second


TIMES = st.one_of(st.none(), st.just("not a time"), st.just("2026-03-01T09:30:00"),  # naive: no time of its own
                  st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])).map(
                      lambda t: t.isoformat().replace("+00:00", "Z")))
CONSENTS = st.lists(st.fixed_dictionaries(
    {"purpose": st.sampled_from(["marketing", "profiling", "bad purpose!", ""])},
    optional={"status": st.sampled_from(["granted", "denied", "withdrawn", "maybe"]),
              "channel": st.sampled_from(["any", "email", "sms"]), "separate": st.booleans(),
              "basis": st.sampled_from(["consent", "contract", "whim"]),
              "expires_at": TIMES, "at": TIMES}), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(CONSENTS, st.lists(TIMES, min_size=3, max_size=3))
def test_re_timed_rows_equal_rows_made_from_scratch(consents: list[dict], other_times: list) -> None:
    """Rows made once per content and re-timed for each record are the rows the record gives alone."""
    sealing = Sealing("expo", "signups", "digest")
    read_at = datetime(2026, 5, 1, tzinfo=UTC)
    for time in [None, *other_times]:  # the first record fills the cache, the others may use it
        entries = [dict(c) if time is None else {**c, "at": time} for c in consents]
        record = _record(entries[0]) | {"consents": entries}
        assert _exact(sealing.consents(record, read_at)) == _exact(sealing._consents(record, read_at))


def _exact(rows: tuple) -> list[tuple]:
    """Rows with their times as text: aware times that are equal instants still differ in offset,
    and the ledger stores UTC wall-clock times."""
    return [(*row[:7], row[7].isoformat(), row[8] and row[8].isoformat()) for row in rows]
