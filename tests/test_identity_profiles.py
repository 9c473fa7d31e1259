"""Golden profiles, stable ids, incremental runs, review and unmerge decisions, export: on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from hub.identity import explain, export, review, storage
from hub.identity.golden import Member, build_golden
from hub.identity.model import FSModel
from hub.identity.resolver import MODEL_STATE
from hub.identity.seed import write_canonical
from hub.identity.settings import IdentitySettings
from tests.test_identity_support import apart, profile_of, rec, record_id, resolve, seeded, together


def _members(*records):  # noqa: ANN002, ANN202
    return [Member(i + 1, r["provenance"]["connection"], "s", r["provenance"]["source_pk"], r)
            for i, r in enumerate(records)]


def test_each_field_follows_its_rule_and_keeps_alternatives_with_sources():
    settings = IdentitySettings(source_priority=("crm", "web"),
                                field_rules={"name": "source_priority", "employer": "most_recent",
                                             "title": "most_complete", "gender": "most_frequent"})
    golden = build_golden(_members(
        rec("web", "1", name="Zhang Wei", employer="Old Co", title="Mgr", gender="male",
            at="2026-05-01T00:00:00+00:00"),
        rec("crm", "2", name="张伟", employer="New Co", title="Purchasing Manager", gender="male",
            at="2026-01-01T00:00:00+00:00"),
        rec("web", "3", employer="Newest Co", gender="female", at="2026-09-01T00:00:00+00:00")), settings)
    fields = golden["fields"]
    assert fields["name"]["value"] == {"full": "张伟"} and fields["name"]["rule"] == "source_priority"
    assert fields["name"]["sources"][0]["connection"] == "crm"
    assert [a["value"] for a in fields["name"]["alternatives"]] == [{"full": "Zhang Wei"}]
    assert fields["name"]["alternatives"][0]["sources"][0]["source_pk"] == "1"
    assert fields["employer"]["value"] == "Newest Co"  # most recent by the source's own timestamp
    assert {a["value"] for a in fields["employer"]["alternatives"]} == {"Old Co", "New Co"}
    assert fields["title"]["value"] == "Purchasing Manager"  # most complete
    assert fields["gender"]["value"] == "male"  # most frequent


def test_multi_valued_fields_interactions_and_consents_are_gathered():
    golden = build_golden(_members(
        rec("web", "1", email="a@x.cn", phone="+8613912345678",
            interactions=[{"type": "form_submitted", "at": "2026-02-01T00:00:00+00:00"}],
            consents=[{"purpose": "marketing", "channel": "email", "status": "granted",
                       "at": "2026-02-01T00:00:00+00:00"}]),
        rec("expo", "2", email="a@x.cn", phone="+8613912345679",
            interactions=[{"type": "event_registered", "at": "2026-01-01T00:00:00+00:00"}],
            consents=[{"purpose": "marketing", "channel": "email", "status": "withdrawn",
                       "at": "2026-03-01T00:00:00+00:00"}])), IdentitySettings())
    assert [e["value"]["address"] for e in golden["emails"]] == ["a@x.cn"]
    assert len(golden["emails"][0]["sources"]) == 2
    assert len(golden["phones"]) == 2
    assert [i["type"] for i in golden["interactions"]] == ["event_registered", "form_submitted"]
    assert golden["interactions"][0]["source"]["connection"] == "expo"
    current = golden["consents"]["current"]
    assert [(c["status"], c["source"]["connection"]) for c in current] == [("withdrawn", "expo")]
    assert len(golden["consents"]["history"]) == 2


BASE = [rec("crm", "a1", name="Li Na", email="li.na@corp.cn"), rec("web", "a2", name="Li Na", email="li.na@corp.cn"),
        rec("crm", "b1", name="Wang Fang", phone="+8613912345678"),
        rec("web", "c1", name="Chen Jie", email="chen.jie@corp.cn", phone="+8613700001111")]


def test_ids_stay_stable_across_full_and_incremental_runs(store_url):
    store = seeded(store_url, BASE)
    resolve(store)
    first = profile_of(store)
    resolve(store, full=True)
    assert profile_of(store) == first
    write_canonical(store, [rec("expo", "a3", name="Li Na", email="li.na@corp.cn")])
    summary = resolve(store)
    assert summary.mode == "incremental" and summary.pending == 1
    after = profile_of(store)
    assert after["a3"] == first["a1"] and {k: after[k] for k in first} == first


def test_a_merge_keeps_the_surviving_id_and_records_the_other_as_merged_into_it(store_url):
    store = seeded(store_url, BASE)
    resolve(store)
    before = profile_of(store)
    write_canonical(store, [rec("crm", "b2", name="Wang Fang", phone="+8613912345678", email="w.fang@corp.cn"),
                            rec("web", "b3", name="Wang Fang", email="w.fang@corp.cn", phone="+8613600002222"),
                            rec("web", "c2", name="Chen Jie", phone="+8613600002222")])
    resolve(store)
    # c2 bridges b3 (Wang Fang) only by phone with a different name: no link
    assert apart(store, "b1", "c1")
    assert together(store, "b1", "b2", "b3")
    # now an explicit merge of two existing profiles through a shared identifier
    write_canonical(store, [rec("crm", "c3", name="Chen Jie", email="chen.jie@corp.cn",
                                platform_ids={"wechat_unionid": "U9"}),
                            rec("wechat", "c4", name="Chen Jie", phone="+8613600002222",
                                platform_ids={"wechat_unionid": "U9"})])
    resolve(store)
    after = profile_of(store)
    assert together(store, "c1", "c2", "c3", "c4")
    survivor = before["c1"]  # c1's profile is the older one and holds most of the records
    assert after["c1"] == survivor
    with store.reading() as conn:
        merged = conn.exec_driver_sql("SELECT id, merged_into FROM identity_profiles WHERE status = 'merged'").all()
        info = explain.describe(conn, merged[0][0])
    assert merged and merged[0][1] == survivor
    assert info["id"] == survivor and info["via"] == [survivor]  # asking for the merged id finds the survivor


def test_a_changed_record_is_resolved_again(store_url):
    store = seeded(store_url, BASE)
    resolve(store)
    write_canonical(store, [rec("crm", "b1", name="Chen Jie", email="chen.jie@corp.cn")])  # same pk, new content
    summary = resolve(store)
    assert summary.pending == 1
    assert together(store, "b1", "c1")


def test_unmerge_splits_and_the_decision_survives_every_later_run(store_url):
    store = seeded(store_url, [*BASE, rec("expo", "a3", name="Li Na", email="li.na@corp.cn")])
    resolve(store)
    pid = profile_of(store)["a1"]
    a3 = record_id(store, "a3")
    with store.transaction() as conn:
        explain.unmerge(conn, IdentitySettings(), pid, [a3])
    assert profile_of(store)["a1"] == pid  # the profile keeps its id
    assert apart(store, "a1", "a3") and together(store, "a1", "a2")
    write_canonical(store, [rec("web", "a4", name="Li Na", email="li.na@corp.cn")])
    resolve(store)
    assert apart(store, "a1", "a3")
    resolve(store, full=True)
    assert apart(store, "a1", "a3") and together(store, "a1", "a2", "a4")
    b1 = record_id(store, "b1")
    with store.transaction() as conn, pytest.raises(review.IdentityError):
        explain.unmerge(conn, IdentitySettings(), pid, [b1])


def _review_model() -> FSModel:
    m = [[0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.98], [0.02, 0.02, 0.96],
         [0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.5, 0.5], [0.5, 0.5]]
    u = [[0.9997, 0.0001, 0.0001, 0.97 / 4096], [0.99, 0.0097, 0.0002, 0.97 / 256], [0.98, 0.0049, 0.98 / 64],
         [0.52, 0.36, 0.12], [0.3, 0.3, 0.4], [0.3, 0.3, 0.4], [0.5, 0.5], [0.5, 0.5]]
    return FSModel(m=m, u=u, prior=2.0**-10 / (1 + 2.0**-10), u_random=[u[0][:3] + [0.5], *u[1:]])


@pytest.mark.parametrize("accept", [True, False])
def test_review_decisions_link_or_separate_and_survive_later_runs(store_url, accept):
    # name alone: +12 - 10 bits, p = 0.8: between the review (0.5) and match (0.95) thresholds
    store = seeded(store_url, [rec("crm", "x1", name="Ouyang Nana"), rec("web", "x2", name="欧阳娜娜"),
                               rec("web", "y1", name="Li Lei", email="li.lei@corp.cn")])
    with store.transaction() as conn:
        storage.save_state(conn, MODEL_STATE, _review_model().to_json(), datetime.now(UTC))
    summary = resolve(store)
    assert summary.review_added == 1 and apart(store, "x1", "x2")
    with store.reading() as conn:
        items = review.list_items(conn, "open", 10)
    assert len(items) == 1 and items[0]["evidence"]["levels"]["name"] == 3
    with store.transaction() as conn:
        review.decide_and_resolve(conn, IdentitySettings(), items[0]["id"], accept)
    assert together(store, "x1", "x2") is accept
    resolve(store, full=True)
    write_canonical(store, [rec("web", "x3", name="Ouyang Nana")])
    resolve(store)
    assert together(store, "x1", "x2") is accept
    with store.reading() as conn:
        assert review.list_items(conn, "accepted" if accept else "rejected", 10)[0]["id"] == items[0]["id"]
        reopened = [i for i in review.list_items(conn, "open", 10) if {i["record_a"], i["record_b"]} ==
                    {items[0]["record_a"], items[0]["record_b"]}]
    assert reopened == []  # a decided pair is never queued again


def test_export_links_has_one_row_per_stored_record(store_url):
    store = seeded(store_url, BASE)
    resolve(store)
    out = io.StringIO()
    with store.reading() as conn:
        assert export.export_links(conn, out, "csv") == 4
    rows = {r["source_pk"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert sorted(rows) == ["a1", "a2", "b1", "c1"]
    assert list(rows["a1"]) == ["connection", "stream", "source_pk", "profile_id"]
    assert rows["a1"]["profile_id"] == rows["a2"]["profile_id"] != rows["b1"]["profile_id"]
    out = io.StringIO()
    with store.reading() as conn:
        export.export_profiles(conn, out, "jsonl")
    profiles = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(profiles) == 3 and sum(p["member_count"] for p in profiles) == 4


def test_resolving_an_empty_store_does_nothing(store_url):
    store = seeded(store_url, [])
    summary = resolve(store)
    assert (summary.records, summary.profiles) == (0, 0)
