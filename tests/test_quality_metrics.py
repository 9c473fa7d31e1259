"""Quality metrics on crafted data, with exact expected values; thresholds mark a run degraded and say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import yaml
from sqlalchemy import insert, update

from hub.config import load_config
from hub.errors import ConfigError
from hub.identity.seed import write_canonical
from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from hub.quality import evaluate_quality, history, latest, render_html
from hub.quality.compute import measure
from hub.quality.fields import reason_field
from hub.store import Store, runs
from hub.store.schema import quarantine
from tests.helpers import copy_example, run_cli, table_rows
from tests.test_identity_support import rec, resolve, together

NOW = datetime(2026, 1, 11, 12, 0, tzinfo=UTC)
CRM, EXPO = "crm_export", "expo_2026_signups"


def crm(pk: str, **kw):  # noqa: ANN001, ANN201
    return rec(CRM, pk, stream="contacts", **kw)


def expo(pk: str, **kw):  # noqa: ANN001, ANN201
    return rec(EXPO, pk, stream="signups", **kw)


def crafted_records() -> list[dict]:
    c1 = crm("c1", name="张伟", email="zw@huaxin.cn", title="采购经理")
    c1["provenance"]["updated_at"] = "2026-01-10T00:00:00+00:00"  # the newest record: 36 h before NOW
    return [
        c1,
        crm("c2", name="李娜", email="lina@sunrise.cn", phone="+8613912345678"),
        crm("c3", name="李娜", email="lina@sunrise.cn"),  # the same person twice in one source
        crm("c4", name="王芳"),
        expo("e1", name="张伟", email="zw@huaxin.cn", title="经理"),  # conflicting title across sources
        expo("e2", name="赵磊", email="zl@example.cn"),
    ]


def config_for(tmp_path, url: str, quality: dict | None = None, segments: list | None = None):  # noqa: ANN201
    path = copy_example(tmp_path, url)
    data = yaml.safe_load(path.read_text("utf-8"))
    if quality is not None:
        data["quality"] = quality
    if segments is not None:
        data["segments"] = segments
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return load_config(path)


def seeded(url: str, records: list[dict], base_dir):  # noqa: ANN001, ANN201
    """A store with the privacy layer active for it (canonical records are sealed), holding ``records``."""
    store = Store.open(url)
    ensure_active(store.engine, PrivacySettings(), base_dir)
    write_canonical(store, records)
    return store


def crafted_store(url: str, base_dir):  # noqa: ANN001, ANN201
    store = seeded(url, crafted_records(), base_dir)
    resolve(store)
    assert together(store, "c1", "e1") and together(store, "c2", "c3")
    with store.transaction() as conn:
        conn.execute(insert(quarantine), [
            {"connection": CRM, "stream": "contacts", "source_pk": "q1", "record_hash": "h1", "stage": "clean",
             "reasons": orjson.dumps(["person.emails[0].address: not a valid e-mail address",
                                      "person.phones[0].number: not a valid phone number"]).decode(),
             "raw": "{}", "status": "open", "first_seen_at": NOW, "updated_at": NOW, "run_id": 1},
            {"connection": CRM, "stream": "contacts", "source_pk": "q2", "record_hash": "h2", "stage": "clean",
             "reasons": orjson.dumps(["person.name: is empty"]).decode(), "raw": "{}", "status": "resolved",
             "first_seen_at": NOW, "updated_at": NOW, "run_id": 1}])
        run_id = runs.start_run(conn, "ingest", CRM)
        runs.finish_run(conn, run_id, "succeeded", runs.StreamCounts(), None)
        conn.execute(update(runs.runs).where(runs.runs.c.id == run_id).values(finished_at=NOW - timedelta(hours=2)))
    return store


def as_dict(metrics) -> dict:  # noqa: ANN001
    return {(m.stream, m.metric, m.field): (m.value, m.numerator, m.denominator) for m in metrics}


def test_metrics_on_crafted_data_have_exact_values(tmp_path, store_url):
    store = crafted_store(store_url, tmp_path)
    fields = ("person.name", "person.emails", "person.phones", "person.title", "organization.name")
    with store.reading() as conn:
        found = measure(conn, [CRM, EXPO], fields, NOW)
    c, e = as_dict(found[CRM]), as_dict(found[EXPO])
    assert c[("contacts", "completeness", "person.emails")] == (0.75, 3, 4)
    assert c[("contacts", "completeness", "person.phones")] == (0.25, 1, 4)
    assert c[("contacts", "completeness", "person.name")] == (1.0, 4, 4)
    assert c[("contacts", "completeness", "organization.name")] == (0.0, 0, 4)
    assert c[("contacts", "validity", "*")] == (0.8, 4, 5)  # 4 stored, 1 open in quarantine (the resolved one is not)
    assert c[("contacts", "validity", "person.emails")] == (0.8, 4, 5)
    assert c[("contacts", "validity", "person.phones")] == (0.8, 4, 5)
    assert c[("contacts", "validity", "person.name")] == (1.0, 5, 5)
    assert c[("*", "uniqueness", "*")] == (0.75, 3, 4)  # c2 and c3 are one person
    assert e[("*", "uniqueness", "*")] == (1.0, 2, 2)
    # one multi-source profile (c1 + e1): same name, different title
    assert c[("contacts", "consistency", "person.name")] == (1.0, 1, 1)
    assert c[("contacts", "consistency", "person.title")] == (0.0, 0, 1)
    assert e[("signups", "consistency", "person.title")] == (0.0, 0, 1)
    assert ("contacts", "consistency", "person.employer") not in c
    assert c[("contacts", "freshness", "newest_record_hours")] == (36.0, None, None)
    assert c[("*", "freshness", "last_success_hours")] == (2.0, None, None)
    assert ("*", "freshness", "last_success_hours") not in e  # never ran as a connection


def test_a_degraded_run_is_flagged_with_value_free_reasons(tmp_path, store_url):
    store = crafted_store(store_url, tmp_path)
    cfg = config_for(tmp_path, store_url, quality={"fields": ["person.emails", "person.title"], "thresholds": {
        "completeness": {"person.emails": 0.8}, "consistency": {"person.title": 0.5},
        "freshness": {"newest_record_hours": 24},
        "connections": {EXPO: {"uniqueness": 0.99, "completeness": 0.5}}}})
    found = {e.connection: e for e in evaluate_quality(store, cfg, [CRM, EXPO], run_ids={CRM: 7}, now=NOW)}
    assert found[CRM].status == "degraded" and found[CRM].run_id == 7
    assert found[CRM].reasons == [
        "completeness of person.emails in crm_export/contacts 0.75 < 0.80",
        "freshness of crm_export/contacts: newest record 36.0 h old > 24 h",
        "consistency of person.title in crm_export/contacts 0.00 < 0.50",
    ]
    # expo: its own completeness limit (0.5 for every field: title 1/2 passes, e-mails 2/2 too) replaces the
    # global one; uniqueness 1.0 passes its 0.99
    assert found[EXPO].reasons == [
        "freshness of expo_2026_signups/signups: newest record 252.0 h old > 24 h",
        "consistency of person.title in expo_2026_signups/signups 0.00 < 0.50"]
    with store.reading() as conn:
        newest = {e.connection: e for e in latest(conn)}
        assert newest[CRM].status == "degraded" and newest[CRM].reasons == found[CRM].reasons
        stored = table_rows(store_url, "SELECT reasons FROM quality_runs")
        for value in ("zw@huaxin.cn", "张伟", "采购经理", "lina@sunrise.cn"):
            assert all(value not in r for (r,) in stored)


def test_history_and_report_follow_changes(tmp_path, store_url):
    store = crafted_store(store_url, tmp_path)
    cfg = config_for(tmp_path, store_url, quality={"fields": ["person.emails"]})
    evaluate_quality(store, cfg, [CRM], now=NOW)
    write_canonical(store, [crm("c4", name="王芳", email="wf@example.cn")])  # now every crm record has an e-mail
    evaluate_quality(store, cfg, [CRM], now=NOW + timedelta(hours=1))
    with store.reading() as conn:
        points = history(conn, CRM, "completeness", "person.emails")
        assert [(p["value"], p["numerator"]) for p in points] == [(0.75, 3), (1.0, 4)]
        assert [p["computed_at"] for p in points] == [NOW, NOW + timedelta(hours=1)]
        page = render_html(conn)
    assert page.startswith("<!doctype html>") and "<svg" in page and "<polyline" in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for value in ("wf@example.cn", "王芳", "zw@huaxin.cn"):
        assert value not in page


@pytest.mark.parametrize(("reason", "field"), [
    ("person.emails[0].address: not a valid e-mail address", "person.emails"),
    ("person.name: is empty", "person.name"),
    ("interactions[2].at: not a date-time", "interactions"),
    ("organization.name: must be a string", "organization.name"),
    ("(record): missing required key", "*"),
])
def test_quarantine_reasons_name_their_field(reason, field):
    assert reason_field(reason) == field


@pytest.mark.parametrize(("quality", "message"), [
    ({"thresholds": {"completness": 0.5}},
     "quality.thresholds.completness: unknown key (did you mean 'completeness'?)"),
    ({"thresholds": {"completeness": {"person.emial": 0.5}}},
     "quality.thresholds.completeness.person.emial: unknown field 'person.emial'"),
    ({"thresholds": {"validity": 1.5}}, "quality.thresholds.validity: "),
    ({"thresholds": {"connections": {"nope": {"uniqueness": 0.5}}}},
     "quality.thresholds.connections.nope: unknown connection 'nope'"),
    ({"fields": ["person.shoe_size"]}, "quality.fields[0]: unknown field 'person.shoe_size'"),
])
def test_invalid_quality_config_names_path_and_fix(tmp_path, quality, message):
    with pytest.raises(ConfigError) as info:
        config_for(tmp_path, "sqlite:///x.db", quality=quality)
    assert message in str(info.value)


def test_custhub_run_measures_quality_and_flags_degraded(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    cfg = config_for(tmp_path, url, quality={"thresholds": {"validity": 0.99}})
    assert run_cli("--config", str(cfg.file), "run") == 0
    out = capsys.readouterr().out
    assert "quality of crm_export: degraded (validity of crm_export/contacts 0.88 < 0.99)" in out
    rows = table_rows(url, "SELECT q.connection, q.status, r.kind FROM quality_runs q JOIN runs r ON r.id = q.run_id")
    assert (CRM, "degraded", "ingest") in rows
    assert run_cli("--config", str(cfg.file), "quality", CRM) == 0
    out = capsys.readouterr().out
    assert "degraded: validity of crm_export/contacts 0.88 < 0.99" in out and "completeness" in out
    report = tmp_path / "quality.html"
    assert run_cli("--config", str(cfg.file), "quality", "--html", str(report)) == 0
    assert "<svg" in report.read_text("utf-8")
