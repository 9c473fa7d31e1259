"""Ingest stores PII only sealed: encrypted columns, keyed hashes, suppression, consent capture, failpoints."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bench.datagen import HEADER
from hub.cleaning import Cleaner
from hub.config import load_config
from hub.ingest.commit import store_batch
from hub.ingest.pipeline import mapping_digest, mapping_for, run_connection
from hub.ingest.processor import StreamProcessor
from hub.ingest.retry import retry_quarantined
from hub.privacy import keys, rewrap, runtime
from hub.privacy.crypto import kid_of
from hub.privacy.keys import generate_kek
from hub.privacy.rewrap import plaintext_count, registered_targets
from hub.privacy.suppression import suppress_record
from hub.privacy.tables import privacy_consent_events
from hub.store import Store, records
from hub.store.schema import quarantine, source_records
from tests.helpers import REPO, table_rows

NAME, PHONE, EMAIL = "欧阳娜娜", "13987654321", "sentinel.ouyang@example.cn"


def signup(no: int, name: str = "王伟", phone: str = "13800138000", email: str | None = None,
           consent: str = "是") -> dict[str, str]:
    return {"序号": str(no), "姓名": name, "手机": phone, "邮箱": email or f"user{no}@example.com",
            "公司": "华信科技", "职位": "工程师", "城市": "深圳", "省份": "广东", "签到": "否",
            "报名时间": "2026-03-07 08:38", "同意接收资讯": consent}


def write_signups(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


def make_config(tmp_path: Path, rows: list[dict[str, str]], *, workers: int = 1, batch_size: int = 500,
                checkpoint_every: int = 5000) -> Path:
    write_signups(tmp_path / "signups.csv", rows)
    config = {
        "version": 1, "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "ingest": {"batch_size": batch_size, "workers": workers},
        "identity": {"resolve_after_ingest": False},
        "connections": {"expo": {
            "source": "file",
            "config": {"files": [{"path": "signups.csv", "stream": "signups", "primary_key": ["序号"]}],
                       "checkpoint_every": checkpoint_every},
            "streams": {"signups": {"mapping": "exhibition_signup"}}}},
    }
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return path


def ingest(config_path: Path, *, full_refresh: bool = False):
    config = load_config(config_path)
    store = Store.open(config.store_url)
    result = run_connection(config, store, "expo", full_refresh=full_refresh)
    return config, store, result


@pytest.fixture(autouse=True)
def _fresh_runtime():
    runtime.deactivate()
    yield
    runtime.deactivate()


def store_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("store.db*")))


@pytest.mark.parametrize("workers", [1, 2])
def test_sealed_columns_hold_no_plaintext(tmp_path, workers):
    rows = [signup(i) for i in range(1, 7)]
    rows.append(signup(7, name=NAME, phone=PHONE, email=EMAIL))
    rows.append(signup(8, name=NAME, phone=PHONE, email="not-an-email"))  # quarantined: its raw is sealed too
    config_path = make_config(tmp_path, rows, workers=workers, batch_size=2)
    _, store, result = ingest(config_path)
    assert (result.totals.inserted, result.totals.quarantined) == (7, 1)
    store.engine.dispose()

    data = store_bytes(tmp_path)
    for value in (NAME, PHONE, EMAIL, "+86" + PHONE, "sentinel.ouyang"):
        for encoding in ("utf-8", "gb18030", "utf-16-le", "utf-16-be"):
            assert value.encode(encoding) not in data, (value, encoding)

    with store.reading() as conn:
        for target in registered_targets():
            if target.table.name in ("source_records", "quarantine"):
                assert plaintext_count(conn, target) == 0
        row = conn.execute(select(source_records).where(source_records.c.source_pk == "7")).mappings().one()
        bad = conn.execute(select(quarantine)).mappings().one()
    # Readers go through the codec and get the values back.
    canonical = records.open_canonical("expo", "signups", "7", row["canonical"])
    assert canonical["person"]["name"]["full"] == NAME
    assert canonical["person"]["phones"][0]["number"] == "+86" + PHONE
    assert records.open_raw("expo", "signups", "7", row["raw"])["邮箱"] == EMAIL
    assert records.open_quarantine_raw("expo", "signups", "8", bad["raw"])["姓名"] == NAME
    assert NAME not in bad["reasons"] and "not-an-email" not in bad["reasons"]
    assert len(row["record_hash"]) == 32


def test_a_second_run_changes_nothing_and_retry_reads_sealed_rows(tmp_path):
    rows = [signup(1), signup(2, email="broken")]
    config_path = make_config(tmp_path, rows)
    ingest(config_path)
    _, _, again = ingest(config_path, full_refresh=True)
    assert (again.totals.inserted, again.totals.updated, again.totals.unchanged) == (0, 0, 1)

    # Fix the source row in the stored quarantine payload's place: retry re-reads the sealed raw.
    config = load_config(config_path)
    store = Store.open(config.store_url)
    result = retry_quarantined(config, store)
    assert (result.resolved, result.still_bad) == (0, 1)  # still an invalid e-mail, read back fine


def test_record_hash_is_keyed_per_store(tmp_path, monkeypatch):
    hashes = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.setenv("CUSTHUB_KEK", generate_kek())
        runtime.deactivate()
        ingest(make_config(folder, [signup(1)]))
        hashes.append(table_rows(f"sqlite:///{folder / 'store.db'}", "SELECT record_hash FROM source_records")[0][0])
    assert hashes[0] != hashes[1]
    assert all(len(h) == 32 for h in hashes)


def test_suppressed_record_is_quarantined_not_stored(tmp_path):
    config_path = make_config(tmp_path, [signup(1), signup(2, phone=PHONE, email=EMAIL)])
    config = load_config(config_path)
    store = Store.open(config.store_url)
    active = runtime.ensure_active(store.engine, config.privacy, config.base_dir)
    erased = {"person": {"phones": [{"number": "+86" + PHONE}]}}
    with store.transaction() as conn:
        suppress_record(conn, active.indexer, erased)

    _, _, result = ingest(config_path)
    assert (result.totals.inserted, result.totals.quarantined) == (1, 1)
    assert table_rows(config.store_url, "SELECT source_pk FROM source_records") == [("1",)]
    [(pk, stage, reasons, raw)] = table_rows(config.store_url, "SELECT source_pk, stage, reasons, raw FROM quarantine")
    assert (pk, stage, reasons) == ("2", "suppression", '["suppressed"]')
    assert records.open_quarantine_raw("expo", "signups", "2", raw) == {}  # the payload is not kept

    # Retry leaves it alone, and a re-run does not bring the person back.
    assert retry_quarantined(config, store).resolved == 0
    _, _, again = ingest(config_path, full_refresh=True)
    assert table_rows(config.store_url, "SELECT count(*) FROM source_records") == [(1,)]
    assert again.totals.quarantined == 1


def test_suppression_found_after_records_were_processed_without_digests(tmp_path):
    """Batches handed to processing while the list was empty are checked at commit all the same."""
    config = load_config(make_config(tmp_path, [signup(1)]))
    store = Store.open(config.store_url)
    active = runtime.ensure_active(store.engine, config.privacy, config.base_dir)
    mapping = mapping_for(config, "exhibition_signup")
    processor = StreamProcessor("expo", "signups", mapping, Cleaner(), (("序号",),), mapping_digest(mapping))
    good, bad = processor.process([{**signup(1, phone=PHONE), "_row": 1}], "2026-01-01T00:00:00+00:00",
                                  digests=False)
    assert good[0][4] is None and not bad
    with store.transaction() as conn:
        suppress_record(conn, active.indexer, {"person": {"phones": [{"number": "+86" + PHONE}]}})
        stored = store_batch(conn, "expo", "signups", good, bad, 1, datetime.now(UTC))
    assert (stored.counts.inserted, stored.quarantined) == (0, 1)


def test_consents_go_to_the_ledger_once(tmp_path):
    rows = [signup(1), signup(2, consent="否"), signup(3, consent="")]
    config_path = make_config(tmp_path, rows)
    _, store, _ = ingest(config_path)
    with store.reading() as conn:
        events = conn.execute(select(privacy_consent_events)).mappings().all()
        ids = dict(conn.execute(select(source_records.c.source_pk, source_records.c.id)).all())
    by_subject = {e["subject"]: e for e in events}
    assert f"record:{ids['1']}" in by_subject
    first = by_subject[f"record:{ids['1']}"]
    assert (first["purpose"], first["status"], first["source_record"]) == ("marketing", "granted",
                                                                          f"record:{ids['1']}")
    assert first["source_connection"] == "expo" and first["recorded_by"] == "ingest"
    count = len(events)
    assert count >= 1

    ingest(config_path, full_refresh=True)  # unchanged records: nothing new
    with store.reading() as conn:
        assert len(conn.execute(select(privacy_consent_events)).all()) == count

    # A changed record adds only the events the ledger does not hold yet for it.
    rows[0]["公司"] = "旭日贸易"
    write_signups(tmp_path / "signups.csv", rows)
    _, _, result = ingest(config_path, full_refresh=True)
    assert result.totals.updated == 1
    with store.reading() as conn:
        assert len(conn.execute(select(privacy_consent_events)).all()) == count


def test_a_consent_repeated_in_one_record_or_batch_is_one_ledger_row_each_record(tmp_path):
    config = load_config(make_config(tmp_path, [signup(1)]))
    store = Store.open(config.store_url)
    runtime.ensure_active(store.engine, config.privacy, config.base_dir)
    mapping = mapping_for(config, "exhibition_signup")
    processor = StreamProcessor("expo", "signups", mapping, Cleaner(), (("序号",),), mapping_digest(mapping))
    good, _ = processor.process([signup(1), signup(2)], "2026-01-01T00:00:00+00:00")
    twice = [(*g[:5], g[5] + g[5]) for g in good]  # each record carries its consent twice
    with store.transaction() as conn:
        stored = store_batch(conn, "expo", "signups", twice, [], 1, datetime.now(UTC))
    assert stored.consents == 2
    with store.reading() as conn:
        subjects = conn.execute(select(privacy_consent_events.c.subject)).scalars().all()
    assert len(subjects) == len(set(subjects)) == 2


def test_a_new_record_gets_all_its_consents_even_on_a_reused_row_id(tmp_path):
    """SQLite gives a deleted last row's id to the next insert: the ledger's events for that id were
    the erased record's, and must not stand in for the new record's own."""
    config = load_config(make_config(tmp_path, [signup(1)]))
    store = Store.open(config.store_url)
    runtime.ensure_active(store.engine, config.privacy, config.base_dir)
    mapping = mapping_for(config, "exhibition_signup")
    processor = StreamProcessor("expo", "signups", mapping, Cleaner(), (("序号",),), mapping_digest(mapping))
    good, _ = processor.process([signup(1)], "2026-01-01T00:00:00+00:00")
    with store.transaction() as conn:
        store_batch(conn, "expo", "signups", good, [], 1, datetime.now(UTC))
        old_id = conn.execute(select(source_records.c.id)).scalar_one()
        conn.execute(source_records.delete())  # the record is gone; its ledger rows stay as evidence
    good, _ = processor.process([signup(2)], "2026-01-01T00:00:00+00:00")  # the same consent and time
    with store.transaction() as conn:
        stored = store_batch(conn, "expo", "signups", good, [], 2, datetime.now(UTC))
        new_id = conn.execute(select(source_records.c.id)).scalar_one()
        subjects = conn.execute(select(privacy_consent_events.c.subject)).scalars().all()
    assert new_id == old_id
    assert stored.consents == 1 and subjects == [f"record:{new_id}"] * 2


def test_rewrap_targets_are_registered():
    names = {t.name for t in registered_targets()}
    assert {"source_records.raw+canonical", "quarantine.raw"} <= names


@pytest.mark.parametrize("name", ["ingest.mid_batch", "ingest.before_commit", "ingest.after_commit"])
def test_failpoints_kill_where_named(tmp_path, name):
    rows = [signup(i) for i in range(1, 41)]
    config_path = make_config(tmp_path, rows, batch_size=10, checkpoint_every=10)
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUSTHUB_FAILPOINT": f"{name}:2"}
    proc = subprocess.run([sys.executable, "-m", "hub", "--config", str(config_path), "run"], cwd=REPO,
                          env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-500:]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    stored = table_rows(url, "SELECT count(*) FROM source_records")[0][0]
    state_rows = table_rows(url, "SELECT state FROM stream_state WHERE stream = 'signups'")
    # Killed in the 2nd batch's transaction: only the first batch (and its state) is committed;
    # killed after the 2nd commit: both are.
    expected = 20 if name == "ingest.after_commit" else 10
    assert stored == expected
    assert len(state_rows) == 1 and f'"offset": {expected}' in state_rows[0][0]

    runtime.deactivate()
    _, _, result = ingest(config_path)  # the rerun completes: every record once
    assert result.status == "succeeded"
    assert table_rows(url, "SELECT count(*) FROM source_records")[0][0] == 40


def test_rewrap_reseals_ingested_columns_under_a_new_key(tmp_path):
    config_path = make_config(tmp_path, [signup(1, name=NAME), signup(2, email="broken")])
    config, store, _ = ingest(config_path)
    with store.transaction() as conn:
        new_kid = keys.rotate_data_key(conn, keys.load_kek())
    active = runtime.activate(store.engine, config.privacy, config.base_dir)
    for target in (records.RECORDS_TARGET, records.QUARANTINE_TARGET):
        result = rewrap.rewrap(store.engine, active.cipher, target)
        assert result.values_resealed == len(target.value_columns)
    with store.reading() as conn:
        row = conn.execute(select(source_records)).mappings().one()
        bad = conn.execute(select(quarantine)).mappings().one()
    assert kid_of(row["raw"]) == kid_of(row["canonical"]) == kid_of(bad["raw"]) == new_kid
    assert records.open_canonical("expo", "signups", "1", row["canonical"])["person"]["name"]["full"] == NAME
    assert records.open_quarantine_raw("expo", "signups", "2", bad["raw"])["邮箱"] == "broken"
