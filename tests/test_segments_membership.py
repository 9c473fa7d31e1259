"""Segments evaluated incrementally after resolve (entering and leaving, with since/until), and synced as tags."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import yaml

from hub.identity.seed import write_canonical
from hub.segments import evaluate_segments, members, segments_of, sizes, tags_for
from hub.segments.evaluate import evaluate_in
from hub.segments.settings import parse_segments
from tests.helpers import copy_example, run_cli, table_rows
from tests.test_identity_support import profile_of, rec, resolve, together
from tests.test_quality_metrics import seeded

SEGMENTS = [
    {"name": "customers", "rule": {"field": "person.lifecycle_stage", "in": ["customer", "evangelist"]}},
    {"name": "guangdong", "rule": {"field": "person.addresses.province", "eq": "广东"}},
    {"name": "recent_event", "recheck_hours": 1000,
     "rule": {"interactions": {"type": "event_registered", "within_days": 30}}},
]


def iso(when: datetime) -> str:
    return when.isoformat()


def people(now: datetime, *, li_stage: str = "lead", zhang_stage: str = "customer") -> list[dict]:
    at = iso(now - timedelta(days=1))
    c1 = rec("crm_export", "c1", stream="contacts", name="张伟", email="zw@huaxin.cn", lifecycle_stage=zhang_stage,
             addresses=[{"country": "CN", "province": "广东", "city": "深圳"}], at=at)
    e1 = rec("expo_2026_signups", "e1", stream="signups", name="张伟", email="zw@huaxin.cn", at=at)
    c2 = rec("crm_export", "c2", stream="contacts", name="李娜", email="lina@sunrise.cn", lifecycle_stage=li_stage,
             at=at)
    e2 = rec("expo_2026_signups", "e2", stream="signups", name="赵磊", email="zl@example.cn", at=at,
             interactions=[{"type": "event_registered", "at": iso(now - timedelta(days=5)), "reference": "expo"}])
    return [c1, e1, c2, e2]


def current(conn, name: str) -> set[int]:  # noqa: ANN001
    return {m["profile_id"] for m in members(conn, name, limit=100)}


def test_membership_follows_profile_changes_incrementally(tmp_path, store_url):
    now = datetime.now(UTC)
    segments = parse_segments(SEGMENTS, file="custhub.yaml").segments
    store = seeded(store_url, people(now), tmp_path)
    resolve(store)
    assert together(store, "c1", "e1")
    pid = profile_of(store)
    zhang, li, zhao = pid["c1"], pid["c2"], pid["e2"]

    with store.transaction() as conn:
        first = evaluate_in(conn, segments, now=now)
    assert {n: c.mode for n, c in first.segments.items()} == dict.fromkeys(("customers", "guangdong", "recent_event"),
                                                                          "full")
    with store.reading() as conn:
        assert current(conn, "customers") == {zhang}
        assert current(conn, "guangdong") == {zhang}
        assert current(conn, "recent_event") == {zhao}
        assert {n: s["size"] for n, s in sizes(conn).items()} == {"customers": 1, "guangdong": 1, "recent_event": 1}

    # nothing changed: nothing is evaluated again (the time-based rule re-checks its one member)
    with store.transaction() as conn:
        idle = evaluate_in(conn, segments, now=now + timedelta(minutes=1))
    assert [(c.mode, c.evaluated) for c in idle.segments.values()] == [("incremental", 0), ("incremental", 0),
                                                                      ("incremental", 1)]

    # 李娜 becomes a customer: she enters, and only her profile is looked at
    write_canonical(store, [r for r in people(now, li_stage="customer") if r["provenance"]["source_pk"] == "c2"])
    resolve(store)
    t1 = now + timedelta(minutes=2)
    with store.transaction() as conn:
        second = evaluate_in(conn, segments, now=t1)
    assert (second.segments["customers"].evaluated, second.segments["customers"].entered) == (1, 1)
    with store.reading() as conn:
        assert current(conn, "customers") == {zhang, li}

    # 张伟 is no longer a customer: he leaves, his stay is closed with its until
    write_canonical(store, [r for r in people(now, li_stage="customer", zhang_stage="lead")
                            if r["provenance"]["source_pk"] == "c1"])
    resolve(store)
    t2 = now + timedelta(minutes=3)
    with store.transaction() as conn:
        third = evaluate_in(conn, segments, now=t2)
    assert third.segments["customers"].left == 1
    with store.reading() as conn:
        assert current(conn, "customers") == {li}
        history = [s for s in segments_of(conn, zhang) if s["segment"] == "customers"]
        assert len(history) == 1 and history[0]["until"] is not None
        assert abs(history[0]["until"] - t2) < timedelta(seconds=1)
        assert abs(history[0]["since"] - now) < timedelta(seconds=1)
        assert tags_for(conn, [zhang, li, zhao]) == {str(zhang): ["guangdong"], str(li): ["customers"],
                                                     str(zhao): ["recent_event"]}

    # time passes: the event is older than 30 days, so 赵磊 leaves without any change to his profile
    with store.transaction() as conn:
        later = evaluate_in(conn, segments, now=now + timedelta(days=40))
    assert later.segments["recent_event"].mode == "incremental" and later.segments["recent_event"].left == 1
    # a changed rule re-checks everyone; a removed segment releases its members
    changed = parse_segments([{**SEGMENTS[0], "rule": {"field": "person.lifecycle_stage", "eq": "lead"}}],
                             file="custhub.yaml").segments
    with store.transaction() as conn:
        fourth = evaluate_in(conn, changed, now=now + timedelta(days=41))
    assert fourth.segments["customers"].mode == "full" and sorted(fourth.removed) == ["guangdong", "recent_event"]
    with store.reading() as conn:
        assert current(conn, "customers") == {zhang}
        assert tags_for(conn, [zhang, li, zhao]) == {str(zhang): ["customers"]}
    rows = table_rows(store_url, "SELECT segment, profile_id FROM segment_members")
    assert all(isinstance(p, int) for _, p in rows)  # ids only, no values


def test_segment_tags_reach_the_file_destination(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    path = copy_example(tmp_path, url)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["segments"] = [{"name": "guangdong", "rule": {"field": "person.addresses.province", "eq": "广东"}},
                        {"name": "expo_visitors", "rule": {"source": "expo_2026_signups"}}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    assert run_cli("--config", str(path), "run") == 0  # ingest, resolve, segments, quality
    assert run_cli("--config", str(path), "sync", "contacts_file") == 0

    def zhang_tags() -> str:
        with open(tmp_path / "out" / "contacts.csv", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["email"] == "zhang.wei@huaxin-tech.cn"]
        assert len(rows) == 1
        return rows[0]["tags"]

    assert "guangdong" in zhang_tags() and "expo_visitors" in zhang_tags()
    assert run_cli("--config", str(path), "segments", "show", "guangdong") == 0
    # the segment is dropped from the config: its tag leaves the destination at the next sync
    data["segments"] = data["segments"][1:]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    assert run_cli("--config", str(path), "segments", "evaluate") == 0
    assert run_cli("--config", str(path), "sync", "contacts_file") == 0
    assert "guangdong" not in zhang_tags() and "expo_visitors" in zhang_tags()


def test_evaluate_segments_reads_the_config(tmp_path, store_url):
    path = copy_example(tmp_path, store_url)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["segments"] = SEGMENTS
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    from hub.config import load_config

    cfg = load_config(path)
    now = datetime.now(UTC)
    store = seeded(store_url, people(now), tmp_path)
    resolve(store)
    summary = evaluate_segments(store, cfg)
    assert {n: c.size for n, c in summary.segments.items()} == {"customers": 1, "guangdong": 1, "recent_event": 1}
