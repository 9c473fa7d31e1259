"""Match keys: normalisation, names across scripts, and the one digest function."""

from __future__ import annotations

import pytest

from hub.identity.features import extract, name_parts
from hub.identity.keys import key_digest, latin_tokens, normalise_email, normalise_phone, org_key, place_key
from hub.identity.settings import IdentitySettings
from hub.privacy import blind_index
from hub.privacy.blind_index import BlindIndexer
from tests.test_identity_support import rec


@pytest.fixture(autouse=True)
def indexer():
    """Digests need a blind indexer: these tests used to borrow one an earlier test had installed."""
    previous = blind_index._installed
    blind_index.install(BlindIndexer(b"\x07" * 32))
    yield
    blind_index.install(previous)


def test_key_digest_is_stable_typed_and_hides_the_value():
    digest = key_digest("email", "ada@example.org")
    assert digest == key_digest("email", "ada@example.org")
    assert len(digest) == 32 and "ada" not in digest
    assert digest != key_digest("phone", "ada@example.org")  # the kind is part of the key


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Ada.Lovelace@Example.ORG ", "ada.lovelace@example.org"),
    ("ada+newsletter@example.org", "ada@example.org"),
])
def test_normalise_email(raw, expected):
    assert normalise_email(raw) == expected


def test_normalise_phone_keeps_e164_and_folds_full_width_digits():
    assert normalise_phone("+86 139-1234-5678") == "+8613912345678"
    assert normalise_phone("+８６１３９１２３４５６７８") == "+8613912345678"


@pytest.mark.parametrize("name", [{"full": "张伟"}, {"family": "张", "given": "伟"}, {"full": "Zhang Wei"},
                                  {"full": "Wei Zhang"}, {"full": "ZHANG Wei"}, {"latin": {"full": "wei zhang"}}])
def test_a_han_name_and_its_pinyin_in_either_order_share_one_name_key(name):
    _, tokens = name_parts(name)
    assert sorted(tokens) == ["wei", "zhang"]


def test_two_character_given_names_join_their_syllables():
    _, tokens = name_parts({"full": "王小明"})
    assert sorted(tokens) == ["wang", "xiaoming"]


def test_nicknames_become_the_formal_name():
    assert latin_tokens("Bill Gates") == ["william", "gates"]
    assert latin_tokens("Kate Müller") == ["katherine", "muller"]


def test_places_and_employers_compare_across_writing():
    assert place_key("深圳市") == place_key("深圳") == place_key("Shenzhen") == "shenzhen"
    assert org_key("华信科技有限公司") == org_key("华信科技") == "华信"
    assert org_key("Acme Co., Ltd.") == org_key("ACME") == "acme"


def test_features_store_only_digests_of_identifiers():
    record = rec("crm", "1", name="张伟", email="zw@a.com", phone="+8613912345678",
                 platform_ids={"wechat_unionid": "U1", "wechat_openid": "O1", "wechat_appid": "wxA"},
                 crm_ids=[{"system": "zoho", "object": "contacts", "id": "42"}])
    features = extract(7, record, IdentitySettings())
    kinds = sorted(kind for kind, _, _ in features.strong)
    assert kinds == ["crm", "email", "phone", "wechat_openid", "wechat_unionid"]
    digests = [d for _, _, d in features.strong] + [d for _, d in features.blocks]
    assert all(len(d) == 32 for d in digests)
    assert key_digest("email", "zw@a.com") in digests
    groups = {kind: group for kind, group, _ in features.strong}
    assert groups["wechat_openid"] == "wechat_openid:wxA"  # openid is scoped to its app
    assert groups["crm"] == "crm:zoho:contacts"


def test_blocked_values_never_become_keys():
    record = rec("web", "1", name="Li Na", email="info@corp.cn", phone="+8613800000000")
    features = extract(1, record, IdentitySettings())
    assert features.strong == [] and features.blocked == 2


def test_the_public_api_is_what_the_package_lists():
    import hub.identity as identity

    assert sorted(identity.__all__) == ["IdentitySettings", "KeyRule", "ResolveSummary", "key_digest",
                                        "resolve_identities"]
    assert all(callable(getattr(identity, name)) for name in identity.__all__)
    assert identity.key_digest is key_digest
