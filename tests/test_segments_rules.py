"""The segment rule language: evaluation on crafted profiles, and config errors with path and fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.errors import ConfigError
from hub.segments.rules import Subject, compile_rule
from hub.segments.settings import parse_segments

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ZHANG = {
    "person": {"name": {"full": "张伟"}, "lifecycle_stage": "customer", "tags": ["vip"],
               "addresses": [{"country": "CN", "province": "北京"},
                             {"country": "CN", "province": "广东", "city": "深圳"}],
               "emails": [{"address": "zw@huaxin.cn"}]},
    "organization": {"name": "华信科技", "industry": "制造业"},
    "interactions": [
        {"type": "event_registered", "at": "2026-04-01T09:00:00+00:00", "reference": "expo-2026"},
        {"type": "purchase", "at": "2026-05-20T00:00:00+00:00", "amount": 12000},
        {"type": "purchase", "at": "2025-01-01T00:00:00+00:00", "amount": 500},
    ],
}
LI = {"person": {"name": {"full": "李娜"}, "lifecycle_stage": "lead"},
      "interactions": [{"type": "form_submitted", "at": "2025-12-01T00:00:00+00:00"}]}


def check(rule: dict, record: dict, connections: tuple[str, ...] = ("crm_export",)) -> bool:
    compiled = compile_rule(rule, file="custhub.yaml", where="segments[0].rule")
    return compiled.test(Subject(record, frozenset(connections), NOW))


@pytest.mark.parametrize(("rule", "zhang", "li"), [
    ({"field": "person.addresses.province", "eq": "广东"}, True, False),  # any of the addresses
    ({"field": "person.lifecycle_stage", "in": ["customer", "evangelist"]}, True, False),
    ({"field": "person.lifecycle_stage", "ne": "customer"}, False, True),
    ({"field": "organization.name", "contains": "华信"}, True, False),
    ({"field": "person.emails", "exists": True}, True, False),
    ({"field": "person.emails.address", "exists": False}, False, True),
    ({"field": "person.tags", "eq": "vip"}, True, False),
    ({"all": [{"field": "person.addresses.city", "eq": "深圳"}, {"field": "person.tags", "eq": "vip"}]}, True, False),
    ({"any": [{"field": "person.tags", "eq": "vip"}, {"field": "person.lifecycle_stage", "eq": "lead"}]}, True, True),
    ({"not": {"field": "person.tags", "eq": "vip"}}, False, True),
    ({"source": "expo_2026_signups"}, False, True),
    ({"source": ["expo_2026_signups", "crm_export"]}, True, True),
    # registered for an event in the last 90 days (NOW is 2026-06-01; the expo was on 2026-04-01)
    ({"interactions": {"type": "event_registered", "within_days": 90}}, True, False),
    ({"interactions": {"type": "event_registered", "within_days": 30}}, False, False),
    # RFM: frequency, monetary (sum of amounts in the window), recency (days since the newest)
    ({"interactions": {"type": "purchase", "count": {"gte": 2}}}, True, False),
    ({"interactions": {"type": "purchase", "within_days": 365, "count": 2}}, False, False),
    ({"interactions": {"type": "purchase", "within_days": 365, "sum_amount": {"gte": 10000}}}, True, False),
    ({"interactions": {"type": "purchase", "sum_amount": {"gte": 12500, "lt": 13000}}}, True, False),
    ({"interactions": {"recency_days": {"lte": 30}}}, True, False),
    ({"interactions": {"recency_days": {"gt": 90}}}, False, True),
    ({"interactions": {"reference": "expo-2026"}}, True, False),
    ({"not": {"interactions": {"within_days": 180}}}, False, True),
])
def test_rules_on_crafted_profiles(rule, zhang, li):
    assert check(rule, ZHANG) is zhang
    assert check(rule, LI, ("expo_2026_signups",)) is li


def test_time_based_rules_are_marked():
    assert compile_rule({"not": {"interactions": {"within_days": 30}}}, file="f", where="r").time_based
    assert compile_rule({"interactions": {"recency_days": 30}}, file="f", where="r").time_based
    assert not compile_rule({"interactions": {"type": "purchase", "count": 3}}, file="f", where="r").time_based


@pytest.mark.parametrize(("rule", "message"), [
    ({"feild": "person.title", "eq": "x"},
     "custhub.yaml: segments[0].rule.feild: unknown key (did you mean 'field'?)"),
    ({"field": "person.adresses.province", "eq": "广东"},
     "custhub.yaml: segments[0].rule.field: unknown field 'person.adresses' (did you mean 'addresses'?)"),
    ({"field": "person.addresses.provence", "eq": "广东"},
     "custhub.yaml: segments[0].rule.field: unknown field 'person.addresses.provence' (did you mean 'province'?)"),
    ({"field": "person.title"},
     "custhub.yaml: segments[0].rule: needs exactly one comparison: eq, ne, in, gte, gt, lte, lt, contains, exists "
     "(e.g. eq: customer)"),
    ({"field": "person.title", "eq": "a", "ne": "b"}, "segments[0].rule: needs exactly one comparison"),
    ({"field": "person.lifecycle_stage", "in": "customer"},
     "segments[0].rule.in: must be a non-empty list (e.g. in: [customer, evangelist])"),
    ({"all": []}, "segments[0].rule.all: must be a non-empty list of rules"),
    ({"all": [{"field": "person.title", "eq": "x"}, {"nott": {}}]},
     "segments[0].rule.all[1].nott: unknown key (did you mean 'not'?)"),
    ({"interactions": {"type": "event_registred"}},
     "segments[0].rule.interactions.type: unknown interaction type 'event_registred' "
     "(did you mean 'event_registered'?)"),
    ({"interactions": {"within_days": 0}},
     "segments[0].rule.interactions.within_days: must be a whole number of days, at least 1"),
    ({"interactions": {"count": {"atleast": 2}}},
     "segments[0].rule.interactions.count.atleast: unknown key (use gte, gt, lte, lt or eq)"),
    ({"interactions": {"sum_amont": {"gte": 2}}},
     "segments[0].rule.interactions.sum_amont: unknown key (did you mean 'sum_amount'?)"),
    ({"interactions": {"sum": {"gte": 2}}},
     "segments[0].rule.interactions.sum: unknown key (use type, channel, reference, name, within_days, count, "
     "sum_amount, recency_days)"),
    ({"not": {"field": "person.title", "exists": "yes"}}, "segments[0].rule.not.exists: must be true or false"),
    ({"field": "person.title", "eq": "x", "all": []}, "segments[0].rule: needs exactly one of: all, any, not"),
    ("customer", "segments[0].rule: must be a rule mapping"),
])
def test_invalid_rules_name_path_and_fix(rule, message):
    with pytest.raises(ConfigError) as info:
        compile_rule(rule, file="custhub.yaml", where="segments[0].rule")
    assert message in str(info.value)


def test_segment_names_are_checked():
    rule = {"field": "person.title", "exists": True}
    with pytest.raises(ConfigError, match=r"segments\[1\].name: segment 'a' is defined twice"):
        parse_segments([{"name": "a", "rule": rule}, {"name": "a", "rule": rule}], file="c.yaml")
    with pytest.raises(ConfigError, match=r"segments\[0\].name: invalid segment name"):
        parse_segments([{"name": "VIP customers", "rule": rule}], file="c.yaml")
    parsed = parse_segments([{"name": "vip", "rule": rule, "recheck_hours": 6}], file="c.yaml")
    assert parsed.get("vip").recheck_hours == 6 and parsed.get("vip").rule_hash
