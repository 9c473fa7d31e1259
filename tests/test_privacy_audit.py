"""The HMAC-chained audit log: exact tamper location, checkpoints outside the DB, no values (T24, T25)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from hub.privacy import audit, keys
from hub.privacy.errors import AuditError
from hub.privacy.tables import privacy_audit_log
from hub.store import Store
from tests.helpers import copy_example, run_cli
from tests.test_privacy_helpers import SENTINELS, keyed_store, open_store

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _fill(store, key, n):
    with store.transaction() as conn:
        for i in range(1, n + 1):
            audit.record(conn, key=key, actor=f"user{i % 3}", role="marketing", purpose="campaign", action="export",
                         subjects=[f"profile:{i}"], fields=["person.emails[].address", "person.name.full"],
                         row_count=i, at=T0 + timedelta(seconds=i))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """10,000 entries written once; each test gets its own copy of the database file."""
    folder = tmp_path_factory.mktemp("audit-template")
    store, _, keyring = keyed_store(folder)
    _fill(store, keyring.audit_key, 10_000)
    store.close()
    return folder / "store.db", keyring.audit_key


@pytest.fixture
def logged(template, tmp_path):
    source, key = template
    shutil.copyfile(source, tmp_path / "store.db")
    return open_store(tmp_path), key, tmp_path / "checkpoints.jsonl"


def _verify(store, key, path=None):
    with store.reading() as conn:
        return audit.verify(conn, key, path)


def test_clean_log_verifies(logged):
    store, key, path = logged
    assert audit.export_checkpoint(store.engine, key, path)[0] == 10_000
    result = _verify(store, key, path)
    assert result.ok and result.entries == 10_000 and result.checkpoints_checked == 1


def test_an_edited_entry_is_found_at_its_exact_seq(logged):
    store, key, _ = logged
    with store.transaction() as conn:
        conn.execute(update(privacy_audit_log).where(privacy_audit_log.c.seq == 4321).values(row_count=1))
    result = _verify(store, key)
    assert [(p.seq, p.kind) for p in result.problems] == [(4321, "altered")]


def test_a_deleted_entry_is_found_at_its_exact_seq(logged):
    store, key, _ = logged
    with store.transaction() as conn:
        conn.execute(delete(privacy_audit_log).where(privacy_audit_log.c.seq == 777))
    assert [(p.seq, p.kind) for p in _verify(store, key).problems] == [(777, "missing")]


def test_a_cut_tail_is_caught_by_the_checkpoint_only(logged):
    store, key, path = logged
    audit.export_checkpoint(store.engine, key, path)
    with store.transaction() as conn:
        conn.execute(delete(privacy_audit_log).where(privacy_audit_log.c.seq > 9_990))
    assert _verify(store, key).ok  # a chain alone cannot see its missing tail ...
    problems = _verify(store, key, path).problems  # ... the exported checkpoint can
    assert [(p.seq, p.kind) for p in problems] == [(10_000, "truncated")]


def test_a_chain_rewritten_without_the_key_is_caught(logged):
    store, key, path = logged
    audit.export_checkpoint(store.engine, key, path)
    with store.transaction() as conn:  # the attacker re-chains every row with a key of their own
        rows = [dict(r) for r in conn.execute(select(privacy_audit_log).order_by(privacy_audit_log.c.seq)).mappings()]
        prev = audit.GENESIS
        for row in rows:
            row["prev_mac"], row["mac"] = prev, audit.compute_mac(b"k" * 32, prev, audit._body(row))
            prev = row["mac"]
        conn.execute(delete(privacy_audit_log))
        conn.execute(privacy_audit_log.insert(), rows)
    problems = _verify(store, key, path).problems
    assert [(p.seq, p.kind) for p in problems[:3]] == [(1, "altered"), (2, "altered"), (3, "altered")]
    assert (problems[20].kind, problems[20].detail) == ("more", "9980 further problem(s) not listed")
    assert [(p.seq, p.kind) for p in problems[21:]] == [(10_000, "checkpoint_mismatch")]


def test_an_edit_and_a_deletion_are_both_named(logged):
    store, key, _ = logged
    with store.transaction() as conn:
        conn.execute(update(privacy_audit_log).where(privacy_audit_log.c.seq == 10).values(purpose="other"))
        conn.execute(delete(privacy_audit_log).where(privacy_audit_log.c.seq.in_([500, 501])))
        conn.execute(update(privacy_audit_log).where(privacy_audit_log.c.seq == 9000).values(fields="[]"))
    assert [str(p).split(" (")[0] for p in _verify(store, key).problems] == [
        "seq 10: altered: entry does not match its MAC", "seq 500: missing: entry 500..501 deleted",
        "seq 9000: altered: entry does not match its MAC"]


def test_a_forged_checkpoint_line_is_reported(logged):
    store, key, path = logged
    audit.export_checkpoint(store.engine, key, path)
    line = json.loads(path.read_text().splitlines()[0])
    path.write_text(path.read_text() + json.dumps({**line, "seq": 20_000}) + "\n")
    kinds = [p.kind for p in _verify(store, key, path).problems]
    assert kinds == ["bad_checkpoint"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"subjects": ["13800138000"]}, "pseudonymous references"),
    ({"subjects": ["zhang.san@example.com"]}, "pseudonymous references"),
    ({"subjects": ["profile:zhang@example.com"]}, "pseudonymous references"),
    ({"fields": ["张三丰"]}, "field names"),
    ({"fields": ["person.name.full=张三丰"]}, "field names"),
    ({"action": "peek"}, "unknown audit action"),
    ({"purpose": "spaces are not names"}, "short name"),
    ({"row_count": -1}, "negative"),
])
def test_record_refuses_anything_that_is_not_a_reference(tmp_path, kwargs, message):
    store, _, keyring = keyed_store(tmp_path)
    args = {"actor": "cli:me", "role": "admin", "purpose": "support", "action": "read", **kwargs}
    with store.transaction() as conn, pytest.raises(AuditError, match=message) as err:
        audit.record(conn, key=keyring.audit_key, **args)
    assert not any(s in str(err.value) for s in (*SENTINELS, "13800138000", "zhang"))


def test_record_without_an_installed_key_fails_closed(tmp_path):
    store, _, _ = keyed_store(tmp_path)
    audit.install_key(None)
    with store.transaction() as conn, pytest.raises(AuditError, match="not set up"):
        audit.record(conn, actor="a", role="admin", purpose="p", action="read")


def test_periodic_checkpoints(tmp_path):
    store, _, keyring = keyed_store(tmp_path)
    path = tmp_path / "outside" / "cp.jsonl"
    assert audit.checkpoint_if_due(store.engine, keyring.audit_key, path, 10) is None  # empty log
    _fill(store, keyring.audit_key, 25)
    assert audit.checkpoint_if_due(store.engine, keyring.audit_key, path, 10)[0] == 25
    assert audit.checkpoint_if_due(store.engine, keyring.audit_key, path, 10) is None
    _fill(store, keyring.audit_key, 10)
    assert audit.checkpoint_if_due(store.engine, keyring.audit_key, path, 10)[0] == 35
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == [25, 35]


def test_show_filters_by_actor_subject_action_and_time(tmp_path):
    store, _, keyring = keyed_store(tmp_path)
    _fill(store, keyring.audit_key, 30)
    with store.reading() as conn:
        assert [e.seq for e in audit.show(conn, subject="profile:7")] == [7]
        assert [e.seq for e in audit.show(conn, subject="profile:1")] == [1]  # not profile:10..19
        assert {e.actor for e in audit.show(conn, actor="user1")} == {"user1"}
        assert len(audit.show(conn, actor="user1")) == 10
        window = audit.show(conn, since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=13))
        assert [e.seq for e in window] == [12, 11, 10]
        assert audit.show(conn, action="erase") == []


def test_audit_cli_verify_show_checkpoint(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config = str(copy_example(tmp_path, url))
    kek_text = keys.generate_kek()
    monkeypatch.setenv("CUSTHUB_KEK", kek_text)
    assert run_cli("--config", config, "keys", "init") == 0
    store = Store.open(url)
    with store.reading() as conn:
        key = keys.Keyring.load(conn, keys.load_kek()).audit_key
    _fill(store, key, 50)
    assert run_cli("--config", config, "audit", "checkpoint") == 0
    assert (tmp_path / ".custhub" / "audit-checkpoints.jsonl").is_file()
    assert run_cli("--config", config, "audit", "verify") == 0
    assert "51 entries, head seq 51, 1 checkpoint(s) checked: ok" in capsys.readouterr().out
    assert run_cli("--config", config, "audit", "show", "--subject", "profile:12") == 0
    out = capsys.readouterr().out
    assert "profile:12" in out and "person.emails[].address" in out and "profile:13" not in out
    with store.transaction() as conn:
        conn.execute(update(privacy_audit_log).where(privacy_audit_log.c.seq == 20).values(actor="someone"))
    assert run_cli("--config", config, "audit", "verify") == 1
    assert "seq 20: altered" in capsys.readouterr().out
    assert run_cli("--config", config, "audit", "show", "--since", "not a date") == 2


def test_entries_hold_no_values(tmp_path):
    store, _, keyring = keyed_store(tmp_path)
    _fill(store, keyring.audit_key, 5)
    with store.reading() as conn:
        rows = [dict(r) for r in conn.execute(select(privacy_audit_log)).mappings()]
    text = json.dumps(rows, default=str, ensure_ascii=False)
    assert not any(s in text for s in SENTINELS)
