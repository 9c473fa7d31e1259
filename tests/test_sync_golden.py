"""Sync sends golden profiles once identity resolution has run: one contact per person."""

from __future__ import annotations

import csv
from pathlib import Path

from hub.identity.golden import Member, build_golden
from hub.identity.settings import IdentitySettings
from hub.sync.profiles import open_golden, record_from_golden
from tests.helpers import copy_example, run_cli, table_rows


def test_golden_profile_becomes_a_canonical_record():
    a = Member(1, "crm", "contacts", "C-1", {
        "person": {"name": {"full": "张伟"}, "emails": [{"address": "zw@example.cn", "raw": "ZW@example.cn"}],
                   "platform_ids": {"wechat_unionid": "u1"}},
        "consents": [{"purpose": "marketing", "status": "granted", "at": "2026-01-01T00:00:00+00:00"}],
        "provenance": {"read_at": "2026-01-01T00:00:00+00:00"}})
    b = Member(2, "expo", "signups", "7", {
        "person": {"name": {"full": "张伟"}, "phones": [{"number": "+8613800138000"}], "title": "采购经理"},
        "organization": {"name": "华信科技"},
        "consents": [{"purpose": "marketing", "status": "withdrawn", "at": "2026-02-01T00:00:00+00:00"}],
        "provenance": {"read_at": "2026-02-01T00:00:00+00:00"}})
    record = record_from_golden(build_golden([a, b], IdentitySettings()))
    assert record["person"]["name"] == {"full": "张伟"}
    assert record["person"]["emails"] == [{"address": "zw@example.cn"}]
    assert record["person"]["phones"] == [{"number": "+8613800138000"}]
    assert record["person"]["platform_ids"] == {"wechat_unionid": "u1"}
    assert record["organization"] == {"name": "华信科技"}
    assert record["consents"] == [{"purpose": "marketing", "status": "withdrawn", "at": "2026-02-01T00:00:00+00:00"}]


def test_sync_after_run_sends_one_row_per_golden_profile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    assert run_cli("--config", str(config), "run") == 0  # ingest, then resolve
    (profiles,), = table_rows(url, "SELECT count(*) FROM identity_profiles WHERE status = 'active'")
    (records,), = table_rows(url, "SELECT count(*) FROM source_records")
    assert profiles < records  # the same people arrive from several channels
    assert run_cli("--config", str(config), "sync", "contacts_file") == 0
    with open(tmp_path / "out" / "contacts.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == profiles
    assert len({r["custhub_id"] for r in rows}) == profiles
    zhang = [r for r in rows if r["email"] == "zhang.wei@huaxin-tech.cn"]
    assert len(zhang) == 1  # 张伟 from the form, the expo sheet, WeChat and the CRM: one contact
    ids = {g["sources"][0]["connection"] for g in _goldens(url)}
    assert ids  # profiles carry their provenance


def _goldens(url):
    """The stored active golden profiles, opened (sealed at rest) with the store's keys."""
    from hub.privacy.runtime import ensure_active
    from hub.privacy.settings import PrivacySettings
    from hub.store import Store

    store = Store.open(url)
    try:
        ensure_active(store.engine, PrivacySettings(), Path.cwd())
        rows = table_rows(url, "SELECT id, golden FROM identity_profiles WHERE status = 'active'")
        return [open_golden(pid, stored) for pid, stored in rows]
    finally:
        store.close()
