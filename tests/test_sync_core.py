"""Sync core: change detection, outbox, per-row results, modes, consent, mirror, file and SQL destinations."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.errors import ConfigError
from hub.schedule import locks
from hub.store.runs import finish_run, start_run
from hub.sync import sync_destination
from hub.sync.consent import consent_granted
from hub.sync.outmap import compile_outmap
from hub.sync.sealing import open_reason
from hub.sync.tables import sync_links, sync_results
from hub.sync.testing import delete_profile, person, seed_profiles, update_profile
from tests.helpers import run_cli
from tests.sync_support import Recorder, make_config, open_store, registered


def rows_of(store, sql):
    with store.reading() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


@pytest.fixture
def recorder():
    rec = Recorder()
    with registered(rec):
        yield rec


def setup(tmp_path, store_url, *, mode="upsert", purpose=None, n=3, config=None, outmap=None):
    dest = {"connector": "recorder", "mapping": (outmap or {}).get("name", "out_test"), "mode": mode,
            "config": config or {}}
    if purpose:
        dest["purpose"] = purpose
    cfg = make_config(tmp_path, store_url, {"crm": dest}, outmap=outmap)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(n)]) if n else []
    return cfg, store, ids


def test_unchanged_profiles_cost_nothing_and_one_changed_field_sends_one_update(tmp_path, store_url, recorder):
    cfg, store, ids = setup(tmp_path, store_url)
    first = sync_destination(cfg, store, "crm")
    assert first.status == "succeeded" and first.delivery.created == 3
    assert len(recorder.rows) == 3
    recorder.batches.clear()
    again = sync_destination(cfg, store, "crm")
    assert again.plan.unchanged == 3 and recorder.batches == []
    update_profile(store, ids[1], person(1) | {"person": {**person(1)["person"], "emails": [{"address": "n@x.org"}]}})
    third = sync_destination(cfg, store, "crm")
    assert [r.profile_id for r in recorder.rows] == [ids[1]]
    assert third.delivery.updated == 1 and third.delivery.created == 0
    links = rows_of(store, "SELECT profile_id, external_id, status FROM sync_links ORDER BY profile_id")
    assert links == [(i, "ext-" + i, "synced") for i in sorted(ids)]
    assert rows_of(store, "SELECT status, count(*) FROM sync_outbox GROUP BY status") == [("succeeded", 4)]


def test_rejected_rows_keep_the_crm_reason_are_retried_on_later_runs_then_dead(tmp_path, store_url, recorder):
    cfg, store, ids = setup(tmp_path, store_url, config={"max_attempts": 3})
    recorder.reject[ids[0]] = "MANDATORY_NOT_FOUND"
    r1 = sync_destination(cfg, store, "crm")
    assert r1.status == "partial" and r1.delivery.rejected == 1 and r1.delivery.created == 2
    with store.reading() as conn:
        problems = conn.execute(sa.select(sync_results.c.status, sync_results.c.code, sync_results.c.reason,
                                          sync_results.c.outbox_id).where(
            sync_results.c.run_id == r1.run_id, sync_results.c.status != "synced")).all()
    assert [(s, c, open_reason(r1.run_id, o, r)) for s, c, r, o in problems] == [
        ("rejected", "MANDATORY_NOT_FOUND", "MANDATORY_NOT_FOUND on field name")]
    assert problems[0].reason.startswith("ch1.")  # sealed at rest
    recorder.batches.clear()
    r2 = sync_destination(cfg, store, "crm")  # retried although nothing changed
    assert [r.profile_id for r in recorder.rows] == [ids[0]] and r2.delivery.rejected == 1
    r3 = sync_destination(cfg, store, "crm")
    assert r3.delivery.dead == 1
    recorder.batches.clear()
    sync_destination(cfg, store, "crm")
    assert recorder.batches == []  # dead rows wait for a change (or a replay)
    del recorder.reject[ids[0]]
    update_profile(store, ids[0], person(100))
    r5 = sync_destination(cfg, store, "crm")
    assert r5.status == "succeeded" and r5.delivery.created == 1


def test_dry_run_plans_and_sends_nothing(tmp_path, store_url, recorder):
    cfg, store, _ = setup(tmp_path, store_url)
    result = sync_destination(cfg, store, "crm", dry_run=True)
    assert (result.status, result.plan.creates, result.plan.updates, result.plan.deletes) == ("dry_run", 3, 0, 0)
    assert recorder.batches == []
    assert rows_of(store, "SELECT count(*) FROM sync_outbox") == [(0,)]


def test_a_newer_change_supersedes_an_unsent_one(tmp_path, store_url, recorder):
    cfg, store, ids = setup(tmp_path, store_url, n=1)
    recorder.reject[ids[0]] = "INVALID_DATA"
    sync_destination(cfg, store, "crm")
    update_profile(store, ids[0], person(7))
    del recorder.reject[ids[0]]
    recorder.batches.clear()
    sync_destination(cfg, store, "crm")
    assert [r.payload["email"] for r in recorder.rows] == ["p7@example.com"]
    assert sorted(rows_of(store, "SELECT status FROM sync_outbox")) == [("succeeded",), ("superseded",)]


def test_insert_only_never_updates_and_update_only_never_creates(tmp_path, store_url, recorder):
    cfg, store, ids = setup(tmp_path, store_url, mode="insert_only", n=2)
    sync_destination(cfg, store, "crm")
    update_profile(store, ids[0], person(50))
    recorder.batches.clear()
    assert sync_destination(cfg, store, "crm").plan.skipped == 2 and recorder.batches == []

    cfg2, store2, ids2 = setup(tmp_path / "u", store_url.replace("custhub.db", "u.db"), mode="update_only", n=2) \
        if store_url.startswith("sqlite") else (None, None, None)
    if cfg2 is None:
        return
    recorder.batches.clear()
    assert sync_destination(cfg2, store2, "crm").plan.skipped == 2 and recorder.batches == []


def test_update_only_sends_updates_to_linked_profiles(tmp_path, store_url, recorder):
    cfg, store, ids = setup(tmp_path, store_url, n=2)
    sync_destination(cfg, store, "crm")
    cfg_u = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test",
                                                      "mode": "update_only"}})
    seed_profiles(store, [person(9)], start=9)
    update_profile(store, ids[0], person(70))
    recorder.batches.clear()
    result = sync_destination(cfg_u, store, "crm")
    assert [(r.op, r.profile_id, r.external_id) for r in recorder.rows] == [("update", ids[0], "ext-" + ids[0])]
    assert result.plan.skipped == 1


NOW = datetime.now(UTC)


def consent(status, at=None, expires=None, purpose="marketing"):
    entry = {"purpose": purpose, "status": status}
    if at:
        entry["at"] = at.isoformat()
    if expires:
        entry["expires_at"] = expires.isoformat()
    return {"consents": [entry]}


@pytest.mark.parametrize(("record", "granted"), [
    (consent("granted", NOW - timedelta(days=1)), True),
    (consent("denied", NOW - timedelta(days=1)), False),
    ({"consents": [{"purpose": "marketing", "status": "granted", "at": (NOW - timedelta(days=2)).isoformat()},
                   {"purpose": "marketing", "status": "withdrawn", "at": (NOW - timedelta(days=1)).isoformat()}]},
     False),
    (consent("granted", NOW - timedelta(days=9), expires=NOW - timedelta(days=1)), False),
    (consent("granted", NOW + timedelta(days=1)), False),
    ({}, False),
    (consent("granted", NOW - timedelta(days=1), purpose="analytics"), False),
])
def test_consent_gate_only_granted_now(record, granted):
    assert consent_granted(record, "marketing", NOW) is granted


def test_only_consenting_profiles_are_sent_and_withdrawal_sends_the_opt_out(tmp_path, store_url, recorder):
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test",
                                                    "purpose": "marketing"}})
    store = open_store(store_url)
    yes = person(1) | consent("granted", NOW - timedelta(days=1))
    ids = seed_profiles(store, [yes, person(2) | consent("denied", NOW - timedelta(days=1)), person(3)])
    sync_destination(cfg, store, "crm")
    assert [r.profile_id for r in recorder.rows] == [ids[0]]
    withdrawn = person(1) | {"consents": [yes["consents"][0], {"purpose": "marketing", "status": "withdrawn",
                                                               "at": NOW.isoformat()}]}
    update_profile(store, ids[0], withdrawn)
    recorder.batches.clear()
    result = sync_destination(cfg, store, "crm")
    assert [(r.op, r.payload) for r in recorder.rows] == [("update", {"custhub_id": ids[0], "opt_out": True})]
    assert result.plan.opt_outs == 1
    assert rows_of(store, "SELECT status FROM sync_links") == [("opted_out",)]
    recorder.batches.clear()
    sync_destination(cfg, store, "crm")
    assert recorder.batches == []


def test_mirror_deletes_only_what_custhub_created_and_has_left(tmp_path, store_url, recorder):
    cfg, store, ids = setup(tmp_path, store_url, mode="mirror", n=3)
    first = sync_destination(cfg, store, "crm")
    assert "baseline" in first.error
    delete_profile(store, ids[0])
    recorder.batches.clear()
    result = sync_destination(cfg, store, "crm")
    assert [(r.op, r.profile_id) for r in recorder.rows] == [("delete", ids[0])]
    assert result.delivery.deleted == 1
    # a profile custhub did not create (linked by an update-only sync) is never deleted
    with store.transaction() as conn:
        conn.execute(sync_links.update().where(sync_links.c.profile_id == ids[1]).values(created_by_custhub=False))
    delete_profile(store, ids[1])
    recorder.batches.clear()
    sync_destination(cfg, store, "crm")
    assert recorder.batches == []


def test_mirror_never_deletes_on_an_empty_or_failed_upstream(tmp_path, store_url, recorder):
    conns = {"crm": {"source": "file", "config": {"files": [{"path": "x.csv", "stream": "contacts"}]},
                     "streams": {"contacts": {"mapping": "faker_users"}}}}
    cfg = make_config(tmp_path, store_url, {"crm": {"connector": "recorder", "mapping": "out_test", "mode": "mirror",
                                                    "after": ["crm"]}}, connections=conns)
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(2)])
    sync_destination(cfg, store, "crm")
    sync_destination(cfg, store, "crm")
    with store.transaction() as conn:  # the upstream ingest failed
        from hub.store.runs import StreamCounts
        run = start_run(conn, "ingest", "crm")
        finish_run(conn, run, "failed", StreamCounts(), "boom")
    delete_profile(store, ids[0])
    recorder.batches.clear()
    result = sync_destination(cfg, store, "crm")
    assert recorder.batches == [] and "withheld" in result.error
    delete_profile(store, ids[1])  # and an empty upstream
    with store.transaction() as conn:
        run = start_run(conn, "ingest", "crm")
        finish_run(conn, run, "succeeded", StreamCounts(), None)
    result = sync_destination(cfg, store, "crm")
    assert recorder.batches == [] and "empty" in result.error


def test_a_destination_never_syncs_twice_at_once(tmp_path, store_url, recorder):
    cfg, store, _ = setup(tmp_path, store_url)
    assert locks.acquire(store, "destination:crm", "otherhost:1:abc")
    result = sync_destination(cfg, store, "crm")
    assert result.status == "skipped" and recorder.batches == []


def test_file_destination_full_offline_round_trip(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = make_config(tmp_path, store_url, {"out": {"connector": "file", "mapping": "out_test",
                                                    "config": {"path": "out/c.csv"}}})
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(3)] + [
        {"person": {"name": {"full": "=HYPERLINK(1)"}, "phones": [{"number": "+8613800000000"}]}}])
    assert sync_destination(cfg, store, "out").status == "succeeded"
    with open(tmp_path / "out/c.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["custhub_id"] for r in rows] == ids
    assert rows[3]["name"] == "'=HYPERLINK(1)" and rows[3]["phone"] == "+8613800000000"
    update_profile(store, ids[0], {"person": {"emails": [{"address": "z@x.org"}]}})
    sync_destination(cfg, store, "out")
    with open(tmp_path / "out/c.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and rows[0]["email"] == "z@x.org" and rows[0]["name"] == ""  # on_missing: clear


def test_sql_destination_upserts_one_row_per_profile(tmp_path, store_url):
    target = f"sqlite:///{tmp_path / 'crm.db'}"
    cfg = make_config(tmp_path, store_url, {"db": {"connector": "sql", "mapping": "out_test",
                                                   "config": {"url": target, "table": "contacts"}}})
    store = open_store(store_url)
    ids = seed_profiles(store, [person(i) for i in range(3)])
    sync_destination(cfg, store, "db")
    update_profile(store, ids[2], person(42))
    sync_destination(cfg, store, "db")
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        got = conn.exec_driver_sql("SELECT custhub_id, email FROM contacts ORDER BY custhub_id").all()
    engine.dispose()
    assert [tuple(r) for r in got] == [(ids[0], "p0@example.com"), (ids[1], "p1@example.com"),
                                       (ids[2], "p42@example.com")]


@pytest.mark.parametrize(("raw", "error"), [
    ({"name": "m", "key": "id", "fields": {"a": {"form": "x"}}}, "m.yaml: fields.a.form: unknown key 'form' "
                                                                 "(did you mean 'from'?)"),
    ({"name": "m", "key": "id", "fields": {"a": {"from": "x", "on_missing": "drop"}}},
     "m.yaml: fields.a.on_missing: unknown on_missing 'drop' (use skip or clear)"),
    ({"name": "m", "key": "id", "fields": {"a": "person..x"}}, "m.yaml: fields.a.from: 'person..x' is not a path"),
    ({"name": "other", "key": "id", "fields": {"a": "x"}}, "m.yaml: name: name 'other' differs from the file name"),
    ({"name": "m", "fields": {"a": "x"}}, "m.yaml: (top level): missing 'key'"),
    ({"name": "m", "key": "id", "fields": {"a": {"from": "x", "const": 1}}},
     "m.yaml: fields.a: needs exactly one of 'from' and 'const'"),
])
def test_outbound_mapping_errors_name_file_path_and_fix(raw, error):
    with pytest.raises(ConfigError) as info:
        compile_outmap(raw, "m.yaml")
    assert str(info.value).startswith(error)


def test_on_missing_clear_sends_null_and_skip_leaves_the_field_out():
    m = compile_outmap({"name": "m", "key": "id", "fields": {
        "A": {"from": "person.title", "on_missing": "clear"}, "B": "person.title",
        "C": {"from": ["person.employer", "organization.name"]}, "D": {"const": "x"}}}, "m.yaml")
    assert m.apply({"organization": {"name": "Org"}}, "p1") == {"id": "p1", "A": None, "C": "Org", "D": "x"}


def test_cli_sync_dry_run_and_runs_show(tmp_path, store_url, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = make_config(tmp_path, store_url, {"out": {"connector": "file", "mapping": "out_test",
                                                    "config": {"path": "c.jsonl"}}})
    store = open_store(store_url)
    seed_profiles(store, [person(i) for i in range(2)])
    assert run_cli("--config", str(cfg.file), "sync", "out", "--dry-run") == 0
    assert "nothing sent" in capsys.readouterr().out and not (tmp_path / "c.jsonl").exists()
    assert run_cli("--config", str(cfg.file), "sync", "out") == 0
    run_id = rows_of(store, "SELECT max(id) FROM runs")[0][0]
    capsys.readouterr()
    assert run_cli("--config", str(cfg.file), "runs", "show", str(run_id)) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out and "crm:contacts:p0000000" in out and "p0@example.com" not in out


def test_the_public_api_is_deliberate():
    import hub.sync

    assert sorted(hub.sync.__all__) == ["AuthExpired", "BatchRejected", "DestinationConnector", "GoldenProfile",
                                        "OutRow", "RateLimited", "RowResult", "SyncResult", "Transient",
                                        "UnknownOutcome", "Writer", "iter_profiles", "sync_destination"]
    assert all(getattr(hub.sync, name) for name in hub.sync.__all__)
    from connectors.destinations import DESTINATIONS
    from hub.sync.destination import DestinationConnector

    assert {d.name for d in DESTINATIONS} == {"file", "sql", "zoho", "hubspot", "fxiaoke"}
    assert all(isinstance(d, DestinationConnector) for d in DESTINATIONS)


def test_file_destination_on_a_directory_is_a_clear_one_line_error(tmp_path):
    from connectors.destinations.files import FileWriter
    from hub.errors import ConnectorError

    target = tmp_path / "out.csv"
    target.mkdir()
    with pytest.raises(ConnectorError, match=r"file destination cannot read .*out\.csv \(IsADirectoryError"):
        FileWriter({"path": str(target)}, "custhub_id")
