"""The consent gate of sync (T17) and separate consent plus the cross-border counter (T18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa

from hub.identity.tables import identity_members, identity_profiles
from hub.privacy.consent import ConsentEvent, record_consent
from hub.store.schema import source_records
from hub.sync import sync_destination
from hub.sync.tables import sync_transfers
from hub.sync.testing import person, seed_profiles, update_profile
from tests.helpers import run_cli
from tests.sync_support import OUTMAP, Recorder, make_config, open_store, registered

NOW = datetime.now(UTC)
PAST, LONG_AGO, FUTURE = NOW - timedelta(days=1), NOW - timedelta(days=30), NOW + timedelta(days=1)


@pytest.fixture
def recorder():
    rec = Recorder()
    with registered(rec):
        yield rec


def consent(purpose="marketing_email", status="granted", at=PAST, **extra):
    return {"purpose": purpose, "status": status, "at": at.isoformat(), **extra}


def with_consents(i, *entries):
    return person(i) | {"consents": list(entries)}


def record_ids(store):
    with store.reading() as conn:
        return conn.execute(sa.select(source_records.c.id).order_by(source_records.c.id)).scalars().all()


def ledger(store, subject, purpose, status="granted", *, separate=False, basis="consent", at=PAST):
    with store.transaction() as conn:
        record_consent(conn, ConsentEvent(subject, purpose, status, at, basis=basis, separate=separate))


def test_t17_only_profiles_granted_now_are_sent(tmp_path, store_url, recorder):
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test",
                                                    "purpose": "marketing_email"}})
    store = open_store(store_url)
    ids = seed_profiles(store, [
        with_consents(0, consent()),                                                  # granted
        with_consents(1, consent(status="denied")),                                   # denied
        with_consents(2, consent(at=LONG_AGO), consent(status="withdrawn")),          # withdrawn
        with_consents(3, consent(at=LONG_AGO, expires_at=PAST.isoformat())),          # expired
        with_consents(4, consent(at=FUTURE)),                                         # not valid yet
        person(5),                                                                    # missing
        with_consents(6, consent(basis="legitimate_interest")),                       # CN: no legitimate interest
        with_consents(7, consent(purpose="analytics")),                               # another purpose
    ])
    result = sync_destination(cfg, store, "crm")
    assert [r.profile_id for r in recorder.rows] == [ids[0]]
    assert result.plan.blocked == {"marketing_email:denied": 1, "marketing_email:withdrawn": 1,
                                   "marketing_email:expired": 1, "marketing_email:no_consent": 3,
                                   "marketing_email:basis_not_allowed": 1}


def test_t17_a_withdrawal_in_the_ledger_enqueues_the_opt_out(tmp_path, store_url, recorder):
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test",
                                                    "purpose": "marketing_email"}})
    store = open_store(store_url)
    ids = seed_profiles(store, [with_consents(0, consent(at=LONG_AGO)), with_consents(1, consent(at=LONG_AGO))])
    sync_destination(cfg, store, "crm")
    assert len(recorder.rows) == 2
    rid = record_ids(store)[1]
    ledger(store, f"record:{rid}", "marketing_email", "withdrawn", at=PAST)  # e.g. an unsubscribe link
    recorder.batches.clear()
    result = sync_destination(cfg, store, "crm")
    assert [(r.op, r.payload) for r in recorder.rows] == [("update", {"custhub_id": ids[1], "opt_out": True})]
    assert result.plan.opt_outs == 1 and result.plan.blocked == {"marketing_email:withdrawn": 1}


def test_t17_a_withdrawal_without_an_opt_out_mapping_is_not_silent(tmp_path, store_url, recorder, caplog):
    outmap = {k: v for k, v in OUTMAP.items() if k != "on_withdrawal"}
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test",
                                                    "purpose": "marketing_email"}}, outmap=outmap)
    store = open_store(store_url)
    ids = seed_profiles(store, [with_consents(0, consent(at=LONG_AGO))])
    sync_destination(cfg, store, "crm")
    ledger(store, f"record:{record_ids(store)[0]}", "marketing_email", "withdrawn")
    result = sync_destination(cfg, store, "crm")
    assert result.plan.withheld_opt_outs == 1
    assert any("no on_withdrawal" in note for note in result.plan.notes)
    assert "no on_withdrawal" in caplog.text and ids[0] not in caplog.text


def test_t17_golden_profiles_use_ledger_events_of_the_profile_and_its_records(tmp_path, store_url, recorder):
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test",
                                                    "purpose": "marketing_email"}})
    store = open_store(store_url)
    seed_profiles(store, [person(0), person(1), person(2)])
    rids = record_ids(store)
    golden = {"fields": {"name": {"value": {"full": "Golden"}}}, "emails": [{"value": {"address": "g@example.com"}}]}
    with store.transaction() as conn:
        for pid in (11, 12, 13):
            conn.execute(sa.insert(identity_profiles).values(id=pid, status="active", member_count=1,
                                                             golden=orjson.dumps(golden).decode(),
                                                             created_at=NOW, updated_at=NOW))
        for rid, pid in zip(rids, (11, 12, 13), strict=True):
            conn.execute(sa.insert(identity_members).values(record_id=rid, profile_id=pid, record_hash="h"))
    ledger(store, "profile:11", "marketing_email")             # granted on the profile
    ledger(store, f"record:{rids[1]}", "marketing_email")      # granted through a member record
    ledger(store, f"record:{rids[2]}", "marketing_email", at=LONG_AGO)
    ledger(store, "profile:13", "marketing_email", "withdrawn")  # ... withdrawn later on the profile
    sync_destination(cfg, store, "crm")
    assert sorted(r.profile_id for r in recorder.rows) == ["11", "12"]


def cross_border_config(tmp_path, store_url, **extra):
    privacy = {"region": "CN", "recipients": {"us_crm": {"region": "US", "relationship": "independent_handler",
                                                          "transfer_mechanism": "SCC", "vendor": "Example"}},
               **extra.pop("privacy", {})}
    return make_config(tmp_path, store_url, {"us_crm": {"connector": "recorder", "mapping": "out_test",
                                                        "purpose": "marketing_email",
                                                        "config": extra.pop("config", {})}}, privacy=privacy)


def test_t18_separate_consent_for_cross_border_and_third_party(tmp_path, store_url, recorder):
    cfg = cross_border_config(tmp_path, store_url)
    store = open_store(store_url)
    ids = seed_profiles(store, [with_consents(i, consent()) for i in range(4)] + [person(4)])
    r = record_ids(store)
    for i in (0, 2):
        ledger(store, f"record:{r[i]}", "cross_border", separate=True)
    ledger(store, f"record:{r[1]}", "cross_border", separate=False)  # bundled consent does not count in CN
    for i in (0, 1):
        ledger(store, f"record:{r[i]}", "share_third_party", separate=True)
    ledger(store, f"record:{r[3]}", "cross_border", "withdrawn", separate=True)
    result = sync_destination(cfg, store, "us_crm")
    assert [row.profile_id for row in recorder.rows] == [ids[0]]
    assert result.plan.blocked == {"cross_border:not_separate": 1, "share_third_party:no_consent": 1,
                                   "cross_border:withdrawn": 1, "marketing_email:no_consent": 1}
    assert result.abroad == "US" and result.transfers_this_year == 1


def test_t18_separate_consent_follows_the_configured_policy(tmp_path, store_url, recorder):
    cfg = cross_border_config(tmp_path, store_url, privacy={"consent": {"separate_consent_jurisdictions": []}})
    store = open_store(store_url)
    seed_profiles(store, [with_consents(i, consent()) for i in range(2)])
    sync_destination(cfg, store, "us_crm")
    assert len(recorder.rows) == 2  # no separate consent required by this policy: the purpose suffices


def test_t18_yearly_counter_counts_distinct_people_and_warns_at_the_threshold(tmp_path, store_url, recorder,
                                                                              capsys, caplog):
    cfg = cross_border_config(tmp_path, store_url, privacy={"consent": {"separate_consent_jurisdictions": []}},
                              config={"cross_border_warn_at": 3})
    store = open_store(store_url)
    ids = seed_profiles(store, [with_consents(i, consent()) for i in range(2)])
    first = sync_destination(cfg, store, "us_crm")
    assert first.transfers_this_year == 2 and not first.plan.notes
    update_profile(store, ids[0], with_consents(0, consent()) | {"person": {"name": {"full": "Changed"}}})
    seed_profiles(store, [with_consents(2, consent())], start=2)
    second = sync_destination(cfg, store, "us_crm")
    assert second.delivery.updated == 1 and second.delivery.created == 1  # the same person re-sent counts once
    assert second.transfers_this_year == 3
    assert any("people sent abroad (US)" in note and "PIPL" in note for note in second.plan.notes)
    assert "at or above 3" in caplog.text
    with store.reading() as conn:
        stored = conn.execute(sa.select(sync_transfers.c.profile_id, sync_transfers.c.year,
                                        sync_transfers.c.region)).all()
    assert sorted(stored) == sorted((pid, NOW.year, "US") for pid in [*ids, "crm:contacts:p0000002"])
    capsys.readouterr()
    assert run_cli("--config", str(cfg.file), "sync", "us_crm") == 0
    out = capsys.readouterr().out
    assert "3 people sent abroad (US) this year" in out


def test_a_domestic_processor_needs_no_transfer_consent_and_is_not_counted(tmp_path, store_url, recorder):
    privacy = {"region": "CN", "recipients": {"crm": {"region": "CN", "relationship": "processor"}}}
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test"}},
                      privacy=privacy)
    store = open_store(store_url)
    seed_profiles(store, [person(0)])
    result = sync_destination(cfg, store, "crm")
    assert len(recorder.rows) == 1 and result.transfers_this_year is None and result.abroad is None
