"""T21 and T27: sentinel PII through the whole pipeline leaves no plaintext at rest and none in logs.

A Chinese name, a mobile number in the formats it is cleaned from, an e-mail and a WeChat unionid
go in through a CSV with a consent column, a JSON-lines file, a signed webhook post and a bad row
that is quarantined; then resolve, sync (the file destination's CSV is the CRM's copy and is not
scanned), an access request and an unmasked read. The raw SQLite bytes (with the -wal file) and a
``pg_dump`` of PostgreSQL are then searched for every sentinel in UTF-8, GB18030 and UTF-16-LE/BE.
When a scan finds something, the failure names the tables whose rows still hold it.
Also: swapped or flipped ciphertexts give one controlled error line and exit 1 (T22 a/b).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy
import yaml
from starlette.testclient import TestClient

from hub.config import load_config
from hub.privacy.crypto import is_ciphertext
from hub.server import build_app, server_settings
from hub.store import Store
from tests.helpers import run_cli, table_rows
from tests.webhook_support import SECRETS, generic_body, generic_headers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NAME = "欧阳娜娜"
PHONE_FORMATS = ("13912345678", "139 1234 5678", "+86 139-1234-5678", "139-1234-5678")
EMAIL = "ouyang.nana.t21@sentinel-mail.cn"
EMAIL_UPPER = "OuYang.NaNa.T21@Sentinel-Mail.cn"
UNIONID = "oSentinelUnionT21OuYangNaNa"
SENTINELS = (NAME, *PHONE_FORMATS, EMAIL, EMAIL_UPPER, UNIONID)
ENCODINGS = ("utf-8", "gb18030", "utf-16-le", "utf-16-be")

CSV_HEADER = ("submission_id,first_name,last_name,email,phone,company,job_title,country,message,"
              "submitted_at,consent_marketing")
CSV_ROWS = (
    f"S-1,娜娜,欧阳,{EMAIL},139 1234 5678,Sentinel Co,Manager,CN,hello,2026-03-02T09:15:00+00:00,true",
    f"S-2,娜娜,欧阳,{EMAIL_UPPER},+86 139-1234-5678,Sentinel Co,Manager,CN,again,2026-03-03T09:15:00+00:00,false",
    # the bad row: the phone has too many digits, so it is quarantined with every sentinel in its payload
    f"S-3,娜娜,欧阳 {UNIONID},{EMAIL},13912345678999,Sentinel Co,Manager,CN,{NAME} 13912345678,"
    "2026-03-04T09:15:00+00:00,true",
)


def write_pipeline(tmp_path: Path, store_url: str) -> Path:
    (tmp_path / "broken").mkdir()
    (tmp_path / "forms.csv").write_text("\n".join((CSV_HEADER, *CSV_ROWS)) + "\n", "utf-8")
    follower = {"openid": "oTw1sSentinelOpenid0001", "unionid": UNIONID, "subscribe": 1,
                "subscribe_time": 1710720000, "language": "zh_CN", "remark": NAME, "tagid_list": [2],
                "subscribe_scene": "ADD_SCENE_QR_CODE"}
    (tmp_path / "followers.jsonl").write_text(json.dumps(follower, ensure_ascii=False) + "\n", "utf-8")
    data = {
        "version": 1,
        "store": {"url": store_url},
        "ingest": {"workers": 1},
        "connections": {
            "forms": {"source": "file", "config": {"files": [
                {"path": str(tmp_path / "forms.csv"), "stream": "contact_form", "primary_key": ["submission_id"]}]},
                "streams": {"contact_form": {"mapping": "webform_contact"}}},
            "wechat": {"source": "file", "config": {"files": [
                {"path": str(tmp_path / "followers.jsonl"), "stream": "followers", "primary_key": ["openid"]}]},
                "streams": {"followers": {"mapping": "wechat_followers"}}},
            "webhooks": {"source": "inbox", "streams": {"generic.contact": {"mapping": "webform_generic"}}},
        },
        "server": {"forms": {"contact": {"provider": "generic", "secret": {"$env": "GENERIC_SECRET"}}}},
        "destinations": {
            "crm_file": {"connector": "file", "config": {"path": str(tmp_path / "crm" / "contacts.csv")},
                         "mapping": "out_crm_file", "mode": "upsert"},
            # a failing destination: its path is a directory, so every write fails
            "zz_broken_file": {"connector": "file", "config": {"path": str(tmp_path / "broken")},
                            "mapping": "out_crm_file", "mode": "upsert"}},
        "privacy": {"cli_roles": ["dpo"], "audit": {"checkpoint_file": str(tmp_path / "cp.jsonl")}},
    }
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def post_webhook(config_path: Path) -> None:
    config = load_config(config_path)
    store = Store.open(config.store_url)
    body = generic_body("sentinel-1", name=NAME, email=EMAIL, phone="+86 139 1234 5678", wechat_unionid=UNIONID)
    with TestClient(build_app(server_settings(config), store)) as client:
        assert client.post("/hooks/generic/contact", content=body, headers=generic_headers(body)).status_code == 200
    store.close()


def run_pipeline(config_path: Path, caplog) -> None:  # noqa: ANN001
    config = str(config_path)
    with caplog.at_level(logging.DEBUG):
        post_webhook(config_path)
        assert run_cli("--config", config, "-v", "run") in (0, 3)  # 3: partial (the bad row)
        # zz_broken_file (synced last) fails with DEBUG logging (the file destination lets IsADirectoryError
        # out: exit 70)
        assert run_cli("--config", config, "-v", "sync") in (1, 3, 70)
        (profile,), = table_rows(load_config(config_path).store_url,
                                 "SELECT profile_id FROM identity_members ORDER BY record_id LIMIT 1")
        assert run_cli("--config", config, "-v", "privacy", "export", str(profile), "--as-role", "dpo",
                       "--out", str(config_path.parent / "dsar.json")) == 0
        assert run_cli("--config", config, "-v", "profiles", "show", str(profile), "--as-role", "dpo",
                       "--unmask") == 0
        (qid,), = table_rows(load_config(config_path).store_url, "SELECT id FROM quarantine LIMIT 1")
        assert run_cli("--config", config, "-v", "quarantine", "show", str(qid)) == 0
    dsar = json.loads((config_path.parent / "dsar.json").read_text("utf-8"))
    assert dsar["source_records"], "the access request found the person"


def hits(data: bytes) -> set[str]:
    found = set()
    for sentinel in SENTINELS:
        for encoding in ENCODINGS:
            if sentinel.encode(encoding) in data:
                found.add(f"{sentinel!r}/{encoding}")
    return found


def leaking_tables(store_url: str) -> dict[str, list[str]]:
    """Tables with a row whose text holds a sentinel (for the failure message)."""
    engine = sqlalchemy.create_engine(store_url)
    out: dict[str, list[str]] = {}
    try:
        inspector = sqlalchemy.inspect(engine)
        with engine.connect() as conn:
            for table in inspector.get_table_names():
                text = "\n".join(" ".join(map(str, row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'))  # noqa: S608
                found = sorted({s for s in SENTINELS if s in text or s.lower() in text.lower()})
                if found:
                    out[table] = found
    finally:
        engine.dispose()
    return out


def assert_no_pii_in_logs(caplog, capsys) -> None:  # noqa: ANN001
    captured = capsys.readouterr()
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records) + captured.err
    leaked = sorted({s for s in SENTINELS if s in text})
    assert not leaked, f"logs hold {leaked}"


def test_no_plaintext_pii_in_sqlite_file_or_logs(tmp_path, monkeypatch, caplog, capsys):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "store.db"
    config = write_pipeline(tmp_path, f"sqlite:///{db}")
    run_pipeline(config, caplog)
    assert_no_pii_in_logs(caplog, capsys)
    # the scan sees the sentinels where they must be: the CRM's copy (not scanned) and the access report
    assert hits((tmp_path / "crm" / "contacts.csv").read_bytes())
    assert {f"{NAME!r}/utf-8", f"{UNIONID!r}/utf-8"} <= hits((tmp_path / "dsar.json").read_bytes())
    found = set()
    for suffix in ("", "-wal", "-journal", "-shm"):
        part = Path(f"{db}{suffix}")
        if part.exists():
            found |= hits(part.read_bytes())
    assert not found, f"plaintext in the SQLite file: {sorted(found)}; tables: {leaking_tables(f'sqlite:///{db}')}"


@pytest.mark.postgres
def test_no_plaintext_pii_in_a_postgres_dump(tmp_path, monkeypatch, caplog, capsys, pg_url):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = write_pipeline(tmp_path, pg_url)
    run_pipeline(config, caplog)
    assert_no_pii_in_logs(caplog, capsys)
    plain_url = sqlalchemy.engine.make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run([shutil.which("pg_dump") or "pg_dump", "--no-owner", plain_url], capture_output=True,
                          check=True).stdout
    assert b"COPY public.source_records" in dump and hits((tmp_path / "dsar.json").read_bytes())
    found = hits(dump)
    assert not found, f"plaintext in pg_dump: {sorted(found)}; tables: {leaking_tables(pg_url)}"


# ----------------------------------------------------------------------------- T22 (a)(b) via the CLI

def _sealed_pair(store_url: str) -> tuple[str, list[tuple]]:
    """A sealed column of the store with at least two rows (table, rows of (id, value))."""
    for table, column in (("source_records", "canonical"), ("quarantine", "raw"), ("identity_profiles", "golden")):
        rows = table_rows(store_url, f"SELECT id, {column} FROM {table} ORDER BY id")  # noqa: S608
        if len(rows) >= 2 and all(is_ciphertext(v) for _, v in rows[:2]):
            return f"{table}.{column}", rows[:2]
    return "", []


@pytest.mark.parametrize("damage", ["swap", "flip"])
def test_swapped_or_flipped_ciphertext_is_one_controlled_error(tmp_path, monkeypatch, capsys, damage):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = write_pipeline(tmp_path, url)
    assert run_cli("--config", str(config), "run") in (0, 3)
    where, rows = _sealed_pair(url)
    if not where:
        pytest.xfail("no sealed column with two rows yet: ingest does not seal source records (another step)")
    table, column = where.split(".")
    (id_a, a), (id_b, b) = rows
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        if damage == "swap":
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE id = ?", (b, id_a))  # noqa: S608
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE id = ?", (a, id_b))  # noqa: S608
        else:
            if isinstance(a, bytes):  # a binary token (source records on SQLite): flip one bit
                flipped = a[:-3] + bytes([a[-3] ^ 1]) + a[-2:]
            else:
                flipped = a[:-3] + ("A" if a[-3] != "A" else "B") + a[-2:]
            conn.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE id = ?", (flipped, id_a))  # noqa: S608
    engine.dispose()
    capsys.readouterr()
    if table == "quarantine":
        code = run_cli("--config", str(config), "quarantine", "show", str(id_a))
    else:
        profile = id_a if table == "identity_profiles" else table_rows(
            url, f"SELECT profile_id FROM identity_members WHERE record_id = {id_a}")[0][0]  # noqa: S608
        code = run_cli("--config", str(config), "privacy", "export", str(profile), "--as-role", "dpo")
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("error:") and "Traceback" not in err
    assert f"{table}.{column}" in err and "failed authentication" in err


# ----------------------------------------------------------------------------- T19: after erasure

def decrypted_hits(store_url: str) -> dict[str, list[str]]:
    """Sealed columns (every registered target) whose decrypted values still hold a sentinel."""
    from hub.privacy import rewrap
    from hub.privacy.crypto import is_ciphertext
    from hub.privacy.runtime import current

    rewrap.import_target_modules()
    engine = sqlalchemy.create_engine(store_url)
    cipher, found = current().cipher, {}
    try:
        with engine.connect() as conn:
            for target in rewrap.registered_targets():
                for row in conn.execute(sqlalchemy.select(target.table)).mappings():
                    for column in target.value_columns:
                        value = row[column]
                        text = cipher.decrypt(value, target.aad(column, row)) if is_ciphertext(value) else str(value)
                        hit = [s for s in SENTINELS if s.lower() in text.lower()]
                        if hit:
                            found.setdefault(f"{target.table.name}.{column}", []).extend(hit)
    finally:
        engine.dispose()
    return found


def test_after_erasure_no_row_decrypts_to_the_person(tmp_path, monkeypatch, caplog, capsys):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = write_pipeline(tmp_path, url)
    run_pipeline(config, caplog)
    assert decrypted_hits(url)  # the person is there, sealed
    (follower,), = table_rows(url, "SELECT m.profile_id FROM identity_members m JOIN source_records s "  # noqa: S608
                                   "ON s.id = m.record_id WHERE s.connection = 'wechat'")
    # zz_broken_file cannot erase (exit 1), the store part is done anyway
    assert run_cli("--config", str(config), "privacy", "erase", "--email", EMAIL, "--as-role", "dpo", "--yes") in (0, 1)
    assert run_cli("--config", str(config), "privacy", "erase", str(follower), "--as-role", "dpo", "--yes") in (0, 1)
    assert decrypted_hits(url) == {}
    assert leaking_tables(url) == {}
    assert table_rows(url, "SELECT COUNT(*) FROM webhook_inbox") == [(0,)]
