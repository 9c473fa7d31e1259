"""The consent ledger: granted-now semantics, separate consent, CN bases as policy (T17, T18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.errors import ConfigError
from hub.privacy.consent import (
    ConsentEvent,
    ConsentPolicy,
    consent_granted_now,
    decide,
    events_for,
    events_from_canonical,
    record_consent,
)
from hub.privacy.settings import parse_privacy
from tests.test_privacy_helpers import open_store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ev(status, when, purpose="marketing_email", **kw):
    return ConsentEvent(subject="profile:1", purpose=purpose, status=status, effective_from=when, **kw)


@pytest.mark.parametrize(("events", "purpose", "expected"), [
    ([], "marketing_email", (False, "no_consent")),
    ([ev("granted", NOW - DAY)], "marketing_email", (True, "granted")),
    ([ev("denied", NOW - DAY)], "marketing_email", (False, "denied")),
    ([ev("granted", NOW - 2 * DAY), ev("withdrawn", NOW - DAY)], "marketing_email", (False, "withdrawn")),
    ([ev("granted", NOW - 2 * DAY), ev("withdrawn", NOW + DAY)], "marketing_email", (True, "granted")),
    ([ev("withdrawn", NOW - 2 * DAY), ev("granted", NOW - DAY)], "marketing_email", (True, "granted")),
    ([ev("granted", NOW - 2 * DAY, expires_at=NOW - DAY)], "marketing_email", (False, "expired")),
    ([ev("granted", NOW - 2 * DAY, expires_at=NOW + DAY)], "marketing_email", (True, "granted")),
    ([ev("granted", NOW + DAY)], "marketing_email", (False, "no_consent")),  # future-dated
    ([ev("granted", NOW - DAY, purpose="marketing_sms")], "marketing_email", (False, "no_consent")),
    ([ev("unknown", NOW - DAY)], "marketing_email", (False, "unknown")),  # CRM import without evidence
    ([ev("granted", NOW - DAY, basis="legitimate_interest")], "marketing_email", (False, "basis_not_allowed")),
    ([ev("granted", NOW - DAY, basis="legitimate_interest", jurisdiction="EU")], "marketing_email",
     (True, "granted")),
    ([ev("granted", NOW - DAY, basis="contract")], "marketing_email", (True, "granted")),
    ([ev("granted", NOW - DAY, purpose="cross_border")], "cross_border", (False, "not_separate")),
    ([ev("granted", NOW - DAY, purpose="cross_border", separate=True)], "cross_border", (True, "granted")),
    ([ev("granted", NOW - DAY, purpose="share_third_party", jurisdiction="EU")], "share_third_party",
     (True, "granted")),
    ([ev("granted", NOW - DAY, purpose="sensitive_pi")], "sensitive_pi", (False, "not_separate")),
])
def test_granted_now_semantics(events, purpose, expected):
    decision = decide(events, purpose, NOW)
    assert (decision.granted, decision.reason) == expected


def test_the_ledger_is_append_only_and_answers_granted_now(tmp_path):
    store = open_store(tmp_path)
    with store.transaction() as conn:
        record_consent(conn, ev("granted", NOW - 3 * DAY, channel="web_form", source_record="record:9",
                                evidence={"form": "contact_us", "checkbox": "同意接收资讯"}, notice_version="v3"))
        record_consent(conn, ev("withdrawn", NOW - DAY, channel="crm_import"))
        record_consent(conn, ev("granted", NOW - DAY, purpose="cross_border", separate=True))
    with store.reading() as conn:
        assert not consent_granted_now(conn, "profile:1", "marketing_email", NOW)
        assert consent_granted_now(conn, "profile:1", "marketing_email", NOW - 2 * DAY)  # before withdrawal
        assert consent_granted_now(conn, "profile:1", "cross_border", NOW)
        assert not consent_granted_now(conn, "profile:2", "marketing_email", NOW)
        history = events_for(conn, "profile:1", "marketing_email")
    assert [e.status for e in history] == ["granted", "withdrawn"]
    assert history[0].evidence == {"form": "contact_us", "checkbox": "同意接收资讯"}
    assert history[0].effective_from == NOW - 3 * DAY and history[0].source_record == "record:9"


@pytest.mark.parametrize(("change", "message"), [
    ({"subject": "zhang@example.com"}, "subject must be profile:<id> or record:<id>"),
    ({"status": "maybe"}, "status must be one of"),
    ({"basis": "because"}, "basis must be one of"),
    ({"jurisdiction": "XX"}, "jurisdiction must be one of"),
    ({"effective_from": datetime(2026, 1, 1)}, "timezone-aware"),
    ({"source_record": "13800138000"}, "source_record must be record:<id>"),
])
def test_invalid_events_are_refused(tmp_path, change, message):
    store = open_store(tmp_path)
    event = ConsentEvent(**{**ev("granted", NOW).__dict__, **change})
    with store.transaction() as conn, pytest.raises(ConfigError, match=message) as err:
        record_consent(conn, event)
    assert "zhang@" not in str(err.value) and "13800138000" not in str(err.value)


def test_policy_comes_from_config_with_safe_defaults():
    default = parse_privacy(None).consent
    assert not default.basis_allowed("CN", "legitimate_interest")
    assert default.needs_separate("CN", "cross_border") and not default.needs_separate("EU", "cross_border")
    custom = parse_privacy({"consent": {"allowed_bases": {"CN": ["consent"]},
                                        "separate_consent_jurisdictions": ["CN", "EU"]}}).consent
    assert not custom.basis_allowed("CN", "contract") and custom.needs_separate("EU", "cross_border")
    events = [ev("granted", NOW - DAY, basis="contract")]
    assert decide(events, "marketing_email", NOW, default).granted
    assert not decide(events, "marketing_email", NOW, custom).granted
    assert isinstance(custom, ConsentPolicy)


def test_events_from_a_canonical_record():
    record = {"provenance": {"connection": "expo_2026_signups"},
              "consents": [{"purpose": "marketing", "status": "granted", "channel": "any",
                            "at": "2026-03-18T01:30:00Z"},
                           {"purpose": "marketing_sms", "status": "opted_in?"},
                           {"purpose": "Bad Purpose!", "status": "granted"}]}
    events = events_from_canonical(record, subject="record:5", source_record="record:5", fallback_time=NOW)
    assert [(e.purpose, e.status, e.effective_from) for e in events] == [
        ("marketing", "granted", datetime(2026, 3, 18, 1, 30, tzinfo=UTC)),
        ("marketing_sms", "unknown", NOW)]
    assert events[0].source_connection == "expo_2026_signups"
