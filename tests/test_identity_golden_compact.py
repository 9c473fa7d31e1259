"""Golden profiles are stored compact (each source once, referenced by index): what is read back is
exactly the plain profile ``build_golden`` gives, and profiles stored plain before still read."""

from __future__ import annotations

import random

import orjson
import pytest

from bench.identity_data import Generator
from hub.identity import storage
from hub.identity.golden import COMPACT, Member, build_golden, expand_golden, golden_text, parse_golden
from hub.identity.settings import IdentitySettings
from hub.privacy.crypto import is_ciphertext
from tests.test_identity_support import rec, resolve, seeded


def _member(i: int, record: dict) -> Member:
    p = record["provenance"]
    return Member(i, p["connection"], p["stream"], p["source_pk"], record)


def _every_path() -> list[Member]:
    """Members that fill every part of a golden profile holding sources, with alternatives and values
    that look like references (keys named ``source``/``sources``, integers)."""
    records = [
        rec("crm", "1", name="Li Na", email="li@x.cn", phone="+8613912345678", gender="female", title="Mgr",
            at="2026-01-01T00:00:00+00:00", tags=["vip", "b2b"], platform_ids={"wechat_openid": "o1"},
            crm_ids=[{"system": "zoho", "id": "7", "sources": [0, 1]}],
            addresses=[{"city": "上海", "source": 0, "raw": "x"}],
            interactions=[{"type": "form_submitted", "at": "2026-02-01T00:00:00+00:00", "source": "web"}],
            consents=[{"purpose": "marketing", "channel": "email", "status": "granted"}]),
        rec("web", "2", name="LI Na", email="li@x.cn", gender="female", title="Purchasing Manager",
            at="2026-03-01T00:00:00+00:00", tags=["vip"], platform_ids={"wechat_openid": "o2", "douyin": "d"},
            interactions=[{"type": "event_registered"}],
            consents=[{"purpose": "marketing", "channel": "email", "status": "withdrawn",
                       "at": "2026-03-05T00:00:00+00:00"}, {"purpose": "analytics", "status": "granted"}]),
        rec("expo", "3", email="other@x.cn", employer="Co", at="2026-02-01T00:00:00+00:00"),
    ]
    records[0]["organization"] = {"name": "Co Ltd", "industry": "retail"}
    records[2]["organization"] = {"name": "Co"}
    return [_member(i + 10, r) for i, r in enumerate(records)]


def _generated(n: int, seed: int) -> list[list[Member]]:
    groups: dict[int, list[Member]] = {}
    for i, (pid, record) in enumerate(Generator(seed=seed).records(n)):
        groups.setdefault(pid, []).append(_member(i, record))
    return list(groups.values())


SETTINGS = [IdentitySettings(), IdentitySettings(field_rules={"name": "source_priority", "title": "most_complete",
                                                              "gender": "most_frequent"},
                                                 source_priority=("web", "crm"))]


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_compact_text_reads_back_as_the_plain_profile(settings):
    groups = [_every_path(), *_generated(3000, seed=3)]
    assert any(len(g) > 2 for g in groups)
    for members in groups:
        plain = orjson.loads(orjson.dumps(build_golden(members, settings)))
        text = golden_text(members, settings)
        assert text.startswith(COMPACT)
        assert parse_golden(text) == plain
        assert orjson.dumps(parse_golden(text)) == orjson.dumps(plain)  # the same key order too
        assert len(text) < len(orjson.dumps(plain)) or len(members) == 1


def test_every_part_of_the_profile_is_covered_by_the_example():
    golden = build_golden(_every_path(), IdentitySettings())
    assert {"fields", "emails", "phones", "addresses", "crm_ids", "platform_ids", "tags", "organization",
            "interactions", "consents", "sources"} <= set(golden)
    assert golden["organization"]["alternatives"] and any(e["alternatives"] for e in golden["fields"].values())


def test_expanded_sources_are_separate_copies():
    golden = parse_golden(golden_text(_every_path(), IdentitySettings()))
    golden["emails"][0]["sources"][0]["at"] = "changed"
    assert golden["sources"][0]["at"] != "changed" and golden["fields"]["name"]["sources"][0]["at"] != "changed"


def test_expanding_a_compact_profile_in_memory_equals_the_plain_one():
    members = _every_path()
    rng = random.Random(1)
    rng.shuffle(members)
    compact = build_golden(members, IdentitySettings(), compact=True)
    assert orjson.loads(orjson.dumps(expand_golden(compact))) == orjson.loads(
        orjson.dumps(build_golden(members, IdentitySettings())))


def test_plain_json_profiles_stored_before_still_read(tmp_path):
    plain = build_golden(_every_path(), IdentitySettings())
    assert parse_golden(orjson.dumps(plain)) == orjson.loads(orjson.dumps(plain))
    assert parse_golden(orjson.dumps(plain).decode()) == orjson.loads(orjson.dumps(plain))
    store = seeded(f"sqlite:///{tmp_path / 'g.db'}", [rec("web", "1", name="Li Na", email="li@x.cn")])
    resolve(store)
    with store.reading() as conn:
        pid, stored = conn.exec_driver_sql("SELECT id, golden FROM identity_profiles").one()
    assert is_ciphertext(stored)
    sealed_plain = storage.seal_golden(pid, orjson.dumps(plain).decode())  # as written before
    assert storage.open_golden(pid, sealed_plain) == orjson.loads(orjson.dumps(plain))
    assert storage.open_golden(pid, stored)["fields"]["name"]["value"] == {"full": "Li Na"}


def test_stored_profiles_are_compact_and_read_plain(store_url):
    records = [rec("crm", "a1", name="Li Na", email="li.na@corp.cn"), rec("web", "a2", name="Li Na",
                                                                         email="li.na@corp.cn")]
    store = seeded(store_url, records)
    resolve(store)
    with store.reading() as conn:
        rows = conn.exec_driver_sql("SELECT id, golden FROM identity_profiles WHERE status = 'active'").all()
        opened = [storage.current().open(*storage.GOLDEN, pid, stored) for pid, stored in rows]
    assert len(rows) == 1 and opened[0].startswith(COMPACT)
    golden = storage.open_golden(*rows[0])
    assert [s["source_pk"] for s in golden["emails"][0]["sources"]] == ["a1", "a2"]
    assert golden["emails"][0]["sources"] == golden["sources"]
