"""Blind indexes: keyed, per-kind, equal exactly when the normalised values are equal (T23)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.cleaning.emails import normalize_email
from hub.cleaning.phones import to_e164
from hub.cleaning.text import clean_text
from hub.privacy import blind_index as bidx
from hub.privacy.blind_index import BlindIndexer
from hub.privacy.errors import KeyMaterialError

ROOT = bytes(range(32))
INDEXER = BlindIndexer(ROOT)
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def phone_key(text: str) -> str | None:
    return to_e164(clean_text(text), "CN")


def email_key(text: str) -> str | None:
    return normalize_email(clean_text(text))[0]


mobiles = st.builds(lambda p, rest: f"1{p}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))


@st.composite
def phone_variant(draw, number):
    a, b, c = number[:3], number[3:7], number[7:]
    text = draw(st.sampled_from([number, f"+86{number}", f"+86 {number}", f"0086{number}", f"{a} {b} {c}",
                                 f"{a}-{b}-{c}"]))
    return text.translate(FULL_WIDTH) if draw(st.booleans()) else text


@settings(max_examples=200, deadline=None)
@given(data=st.data(), a=mobiles, b=mobiles)
def test_phone_variants_index_equal_exactly_when_the_numbers_are_equal(data, a, b):
    va, vb = data.draw(phone_variant(a)), data.draw(phone_variant(b))
    ka, kb = phone_key(va), phone_key(vb)
    if ka is None or kb is None:  # a number phonenumbers does not consider valid: nothing to index
        return
    assert (INDEXER.digest("phone", ka) == INDEXER.digest("phone", kb)) == (ka == kb) == (a == b)


locals_ = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789._"), min_size=1, max_size=12).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s)
domains = st.sampled_from(["example.com", "qq.com", "163.com", "corp.example.cn"])


@st.composite
def email_variant(draw, address):
    text = draw(st.sampled_from([address, address.upper(), address.title(), f"  {address} ", f"<{address}>"]))
    if draw(st.booleans()):
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)  # full width
    return text


@settings(max_examples=200, deadline=None)
@given(data=st.data(), la=locals_, lb=locals_, da=domains, db=domains)
def test_email_variants_index_equal_exactly_when_the_addresses_are_equal(data, la, lb, da, db):
    a, b = f"{la}@{da}", f"{lb}@{db}"
    ka, kb = email_key(data.draw(email_variant(a))), email_key(data.draw(email_variant(b)))
    assert ka == a.lower() and kb == b.lower()
    assert (INDEXER.digest("email", ka) == INDEXER.digest("email", kb)) == (a.lower() == b.lower())


@settings(max_examples=300)
@given(a=st.text(max_size=30), b=st.text(max_size=30))
def test_digest_equal_iff_values_equal(a, b):
    assert (INDEXER.digest("name", a) == INDEXER.digest("name", b)) == (a == b)


def test_digest_shape_kinds_and_keys():
    digest = INDEXER.digest("phone", "+8613800138000")
    assert len(digest) == 32 and int(digest, 16) >= 0  # the width of identity_keys.digest
    assert digest == BlindIndexer(ROOT).digest("phone", "+8613800138000")  # deterministic
    assert digest != INDEXER.digest("email", "+8613800138000")  # per-kind derived keys
    assert digest != BlindIndexer(bytes(32)).digest("phone", "+8613800138000")  # keyed
    unkeyed = {hashlib.sha256(b"+8613800138000").hexdigest()[:32],
               hashlib.blake2b(b"phone\x1f+8613800138000", digest_size=16).hexdigest()}
    assert digest not in unkeyed
    assert INDEXER.key_for("phone") != INDEXER.key_for("email")
    assert "13800138000" not in repr(INDEXER) and ROOT.hex() not in repr(INDEXER)


def test_process_indexer_fails_closed_until_installed():
    bidx.install(None)
    with pytest.raises(KeyMaterialError, match="not set up"):
        bidx.blind_index("email", "a@example.com")
    bidx.install(INDEXER)
    try:
        assert bidx.blind_index("email", "a@example.com") == INDEXER.digest("email", "a@example.com")
    finally:
        bidx.install(None)


def test_short_root_key_is_refused():
    with pytest.raises(KeyMaterialError):
        BlindIndexer(b"short")


@settings(max_examples=200, deadline=None)
@given(data=st.data(), number=mobiles)
def test_two_spellings_of_one_number_share_the_index(data, number):
    ka, kb = phone_key(data.draw(phone_variant(number))), phone_key(data.draw(phone_variant(number)))
    if ka is not None:
        assert ka == kb == f"+86{number}"
        assert INDEXER.digest("phone", ka) == INDEXER.digest("phone", kb)
