"""The suppression list: erased people are recognised again by keyed digests only (T20)."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.privacy.blind_index import BlindIndexer
from hub.privacy.suppression import identifiers_of, is_suppressed, suppress_record, suppressed_kinds
from hub.privacy.tables import privacy_suppression
from tests.test_privacy_helpers import keyed_store

ERASED = {"person": {"name": {"full": "张三丰"},
                     "emails": [{"address": "Zhang.SanFeng+news@Example.com"}],
                     "phones": [{"number": "+8613800138000"}],
                     "platform_ids": {"wechat_unionid": "oUnionSentinel0001"},
                     "crm_ids": [{"system": "zoho", "object": "Contacts", "id": "4876876000000624001"}]}}


def _setup(tmp_path):
    store, _, keyring = keyed_store(tmp_path)
    return store, BlindIndexer.from_keyring(keyring)


def test_identifiers_are_normalised():
    assert identifiers_of(ERASED) == {
        ("email", "zhang.sanfeng@example.com"), ("phone", "+8613800138000"),
        ("wechat_unionid", "oUnionSentinel0001"), ("crm_id", "zoho:Contacts:4876876000000624001")}
    full_width = {"person": {"phones": [{"number": "１３８ ００１３ ８０００"}]}}
    assert identifiers_of(full_width) == {("phone", "+8613800138000")}
    assert identifiers_of({"organization": {"name": "Acme"}}) == set()


def test_an_erased_person_is_suppressed_when_they_come_back(tmp_path):
    store, indexer = _setup(tmp_path)
    with store.transaction() as conn:
        assert suppress_record(conn, indexer, ERASED, request_id="dsr-1") == 4
        assert suppress_record(conn, indexer, ERASED, request_id="dsr-1") == 0  # idempotent
    again_by_email = {"person": {"emails": [{"address": "ＺＨＡＮＧ.sanfeng@example.com"}]}}
    again_by_phone = {"person": {"phones": [{"number": "138 0013 8000"}], "emails": [{"address": "new@x.cn"}]}}
    again_by_unionid = {"person": {"platform_ids": {"wechat_unionid": "oUnionSentinel0001"}}}
    someone_else = {"person": {"emails": [{"address": "li.si@example.com"}], "phones": [{"number": "+8613900139000"}]}}
    with store.reading() as conn:
        assert is_suppressed(conn, indexer, again_by_email)
        assert suppressed_kinds(conn, indexer, again_by_phone) == ["phone"]
        assert is_suppressed(conn, indexer, again_by_unionid)
        assert not is_suppressed(conn, indexer, someone_else)
        assert not is_suppressed(conn, indexer, {"person": {"name": {"full": "张三丰"}}})  # names are not keys
        rows = [dict(r) for r in conn.execute(select(privacy_suppression)).mappings()]
    text = json.dumps(rows, default=str)
    for value in ("zhang", "13800138000", "8613800138000", "oUnionSentinel0001", "4876876000000624001"):
        assert value not in text.lower()


def test_suppression_digests_differ_from_identity_digests_and_other_keys(tmp_path):
    store, indexer = _setup(tmp_path)
    with store.transaction() as conn:
        suppress_record(conn, indexer, ERASED)
    with store.reading() as conn:
        digests = {d for (d,) in conn.execute(select(privacy_suppression.c.digest))}
        other_key = BlindIndexer(b"\x01" * 32)
        assert not is_suppressed(conn, other_key, ERASED)
    assert indexer.digest("email", "zhang.sanfeng@example.com") not in digests
