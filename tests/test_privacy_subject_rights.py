"""Subject rights (T19, T20), the retention purge (T28) and the one-off encrypt-plaintext pass.

The example's Zhang Wei is one profile of three records (CRM export, expo sign-up, web form); an
extra bad web-form row of his is quarantined. ``custhub privacy export`` finds him by profile id,
e-mail or a differently written phone; ``custhub privacy erase`` removes him from the store and
every destination, suppresses his identifiers, is audited and can run again.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import insert, select

from hub.privacy import audit, rewrap
from hub.privacy.crypto import is_ciphertext
from hub.privacy.retention import purge
from hub.privacy.runtime import current
from hub.privacy.settings import parse_privacy
from hub.store import Store
from tests.helpers import copy_example, run_cli, table_rows
from tests.test_privacy_helpers import DEMO_TARGET, demo_metadata, demo_people

EMAIL = "zhang.wei@huaxin-tech.cn"
CSV_HEADER = ("submission_id,first_name,last_name,email,phone,company,job_title,country,message,"
              "submitted_at,consent_marketing")
BAD_ROW = f"Z-9,Wei,Zhang,{EMAIL},138 0013 8000 999,Huaxin,Manager,CN,call me,2026-03-02T09:15:00+00:00,true"


def example(tmp_path: Path, **privacy) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    path = copy_example(tmp_path, url)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["privacy"] = {"cli_roles": ["dpo"], **privacy}
    (tmp_path / "extra.csv").write_text(f"{CSV_HEADER}\n{BAD_ROW}\n", "utf-8")
    data["connections"]["extra"] = {"source": "file", "config": {"files": [
        {"path": str(tmp_path / "extra.csv"), "stream": "contact_form", "primary_key": ["submission_id"]}]},
        "streams": {"contact_form": {"mapping": "webform_contact"}}}
    data["destinations"]["contacts_file"]["config"]["path"] = str(tmp_path / "out" / "contacts.csv")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return str(path), url


def zhang(url: str) -> int:
    return table_rows(url, "SELECT m.profile_id FROM identity_members m JOIN source_records s ON s.id = m.record_id "
                           "WHERE s.connection = 'crm_export' AND s.source_pk = 'C-0001'")[0][0]


def actions(url: str) -> list:
    store = Store.open(url)
    with store.reading() as conn:
        found = [e for e in reversed(audit.show(conn, limit=1000)) if e.action not in ("config_change", "key_init")]
    store.close()
    return found


def test_access_request_by_profile_email_or_phone(tmp_path, capsys):
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run") == 0
    assert run_cli("--config", config, "sync") == 0
    profile = zhang(url)
    capsys.readouterr()
    assert run_cli("--config", config, "privacy", "export", str(profile)) == 2  # operator: refused
    assert "may not" in capsys.readouterr().err
    docs = []
    for how in ([str(profile)], ["--email", "Zhang.Wei@HUAXIN-tech.cn"], ["--phone", "+86 138-0013-8000"]):
        out = tmp_path / "dsar.json"
        assert run_cli("--config", config, "privacy", "export", *how, "--as-role", "dpo", "--out", str(out),
                       "--request-id", "ticket-42") == 0
        docs.append(json.loads(out.read_text("utf-8")))
    for doc in docs:
        assert [p["profile_id"] for p in doc["profiles"]] == [profile]
        assert sorted((r["lineage"]["connection"], r["lineage"]["source_pk"]) for r in doc["source_records"]) == [
            ("crm_export", "C-0001"), ("expo_2026_signups", "1"), ("website_forms", "wf-1002")]
        assert all(r["lineage"]["read_at"] and r["as_received"] and r["canonical"] for r in doc["source_records"])
        assert [(q["connection"], q["source_pk"]) for q in doc["quarantine"]] == [("extra", "Z-9")]
        assert [r["destination"] for r in doc["recipients"]] == ["contacts_file"]
        assert doc["request"]["id"] == "ticket-42"
    assert EMAIL in json.dumps(docs[0], ensure_ascii=False)  # the person's own data, in clear
    dsars = [e for e in actions(url) if e.action == "dsar"]
    assert len(dsars) == 3 and all(e.request_id == "ticket-42" and e.role == "dpo" and e.row_count == 5 for e in dsars)
    assert f"profile:{profile}" in dsars[0].subjects
    assert EMAIL not in json.dumps(table_rows(url, "SELECT * FROM privacy_audit_log"))


@dataclass
class FakeErasure:
    destination: str
    status: str
    detail: str = ""


def test_erase_removes_the_person_everywhere_suppresses_and_can_run_again(tmp_path, capsys, monkeypatch):
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run") == 0
    assert run_cli("--config", config, "sync") == 0
    profile = zhang(url)
    records = [r for (r,) in table_rows(url, f"SELECT record_id FROM identity_members WHERE profile_id = {profile}")]  # noqa: S608
    calls = []
    outcome = {"status": "failed"}

    def erase_in_destinations(store, cfg, profile_ids):  # noqa: ANN001, ANN202
        calls.append(list(profile_ids))
        return [FakeErasure("contacts_file", outcome["status"], "HTTP 503" if outcome["status"] == "failed" else "")]

    fake = types.ModuleType("hub.sync.erase")
    fake.erase_in_destinations = erase_in_destinations
    monkeypatch.setitem(sys.modules, "hub.sync.erase", fake)
    capsys.readouterr()
    assert run_cli("--config", config, "privacy", "erase", "--email", EMAIL, "--as-role", "dpo", "--yes",
                   "--request-id", "erase-1") == 1  # the destination failed: exit 1, store erased anyway
    captured = capsys.readouterr()
    assert "contacts_file" in captured.out and "failed" in captured.out and "run the same command" in captured.err
    assert calls == [[str(profile)]]
    ids = ",".join(map(str, records))
    for sql in (f"SELECT COUNT(*) FROM source_records WHERE id IN ({ids})",  # noqa: S608
                f"SELECT COUNT(*) FROM identity_keys WHERE record_id IN ({ids})",  # noqa: S608
                f"SELECT COUNT(*) FROM identity_members WHERE profile_id = {profile}",  # noqa: S608
                f"SELECT COUNT(*) FROM identity_profiles WHERE id = {profile}",  # noqa: S608
                f"SELECT COUNT(*) FROM identity_links WHERE record_a IN ({ids}) OR record_b IN ({ids})",  # noqa: S608
                f"SELECT COUNT(*) FROM sync_outbox WHERE profile_id = '{profile}'",  # noqa: S608
                "SELECT COUNT(*) FROM quarantine WHERE source_pk = 'Z-9'"):
        assert table_rows(url, sql) == [(0,)], sql
    assert table_rows(url, "SELECT COUNT(*) FROM sync_links WHERE profile_id = :p".replace(":p", f"'{profile}'"))[0][0]
    kinds = {k for (k,) in table_rows(url, "SELECT kind FROM privacy_suppression")}
    assert {"email", "phone", "crm_id"} <= kinds
    erase, suppress = [e for e in actions(url) if e.action in ("erase", "suppress")]
    assert erase.outcome == "partial" and erase.request_id == "erase-1" and erase.row_count > 0
    assert "destination:contacts_file" in erase.subjects and f"profile:{profile}" in erase.subjects
    assert suppress.row_count == len(kinds)
    assert EMAIL not in json.dumps(table_rows(url, "SELECT * FROM privacy_audit_log"))

    outcome["status"] = "deleted"  # retry: the store part is done, the destination gets it again
    assert run_cli("--config", config, "privacy", "erase", str(profile), "--as-role", "dpo", "--yes") == 0
    assert calls[-1] == [str(profile)]
    out = capsys.readouterr().out
    assert "nothing left to delete" in out and "0 identifier(s) added" in out
    out_doc = tmp_path / "after.json"
    assert run_cli("--config", config, "privacy", "export", "--email", EMAIL, "--as-role", "dpo",
                   "--out", str(out_doc)) == 0
    doc = json.loads(out_doc.read_text("utf-8"))
    assert doc["profiles"] == [] and doc["source_records"] == [] and doc["quarantine"] == []


def test_erase_refuses_without_a_destination_eraser(tmp_path, capsys, monkeypatch):
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run") == 0
    monkeypatch.setitem(sys.modules, "hub.sync.erase", None)  # import fails
    before = table_rows(url, "SELECT COUNT(*) FROM source_records")
    assert run_cli("--config", config, "privacy", "erase", "--email", EMAIL, "--as-role", "dpo", "--yes") == 2
    assert "nothing was erased" in capsys.readouterr().err
    assert table_rows(url, "SELECT COUNT(*) FROM source_records") == before


def test_erased_person_is_not_reimported(tmp_path, capsys):
    """T19/T20 with the real destination eraser and the ingest suppression check (other steps)."""
    pytest.importorskip("hub.sync.erase")
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run") == 0
    assert run_cli("--config", config, "sync") == 0
    profiles = table_rows(url, "SELECT COUNT(*) FROM identity_profiles WHERE status = 'active'")[0][0]
    assert run_cli("--config", config, "privacy", "erase", "--email", EMAIL, "--as-role", "dpo", "--yes") == 0
    out = capsys.readouterr().out
    assert "contacts_file" in out and ("deleted" in out or "anonymised" in out)
    assert run_cli("--config", config, "run", "--full-refresh") in (0, 3)
    assert table_rows(url, "SELECT COUNT(*) FROM source_records WHERE source_pk IN ('C-0001', 'wf-1002')") == [(0,)]
    reasons = " ".join(r for (r,) in table_rows(url, "SELECT reasons FROM quarantine"))
    assert "suppressed" in reasons
    assert table_rows(url, "SELECT COUNT(*) FROM identity_profiles WHERE status = 'active'")[0][0] == profiles - 1


# ----------------------------------------------------------------------------- retention (T28)

def test_purge_applies_each_limit_once(tmp_path):
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run") == 0
    store = Store.open(url)
    settings = parse_privacy({"retention": {"raw_payload": "30d", "quarantine": "60d", "inactive_profile": "24m"}})
    records = table_rows(url, "SELECT COUNT(*) FROM source_records")[0][0]
    quarantined = table_rows(url, "SELECT COUNT(*) FROM quarantine")[0][0]
    now = datetime.now(UTC)
    with store.transaction() as conn:
        assert purge(conn, settings, now=now).total == 0  # nothing has expired yet
        first = purge(conn, settings, now=now + timedelta(days=31))
        assert first.counts["raw_payloads"] == records and first.counts["quarantine_rows"] == 0
        assert purge(conn, settings, now=now + timedelta(days=31)).total == 0  # idempotent
        assert purge(conn, settings, now=now + timedelta(days=61)).counts["quarantine_rows"] == quarantined
        last = purge(conn, settings, now=now + timedelta(days=731))
        assert last.counts["inactive_profiles"] > 0 and last.counts["records_of_inactive_profiles"] == records
        assert last.counts["identity_keys"] > 0
        assert purge(conn, settings, now=now + timedelta(days=731)).total == 0
    store.close()
    for table in ("source_records", "identity_keys", "identity_members", "identity_profiles", "quarantine"):
        assert table_rows(url, f"SELECT COUNT(*) FROM {table}") == [(0,)], table  # noqa: S608


def test_purge_command_is_audited_and_runs_after_run_when_configured(tmp_path, capsys):
    config, url = example(tmp_path, purge_after_run=True, retention={"quarantine": "1d"})
    assert run_cli("--config", config, "run") == 0
    assert table_rows(url, "SELECT COUNT(*) FROM quarantine")[0][0] > 0
    capsys.readouterr()
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat(sep=" ")
    store = Store.open(url)
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE quarantine SET updated_at = ?", (old,))
    store.close()
    quarantined = table_rows(url, "SELECT COUNT(*) FROM quarantine")[0][0]
    assert run_cli("--config", config, "privacy", "purge") == 0
    assert f"quarantine_rows {quarantined}" in capsys.readouterr().out
    assert run_cli("--config", config, "privacy", "purge") == 0
    assert "nothing has expired" in capsys.readouterr().out
    purges = [e for e in actions(url) if e.action == "purge"]
    assert len(purges) == 1 and purges[0].row_count == quarantined and purges[0].fields == ("quarantine_rows",)
    # purge_after_run: quarantine rows of this run are young, so the purge after it removes nothing new
    assert run_cli("--config", config, "run", "--full-refresh") == 0
    assert len([e for e in actions(url) if e.action == "purge"]) == 1


# ----------------------------------------------------------------------------- encrypt plaintext

def test_encrypt_plaintext_seals_rows_written_before_encryption(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    assert run_cli("--config", str(config), "keys", "status") == 0  # creates the store and its keys
    store = Store.open(url)
    demo_metadata.create_all(store.engine)
    with store.transaction() as conn:
        conn.execute(insert(demo_people), [{"id": i, "tag": "t", "name_enc": f"欧阳娜娜{i}",
                                            "phone_enc": "13912345678" if i % 2 else None} for i in range(1, 8)])
    rewrap.register_target(DEMO_TARGET)
    try:
        capsys.readouterr()
        assert run_cli("--config", str(config), "keys", "encrypt-plaintext", "--dry-run") == 0
        assert "demo_people.name_enc+phone_enc: 11 plaintext value(s)" in capsys.readouterr().out
        assert run_cli("--config", str(config), "keys", "encrypt-plaintext", "--batch-size", "3") == 0
        assert "11 value(s) sealed" in capsys.readouterr().out
        assert run_cli("--config", str(config), "keys", "encrypt-plaintext") == 0
        assert "0 plaintext value(s)" in capsys.readouterr().out
        with store.reading() as conn:
            rows = conn.execute(select(demo_people).order_by(demo_people.c.id)).mappings().all()
            assert rewrap.plaintext_count(conn, DEMO_TARGET) == 0
        runtime = current()
        for row in rows:
            assert is_ciphertext(row["name_enc"])
            assert runtime.open("demo_people", "name_enc", row["id"], row["name_enc"]) == f"欧阳娜娜{row['id']}"
            assert row["phone_enc"] is None or runtime.open("demo_people", "phone_enc", row["id"],
                                                            row["phone_enc"]) == "13912345678"
        assert [e.row_count for e in actions(url) if e.action == "key_rewrap"] == [11]
    finally:
        rewrap.unregister_target(DEMO_TARGET.name)
        store.close()
