"""Tiers from the canonical schema, masking by role (T26), and the PII log filter (T27)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.privacy import tiers
from hub.privacy.logfilter import PiiLogFilter, install_log_filter, scrub
from hub.privacy.masking import mask_record, mask_value, unmasked_fields
from hub.privacy.tiers import DEFAULT_ROLES, TIERS, Role, field_tiers, leaf_fields_under, tier_of


def _leaves() -> dict[str, str]:
    all_paths = field_tiers()
    parents = {p.rsplit(".", 1)[0] for p in all_paths} | {p[:-2] for p in all_paths if p.endswith("[]")}
    leaves = {p: t for p, t in all_paths.items() if p not in parents}
    return leaves


LEAVES = _leaves()


def _set(record: dict, path: str, value) -> None:
    node = record
    parts = path.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part.endswith("[]"):
            name = part[:-2]
            if last:
                node[name] = [value]
                return
            node = node.setdefault(name, [{}])[0]
        elif last:
            node[part] = value
        else:
            node = node.setdefault(part, {})


def record_with_every_field() -> tuple[dict, dict[str, str]]:
    record: dict = {}
    sentinels = {}
    for i, path in enumerate(sorted(LEAVES)):
        sentinel = f"sentinel{i:04d}value"
        sentinels[path] = sentinel
        opaque = path == "interactions[].details"
        _set(record, path, {"note": sentinel} if opaque else sentinel)
    return record, sentinels


def _get(record: dict, path: str):
    node = record
    for part in path.split("."):
        node = node[part[:-2]][0] if part.endswith("[]") else node[part]
    return node


def test_every_schema_field_has_a_tier_and_known_ones_are_right():
    assert LEAVES and set(LEAVES.values()) <= set(TIERS)
    assert tier_of("person.phones[0].number") == "highly_confidential"
    assert tier_of("person.employer") == "confidential"
    assert tier_of("organization.industry") == "general"
    assert tier_of("person.tags[3]") == "general"
    assert tier_of("interactions[].details.anything.below") == "highly_confidential"
    assert tier_of("person.not_in_the_schema") == "highly_confidential"  # fail closed
    assert tier_of("") == "highly_confidential"
    assert set(leaf_fields_under("person.phones[]")) == {"person.phones[].number", "person.phones[].kind",
                                                         "person.phones[].raw"}


def test_a_field_without_x_tier_is_highly_confidential():
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "x-tier": "general"}, "b": {"type": "string"},
        "c": {"type": "array", "items": {"type": "string"}}, "d": {"type": "object"}}}
    out: dict[str, str] = {}
    opaque: dict[str, str] = {}
    tiers._walk(schema, "", {}, out, opaque)
    assert out == {"a": "general", "b": "highly_confidential", "c": "highly_confidential",
                   "c[]": "highly_confidential", "d": "highly_confidential"}


roles = st.one_of(st.sampled_from(sorted(DEFAULT_ROLES.values(), key=lambda r: r.name)),
                  st.builds(lambda ts: Role("custom", frozenset(ts)), st.sets(st.sampled_from(TIERS))))


@settings(max_examples=60, deadline=None)
@given(role=roles)
def test_a_value_is_clear_exactly_when_the_role_may_see_its_tier(role):
    record, sentinels = record_with_every_field()
    masked = mask_record(record, role)
    for path, sentinel in sentinels.items():
        value = _get(masked, path)
        visible = sentinel in json.dumps(value)
        assert visible == role.may_see(LEAVES[path]), (role.name, path)
    text = json.dumps(masked)
    assert all(s in text for p, s in sentinels.items() if role.may_see(LEAVES[p]))
    assert record == record_with_every_field()[0]  # the input is not modified


def test_unknown_role_and_unknown_fields_are_masked():
    record = {"person": {"emails": [{"address": "zhang@example.com"}], "secret_new_field": "sentinel-x"}}
    masked = mask_record(record, "no-such-role")
    assert masked == {"person": {"emails": [{"address": "z***@example.com"}], "secret_new_field": "***"}}
    assert mask_record(record, "admin") == record
    assert mask_record(record, "marketing")["person"]["secret_new_field"] == "***"


@pytest.mark.parametrize(("value", "tier", "field", "expected"), [
    ("13800138000", "highly_confidential", "person.phones[].number", "138****8000"),
    ("+8613800138000", "highly_confidential", "person.phones[].number", "+86138****8000"),
    ("zhang.san@example.com", "highly_confidential", "person.emails[].address", "z***@example.com"),
    ("张三", "highly_confidential", "person.name.full", "张*"),
    ("张三丰", "highly_confidential", "person.name.full", "张*丰"),
    ("欧阳娜娜", "highly_confidential", "person.name.full", "欧**娜"),
    ("Ada Lovelace", "highly_confidential", "person.name.full", "A***"),
    ("110101199003071234", "highly_confidential", "organization.registration_id", "110101********1234"),
    ("oUnion1234567890abcd", "highly_confidential", "person.platform_ids.wechat_unionid", "***abcd"),
    ("深圳", "confidential", "person.addresses[].city", "***"),
    ("Acme", "general", "organization.name", "A***"),
    (12.5, "confidential", "interactions[].amount", "***"),
    (None, "highly_confidential", "person.name.full", None),
])
def test_mask_formats(value, tier, field, expected):
    assert mask_value(value, tier, field) == expected


def test_unmasked_fields_lists_what_to_audit():
    record = {"person": {"name": {"full": "张三"}, "employer": "Acme", "tags": ["vip"]}}
    assert unmasked_fields(record, "admin") == ["person.employer", "person.name.full"]
    assert unmasked_fields(record, "marketing") == ["person.employer"]
    assert unmasked_fields(record, "auditor") == []


SECRETS = ("13800138000", "zhang.san@example.com", "110101199003071234", "+8613912345678", "139 1234 5678")


def test_log_filter_masks_messages_args_and_tracebacks():
    stream = io.StringIO()
    logger = logging.getLogger("custhub.test.pii")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.handlers[0].setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    install_log_filter(logger)
    try:
        logger.debug("calling %s about %s", "13800138000", {"email": "zhang.san@example.com"})
        logger.info("id card 110101199003071234 and +8613912345678 and 139 1234 5678")
        try:
            raise ValueError("bad phone 13800138000 for zhang.san@example.com")
        except ValueError:
            logger.exception("lead rejected")
        logger.warning("run %d finished: %s records", 12, "1,234")  # not personal data: unchanged
    finally:
        logger.handlers.clear()
        logger.filters.clear()
    text = stream.getvalue()
    assert not [s for s in SECRETS if s in text], text
    assert "138****8000" in text and "z***@example.com" in text and "110101********1234" in text
    assert "ValueError" in text and "lead rejected" in text and "run 12 finished: 1,234 records" in text


def test_scrub_leaves_ordinary_text_alone():
    for text in ("run 42 read 1,000 records", "order 2026-05-01 10:00", "version 1.2.3", "seq 10000"):
        assert scrub(text) == text
    assert PiiLogFilter().filter(logging.makeLogRecord({"msg": "x %s", "args": ("13800138000",)}))
