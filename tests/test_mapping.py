"""The mapping engine: load-time checks, value specs, list items, record errors and every transform."""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml

import hub.mapping
from hub import hookimpl, paths, plugins
from hub.canonical import schema_errors
from hub.errors import ConfigError, RecordError
from hub.mapping import TransformError, find_mapping, load_mapping

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Work in a temporary folder with a ``mappings/`` folder, so errors name ``mappings/<file>``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mappings").mkdir()


def write(text: str, name: str = "x") -> Path:
    path = Path("mappings") / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


def mapping_of(fields: dict) -> hub.mapping.Mapping:
    """A freshly written and loaded mapping with ``fields`` (a unique name, so never a cached one)."""
    name = f"m{next(_names)}"
    path = Path("mappings") / f"{name}.yaml"
    text = yaml.safe_dump({"name": name, "fields": fields}, allow_unicode=True, sort_keys=False)
    path.write_text(text, "utf-8")
    return load_mapping(path)


def through(pipe: list, value, **raw):
    """``value`` as read from a source field and passed through ``pipe``; None when left unset."""
    mapping = mapping_of({"person.title": {"from": "v", "pipe": pipe}})
    return mapping.apply({"v": value, **raw}).get("person", {}).get("title")


def test_public_api():
    assert hub.mapping.__all__ == ["Mapping", "TransformError", "find_mapping", "load_mapping"]
    assert issubclass(TransformError, Exception)


# -- load-time errors ------------------------------------------------------------------------------

INVALID = [
    ("fields: {person.gender: a}",
     "mappings/x.yaml: (top level): missing required key 'name' (add 'name')"),
    ("name: y\nfields: {person.gender: a}",
     "mappings/x.yaml: name: must equal the file name 'x' (set 'name: x' or rename the file)"),
    ("name: x\nfeilds: {person.gender: a}",
     "mappings/x.yaml: feilds: unknown key (did you mean 'fields'?)"),
    ("name: x\nfields: {person.gender: a}\nnull: 1\n7: 2",  # YAML keys that are not text
     "mappings/x.yaml: 7: unknown key (allowed keys: name, description, fields)"),
    ("?\n::",  # found by fuzz/run.py mapping: a null key next to a text one
     "mappings/x.yaml: :: unknown key (allowed keys: name, description, fields)"),
    ("name: x\nfields: {}",
     "mappings/x.yaml: fields: must not be empty (map at least one target field)"),
    ("- name: x",
     "mappings/x.yaml: (top level): must be a YAML mapping "
     "(start with 'name:' and 'fields:'; see docs/mappings.md)"),
    ("name: x\nfields:\n  person.gender: {from: a\n",
     "mappings/x.yaml: line 4, column 1: invalid YAML: expected ',' or '}', but got '<stream end>' "
     "(check indentation and quoting)"),
    ("name: x\nfields: {person.nmae.full: a}",
     "mappings/x.yaml: fields.person.nmae.full: unknown target field 'nmae' (did you mean 'name'?)"),
    ("name: x\nfields: {Person.Name: a}",
     "mappings/x.yaml: fields: invalid name 'Person.Name' "
     "(use a dotted path into the canonical record, e.g. person.name.full or person.phones[])"),
    ("name: x\nfields: {provenance.stream: a}",
     "mappings/x.yaml: fields.provenance.stream: 'provenance' is set by the pipeline (remove this field)"),
    ("name: x\nfields: {person.gender.code: a}",
     "mappings/x.yaml: fields.person.gender.code: 'gender' has no sub-fields"),
    ("name: x\nfields: {person.emails.address: a}",
     "mappings/x.yaml: fields.person.emails.address: 'emails' is a list "
     "(map it as 'person.emails[]' with item specs)"),
    ("name: x\nfields: {person.phones: a}",
     "mappings/x.yaml: fields.person.phones: a list of objects "
     "(map it as 'person.phones[]' with item specs)"),
    ("name: x\nfields: {person.name: a}",
     "mappings/x.yaml: fields.person.name: an object, not a value (map one of its fields, e.g. "
     "'person.name.full', or use a transform that makes an object, such as split_name)"),
    ("name: x\nfields:\n  person.gender[]: [{a: b}]",
     "mappings/x.yaml: fields.person.gender[]: not a list in the canonical schema "
     "(write 'person.gender' without '[]')"),
    ("name: x\nfields:\n  person.tags[]: [{a: b}]",
     "mappings/x.yaml: fields.person.tags[]: a list of values, not of objects "
     "(map it as 'person.tags' without '[]', e.g. with split or as_list)"),
    ("name: x\nfields:\n  person.phones[]: {number: a}",
     "mappings/x.yaml: fields.person.phones[]: must be a list (list item specs, e.g. [{address: Email}])"),
    ("name: x\nfields:\n  person.phones[]: [{nubmer: a}]",
     "mappings/x.yaml: fields.person.phones[][0].nubmer: unknown target field 'nubmer' "
     "(did you mean 'number'?)"),
    ("name: x\nfields:\n  person.phones[]: [{number: a}, {kind: {const: work}}]",
     "mappings/x.yaml: fields.person.phones[][1]: missing required sub-field 'number' "
     "(add 'number' to the item)"),
    ("name: x\nfields:\n  person.phones[]: [{number: a, kind: {const: moblie}}]",
     "mappings/x.yaml: fields.person.phones[][0].kind.const: must be one of: "
     "mobile, work, home, fax, other (did you mean 'mobile'?)"),
    ("name: x\nfields: {person.gender: {from: a, default: unknwon}}",
     "mappings/x.yaml: fields.person.gender.default: must be one of: "
     "male, female, other, unknown (did you mean 'unknown'?)"),
    ("name: x\nfields: {person.gender: 3}",
     "mappings/x.yaml: fields.person.gender: must be string or object "
     "(give a source field name, or a mapping with 'from' or 'const')"),
    ("name: x\nfields: {person.gender: {frm: a}}",
     "mappings/x.yaml: fields.person.gender.frm: unknown key (did you mean 'from'?)"),
    ("name: x\nfields: {person.gender: {from: a, const: b}}",
     "mappings/x.yaml: fields.person.gender: has both 'from' and 'const' (keep one of them)"),
    ("name: x\nfields: {person.gender: {pipe: [lower]}}",
     "mappings/x.yaml: fields.person.gender: needs 'from' or 'const' "
     "(add 'from: <source field>' or 'const: <value>')"),
    ("name: x\nfields: {person.gender: {from: []}}",
     "mappings/x.yaml: fields.person.gender.from: must not be empty (name a source field, or list several)"),
    ("name: x\nfields: {person.gender: {from: a, pipe: lower}}",
     "mappings/x.yaml: fields.person.gender.pipe: must be a list (list transforms, e.g. [strip, lower])"),
    ("name: x\nfields: {person.gender: {from: a, pipe: [{lookpu: {table: {m: male}}}]}}",
     "mappings/x.yaml: fields.person.gender.pipe[0]: unknown transform 'lookpu' (did you mean 'lookup'?)"),
    ("name: x\nfields: {person.gender: {from: a, pipe: [{lower: {}, upper: {}}]}}",
     "mappings/x.yaml: fields.person.gender.pipe[0]: has too many entries "
     "(write a transform name, or one 'name: {params}' pair)"),
    ("name: x\nfields: {person.gender: {from: a, pipe: [lookup]}}",
     "mappings/x.yaml: fields.person.gender.pipe[0]: missing required key 'table' (add 'table')"),
    ("name: x\nfields: {person.gender: {from: a, pipe: [{lower: 3}]}}",
     "mappings/x.yaml: fields.person.gender.pipe[0].lower: parameters must be a mapping "
     "(write 'lower: {param: value}')"),
    ("name: x\nfields: {person.gender: {from: a, pipe: [{lower: {x: 1}}]}}",
     "mappings/x.yaml: fields.person.gender.pipe[0].lower.x: unknown key (remove it)"),
    ("name: x\nfields: {person.tags: {from: a, pipe: [{split: {sepp: ','}}]}}",
     "mappings/x.yaml: fields.person.tags.pipe[0].split.sepp: unknown key (did you mean 'sep'?)"),
    ("name: x\nfields: {person.name: {from: a, pipe: [{split_name: {order: famly_first}}]}}",
     "mappings/x.yaml: fields.person.name.pipe[0].split_name.order: must be one of: "
     "auto, family_first, given_first (did you mean 'family_first'?)"),
    ("name: x\nfields: {person.birth_date: {from: a, pipe: [{parse_date: {format: 3}}]}}",
     "mappings/x.yaml: fields.person.birth_date.pipe[0].parse_date.format: must be string or array "
     "(give a format such as '%Y-%m-%d', or a list of formats)"),
    ("name: x\nfields:\n  interactions[]:\n    - {type: {const: other}, at: {from: t, "
     "pipe: [{parse_datetime: {tz: Mars/Olympus}}]}}",
     "mappings/x.yaml: fields.interactions[][0].at.pipe[0].parse_datetime: unknown time zone 'Mars/Olympus' "
     "(use an IANA name such as Asia/Shanghai)"),
    ("name: x\nfields: {person.title: {from: a, pipe: [{regex_extract: {pattern: '(a'}}]}}",
     "mappings/x.yaml: fields.person.title.pipe[0].regex_extract: pattern does not compile: "
     "missing ), unterminated subpattern (check the regular expression)"),
    ("name: x\nfields: {person.title: {from: a, pipe: [{regex_extract: {pattern: '" + "a" * 201 + "'}}]}}",
     "mappings/x.yaml: fields.person.title.pipe[0].regex_extract: pattern is longer than 200 characters "
     "(simplify it)"),
    ("name: x\nfields: {person.title: {from: a, pipe: [{regex_extract: {pattern: '(a)', group: 2}}]}}",
     "mappings/x.yaml: fields.person.title.pipe[0].regex_extract: pattern has no group 2 "
     "(count the parentheses or name the group)"),
    ("name: x\nfields: {person.title: {const: abc, pipe: [to_number]}}",
     "mappings/x.yaml: fields.person.title.const: not a number"),
]


@pytest.mark.parametrize(("text", "expected"), INVALID, ids=[f"invalid-{i}" for i in range(len(INVALID))])
def test_invalid_mapping_is_one_clear_line(text, expected):
    with pytest.raises(ConfigError) as caught:
        load_mapping(write(text))
    assert str(caught.value) == expected


def test_missing_file_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        load_mapping(Path("mappings/nope.yaml"))
    assert str(caught.value) == "mappings/nope.yaml: mapping file not found (check the path)"


def test_mapping_schema_is_a_valid_json_schema():
    import jsonschema

    schema = json.loads((paths.bundled_dir("config") / "mapping.schema.json").read_text("utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_every_builtin_params_schema_is_valid_and_closed():
    import jsonschema

    for name, (_function, schema) in plugins.transforms().items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema.get("additionalProperties") is False, name


# -- finding and caching ---------------------------------------------------------------------------

def test_find_mapping_takes_the_first_folder_that_has_it(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "crm.yaml").write_text("name: crm\n")
    assert find_mapping("crm", [first, second]) == second / "crm.yaml"
    (first / "crm.yaml").write_text("name: crm\n")
    assert find_mapping("crm", [first, second]) == first / "crm.yaml"
    assert find_mapping("other", [first, second]) is None
    assert find_mapping("../b/crm", [first, second]) is None


def test_load_is_cached_until_the_file_changes():
    path = write("name: x\nfields: {person.title: a}\n")
    mapping = load_mapping(path)
    assert load_mapping(path) is mapping
    write("name: x\nfields: {person.title: b}\n")
    changed = load_mapping(path)
    assert changed is not mapping
    assert changed.apply({"a": "A", "b": "B"}) == {"person": {"title": "B"}}
    assert (changed.name, changed.path) == ("x", path)


# -- value specs -----------------------------------------------------------------------------------

def test_source_fields_exact_key_first_then_dotted_path():
    mapping = mapping_of({
        "person.title": "job.title",
        "person.employer": "profile.company.name",
        "person.department": "answers.1.text",
    })
    raw = {"job.title": "CTO", "profile": {"company": {"name": "Acme"}},
           "answers": [{"text": "first"}, {"text": "Sales"}], "job": {"title": "ignored"}}
    assert mapping.apply(raw) == {"person": {"title": "CTO", "employer": "Acme", "department": "Sales"}}
    assert mapping.apply({"answers": [{"text": "only one"}], "profile": "not an object"}) == {}


@pytest.mark.parametrize("missing", [None, "", "   ", "\t\n", [], {}, [None, " "]])
def test_missing_values_leave_the_target_unset(missing):
    mapping = mapping_of({"person.title": "a", "person.employer": {"from": "a", "pipe": ["upper"]},
                          "person.emails[]": [{"address": "a"}]})
    assert mapping.apply({"a": missing}) == {}
    assert mapping.apply({}) == {}


def test_default_is_used_only_when_the_result_is_missing():
    title = {"from": "t", "pipe": [{"regex_extract": {"pattern": "^(CEO|CTO)"}}], "default": "other"}
    mapping = mapping_of({"person.gender": {"from": "g", "default": "unknown"}, "person.title": title})
    assert mapping.apply({}) == {"person": {"gender": "unknown", "title": "other"}}
    assert mapping.apply({"g": "female", "t": "CTO, co-founder"}) == {
        "person": {"gender": "female", "title": "CTO"}}
    assert mapping.apply({"g": "male", "t": "Engineer"}) == {"person": {"gender": "male", "title": "other"}}


def test_const_values_are_fixed_and_never_shared_between_records():
    mapping = mapping_of({"person.lifecycle_stage": {"const": "lead"}, "person.tags": {"const": ["expo"]}})
    first, second = mapping.apply({}), mapping.apply({})
    assert first == {"person": {"lifecycle_stage": "lead", "tags": ["expo"]}}
    first["person"]["tags"].append("changed")
    assert second["person"]["tags"] == ["expo"]
    assert mapping.apply({})["person"]["tags"] == ["expo"]


def test_several_sources_make_a_list_value():
    mapping = mapping_of({"person.employer": {"from": ["公司", "单位"], "pipe": ["first"]},
                          "person.department": {"from": ["a", "b", "c"], "pipe": [{"join": {"sep": "/"}}]}})
    assert mapping.apply({"单位": "示例科技", "a": "R&D", "c": "Lab"}) == {
        "person": {"employer": "示例科技", "department": "R&D/Lab"}}
    assert mapping.apply({"公司": "甲", "单位": "乙"})["person"]["employer"] == "甲"


def test_an_object_from_a_transform_is_merged_and_later_fields_win():
    mapping = mapping_of({
        "person.name.latin.full": "english",
        "person.name.full": "english",
        "person.name": {"from": "中文名", "pipe": ["split_name"]},
    })
    assert mapping.apply({"english": "Wei Zhang", "中文名": "张伟"}) == {"person": {"name": {
        "latin": {"full": "Wei Zhang"}, "full": "张伟", "family": "张", "given": "伟"}}}
    assert mapping.apply({"english": "Wei Zhang"}) == {"person": {"name": {
        "latin": {"full": "Wei Zhang"}, "full": "Wei Zhang"}}}


def test_free_form_objects_take_any_sub_path():
    mapping = mapping_of({"interactions[]": [{"type": {"const": "form_submitted"},
                                              "details.answers.budget": "budget"}]})
    assert mapping.apply({"budget": "10k"}) == {
        "interactions": [{"type": "form_submitted", "details": {"answers": {"budget": "10k"}}}]}


# -- list items ------------------------------------------------------------------------------------

PHONES = {"person.phones[]": [{"number": "手机", "kind": {"const": "mobile"}},
                              {"number": "座机", "kind": {"const": "work"}}]}


def test_list_items_are_emitted_only_when_a_non_const_sub_field_has_a_value():
    mapping = mapping_of(PHONES)
    assert mapping.apply({"手机": "13800138000"}) == {
        "person": {"phones": [{"number": "13800138000", "kind": "mobile"}]}}
    assert mapping.apply({"手机": "13800138000", "座机": "021-12345678"})["person"]["phones"] == [
        {"number": "13800138000", "kind": "mobile"}, {"number": "021-12345678", "kind": "work"}]
    assert mapping.apply({"姓名": "张伟"}) == {}


def test_list_items_lacking_a_required_sub_field_are_left_out():
    mapping = mapping_of({"consents[]": [{
        "purpose": {"const": "marketing"},
        "status": {"from": "同意", "pipe": [{"lookup": {"table": {"是": "granted", "否": "denied"}}}]},
        "at": {"from": "时间", "pipe": ["parse_datetime"]}}]})
    assert mapping.apply({"时间": "2026-03-18T09:30:00+08:00"}) == {}
    assert mapping.apply({"同意": "是", "时间": "2026-03-18T09:30:00+08:00"}) == {"consents": [
        {"purpose": "marketing", "status": "granted", "at": "2026-03-18T09:30:00+08:00"}]}


def test_a_list_item_can_be_conditional_on_a_lookup():
    mapping = mapping_of({"interactions[]": [{
        "type": {"from": "签到", "pipe": [{"lookup": {"table": {"是": "event_checked_in", "否": None}}}]},
        "channel": {"const": "exhibition"}}]})
    assert mapping.apply({"签到": "是"}) == {"interactions": [{"type": "event_checked_in",
                                                               "channel": "exhibition"}]}
    assert mapping.apply({"签到": "否"}) == {}
    assert mapping.apply({}) == {}


# -- record errors ---------------------------------------------------------------------------------

def test_a_record_error_lists_every_failing_field_without_values():
    mapping = mapping_of({
        "person.name.full": "姓名",
        "person.gender": {"from": "性别", "pipe": [{"lookup": {"table": {"男": "male", "女": "female"}}}]},
        "person.birth_date": {"from": "出生日期", "pipe": [{"parse_date": {"format": "%Y/%m/%d"}}]},
        "person.employer": {"from": ["公司", "单位"], "pipe": ["split_name"]},
        "consents[]": [{"purpose": {"const": "marketing"},
                        "status": {"from": "同意", "pipe": [{"lookup": {"table": {"是": "granted"}}}]}}],
    })
    raw = {"姓名": "张伟", "性别": "SECRET-GENDER", "出生日期": "SECRET-DATE", "公司": "X",
           "同意": "SECRET-YES"}
    with pytest.raises(RecordError) as caught:
        mapping.apply(raw)
    assert caught.value.reasons == [
        "person.gender: value not in the lookup table (from '性别')",
        "person.birth_date: cannot parse date with format '%Y/%m/%d' (from '出生日期')",
        "person.employer: expects text, got a list (from '公司', '单位')",
        "consents[0].status: value not in the lookup table (from '同意')",
    ]
    assert "SECRET" not in str(caught.value)


def test_a_record_that_is_not_an_object_is_a_record_error():
    with pytest.raises(RecordError) as caught:
        mapping_of({"person.title": "t"}).apply(["not", "a", "row"])
    assert caught.value.reasons == ["(record): must be an object, not list"]


class _Plugin:
    """A third-party plugin with two transforms, one of them buggy."""

    @hookimpl
    def register_transforms(self, register):
        register("reverse", lambda value: value[::-1], {"type": "object", "additionalProperties": False})
        register("buggy", lambda value: value + 1, {})


def test_third_party_transforms_work_and_their_crashes_fail_only_the_record():
    plugin = _Plugin()
    plugins.load_plugins()
    plugins.pm.register(plugin, name="test-mapping-plugin")
    plugins.reset_registry()
    try:
        mapping = mapping_of({"person.title": {"from": "t", "pipe": ["strip", "reverse"]},
                              "person.employer": {"from": "e", "pipe": ["buggy"]}})
        assert mapping.apply({"t": " OTC "}) == {"person": {"title": "CTO"}}
        with pytest.raises(RecordError) as caught:
            mapping.apply({"t": "OTC", "e": "Acme"})
        assert caught.value.reasons == ["person.employer: transform 'buggy' failed (TypeError) (from 'e')"]
    finally:
        plugins.pm.unregister(plugin)
        plugins.reset_registry()


# -- transforms ------------------------------------------------------------------------------------

TRANSFORMS = [
    (["strip"], "  Acme  ", "Acme"),
    (["lower"], "ADA@Example.COM", "ada@example.com"),
    (["upper"], "cn", "CN"),
    ([{"split": {}}, "upper"], "cn, us", ["CN", "US"]),
    (["to_string"], 12345, "12345"),
    (["to_string"], 12.0, "12"),
    (["to_string"], True, "true"),
    (["first"], ["", None, "b", "c"], "b"),
    (["first"], "scalar", "scalar"),
    (["as_list"], "a", ["a"]),
    (["as_list"], ["a"], ["a"]),
    ([{"join": {"sep": ", "}}], ["a", "", "b"], "a, b"),
    (["join"], ["Ada", "Lovelace"], "Ada Lovelace"),
    ([{"concat": {"parts": ["wechat_tag:", "{}"]}}], [128, 2], ["wechat_tag:128", "wechat_tag:2"]),
    ([{"concat": {"parts": ["+86", "{}"]}}], "13800138000", "+8613800138000"),
    ([{"split": {"sep": ","}}], " a, b ,,c ", ["a", "b", "c"]),
    ([{"split": {"sep": [",", "，", "、"]}}], "展会，VIP、老客户,上海", ["展会", "VIP", "老客户", "上海"]),
    ([{"split": {}}], " , ", None),
    (["split_name"], "张伟", {"full": "张伟", "family": "张", "given": "伟"}),
    (["split_name"], "欧阳娜娜", {"full": "欧阳娜娜", "family": "欧阳", "given": "娜娜"}),
    (["split_name"], "諸葛亮", {"full": "諸葛亮", "family": "諸葛", "given": "亮"}),
    (["split_name"], " 张 伟 ", {"full": "张伟", "family": "张", "given": "伟"}),
    (["split_name"], "王先生", {"family": "王", "honorific": "先生"}),
    (["split_name"], "李娜女士", {"full": "李娜", "family": "李", "given": "娜", "honorific": "女士"}),
    (["split_name"], "阿沛·阿旺晋美", {"full": "阿沛·阿旺晋美"}),
    (["split_name"], "欧阳 娜娜", {"full": "欧阳娜娜", "family": "欧阳", "given": "娜娜"}),
    (["split_name"], "张伟 华信", {"full": "张伟", "family": "张", "given": "伟"}),
    (["split_name"], "先生", {"honorific": "先生"}),
    (["split_name"], "Ada Lovelace", {"full": "Ada Lovelace", "family": "Lovelace", "given": "Ada"}),
    (["split_name"], "Lovelace, Ada", {"full": "Ada Lovelace", "family": "Lovelace", "given": "Ada"}),
    (["split_name"], "Dr. Ada  Lovelace",
     {"full": "Ada Lovelace", "family": "Lovelace", "given": "Ada", "honorific": "Dr"}),
    ([{"split_name": {"order": "family_first"}}], "Zhang Wei",
     {"full": "Zhang Wei", "family": "Zhang", "given": "Wei"}),
    (["split_name"], "Ada", {"full": "Ada"}),
    (["split_name"], "张Wei", {"full": "张Wei"}),
    (["join_name"], ["伟", "张"], "张伟"),
    (["join_name"], ["Ada", "Lovelace"], "Ada Lovelace"),
    (["join_name"], [None, "Lovelace"], "Lovelace"),
    ([{"join_name": {"order": "family_first"}}], ["Lovelace", "Ada"], "Ada Lovelace"),
    (["parse_date"], "2026-03-08", "2026-03-08"),
    ([{"parse_date": {"format": "%Y/%m/%d"}}], "2026/3/8", "2026-03-08"),
    ([{"parse_date": {"format": "%Y-%m-%d"}}], "2026-3-8", "2026-03-08"),
    ([{"parse_date": {"format": ["%Y-%m-%d", "%d.%m.%Y"]}}], "08.03.2026", "2026-03-08"),
    ([{"parse_date": {"format": "%Y年%m月%d日"}}], "1990年5月1日", "1990-05-01"),
    (["parse_datetime"], "2026-03-18T09:30:00Z", "2026-03-18T09:30:00+00:00"),
    ([{"parse_datetime": {"tz": "Asia/Shanghai"}}], "2026-03-18T09:30:00-05:00", "2026-03-18T09:30:00-05:00"),
    ([{"parse_datetime": {"tz": "Asia/Shanghai"}}], "2026-03-18 09:30", "2026-03-18T09:30:00+08:00"),
    ([{"parse_datetime": {"format": "%Y-%m-%d %H:%M", "tz": "Asia/Shanghai"}}], "2026-03-18 09:30",
     "2026-03-18T09:30:00+08:00"),
    ([{"parse_datetime": {"format": "%Y-%m-%d %H:%M", "tz": "Europe/Berlin"}}], "2026-7-1 9:05",
     "2026-07-01T09:05:00+02:00"),
    ([{"parse_datetime": {"format": "%d/%m/%Y %H:%M:%S %z"}}], "18/03/2026 09:30:00 +0800",
     "2026-03-18T09:30:00+08:00"),
    (["epoch_to_datetime"], 1434093047, "2015-06-12T07:10:47+00:00"),
    (["epoch_to_datetime"], "1434093047", "2015-06-12T07:10:47+00:00"),
    ([{"epoch_to_datetime": {"unit": "ms", "tz": "Asia/Shanghai"}}], 1434093047123,
     "2015-06-12T15:10:47.123000+08:00"),
    ([{"lookup": {"table": {"男": "male", "女": "female"}}}], " 女 ", "female"),
    ([{"lookup": {"table": {"M": "male"}, "default": "unknown"}}], "X", "unknown"),
    ([{"lookup": {"table": {"m": "male"}, "case_insensitive": True}}], "M", "male"),
    ([{"lookup": {"table": {"否": None}}}], "否", None),
    ([{"lookup": {"table": {True: "granted", False: "denied"}}}], "yes", "granted"),
    ([{"lookup": {"table": {True: "granted", False: "denied"}}}], "false", "denied"),
    ([{"lookup": {"table": {True: "granted", False: "denied"}}}], False, "denied"),
    ([{"lookup": {"table": {"1": "vip", "2": "regular"}}}], 2, "regular"),
    ([{"lookup": {"table": {"a": "x", "b": "y"}}}], ["a", "b"], ["x", "y"]),
    ([{"default": {"value": "n/a"}}], None, "n/a"),
    ([{"default": {"value": "n/a"}}], "given", "given"),
    (["to_bool"], "是", True),
    (["to_bool"], "No", False),
    (["to_bool"], 1, True),
    ([{"to_bool": {"true": ["checked"], "false": ["unchecked"]}}], "Checked", True),
    (["to_number"], "1,234", 1234),
    (["to_number"], " 3.50 ", 3.5),
    (["to_number"], 7, 7),
    ([{"regex_extract": {"pattern": r"#(\d+)"}}], "order #1234 shipped", "1234"),
    ([{"regex_extract": {"pattern": r"\d+"}}], "room 42", "42"),
    ([{"regex_extract": {"pattern": r"(?P<user>[^@]+)@", "group": "user"}}], "ada@example.com", "ada"),
    ([{"regex_extract": {"pattern": r"#(\d+)"}}], "no number", None),
    ([{"pick": {"key_field": "name", "key": "email", "value_field": "values.0"}}],
     [{"name": "full_name", "values": ["Ada"]}, {"name": "email", "values": ["ada@example.com"]}],
     "ada@example.com"),
    ([{"pick": {"key_field": "name", "key": "phone_number", "value_field": "values.0"}}],
     [{"name": "email", "values": ["ada@example.com"]}], None),
]


@pytest.mark.parametrize(("pipe", "value", "expected"), TRANSFORMS,
                         ids=[f"{next(iter(p[-1])) if isinstance(p[-1], dict) else p[-1]}-{i}"
                              for i, (p, _v, _e) in enumerate(TRANSFORMS)])
def test_transform(pipe, value, expected):
    assert through(pipe, value) == expected


TRANSFORM_ERRORS = [
    ([{"parse_date": {"format": "%Y/%m/%d"}}], "18-03-2026", "cannot parse date with format '%Y/%m/%d'"),
    ([{"parse_date": {"format": ["%Y/%m/%d", "%Y-%m-%d"]}}], "soon",
     "cannot parse date with formats '%Y/%m/%d', '%Y-%m-%d'"),
    (["parse_datetime"], "next tuesday", "cannot parse an ISO 8601 date-time"),
    ([{"parse_datetime": {"format": "%Y-%m-%d %H:%M"}}], "2026-03-18",
     "cannot parse date-time with format '%Y-%m-%d %H:%M'"),
    (["epoch_to_datetime"], "yesterday", "expects a number of seconds"),
    (["epoch_to_datetime"], 10**20, "timestamp out of range"),
    ([{"lookup": {"table": {"男": "male"}}}], "未知", "value not in the lookup table"),
    (["to_bool"], "maybe", "not a recognised true/false value"),
    (["to_number"], "twelve", "not a number"),
    (["lower"], {"a": 1}, "expects text, got a mapping"),
    (["join_name"], "Ada Lovelace", "expects two source fields (given and family name)"),
    ([{"pick": {"key_field": "name", "key": "email", "value_field": "values.0"}}], "x",
     "expects a list of objects"),
]


@pytest.mark.parametrize(("pipe", "value", "problem"), TRANSFORM_ERRORS)
def test_transform_refuses_bad_data_without_echoing_it(pipe, value, problem):
    with pytest.raises(RecordError) as caught:
        through(pipe, value)
    assert caught.value.reasons == [f"person.title: {problem} (from 'v')"]


def test_a_missing_value_skips_the_pipe_but_not_default():
    assert through([{"lookup": {"table": {"a": "b"}}}], "  ") is None
    assert through(["to_number", {"default": {"value": 0}}, {"concat": {"parts": ["#", "{}"]}}], None) == "#0"
    assert through([{"regex_extract": {"pattern": "(x)"}}, {"default": {"value": "none"}}], "abc") == "none"


# -- the bundled mappings --------------------------------------------------------------------------

PROVENANCE = {"schema_version": "1.0", "provenance": {
    "connection": "test", "stream": "rows", "source_pk": "1", "read_at": "2026-03-18T10:00:00+00:00"}}

SAMPLES = [
    ("exhibition_signup",
     {"姓名": "欧阳娜娜", "手机": "+8613800138000", "邮箱": "nana@example.com", "公司": "示例科技有限公司",
      "职位": "市场经理", "城市": "杭州", "省份": "浙江", "签到": "是", "报名时间": "2026-03-18 09:30",
      "同意接收资讯": "否"},
     {"person": {"name": {"full": "欧阳娜娜", "family": "欧阳", "given": "娜娜"},
                 "phones": [{"number": "+8613800138000", "kind": "mobile"}],
                 "emails": [{"address": "nana@example.com"}],
                 "employer": "示例科技有限公司", "title": "市场经理",
                 "addresses": [{"city": "杭州", "province": "浙江", "country": "CN", "kind": "work"}]},
      "organization": {"name": "示例科技有限公司"},
      "interactions": [{"type": "event_registered", "at": "2026-03-18T09:30:00+08:00",
                        "channel": "exhibition", "name": "2026 Expo"},
                       {"type": "event_checked_in", "channel": "exhibition", "name": "2026 Expo"}],
      "consents": [{"purpose": "marketing", "status": "denied", "channel": "any",
                    "at": "2026-03-18T09:30:00+08:00", "source": "exhibition_signup"}]}),
    ("exhibition_signup",
     {"姓名": "张伟", "手机": "", "邮箱": "", "公司": "", "职位": "", "城市": "", "省份": "", "签到": "否",
      "报名时间": "2026-03-18 10:05", "同意接收资讯": ""},
     {"person": {"name": {"full": "张伟", "family": "张", "given": "伟"}},
      "interactions": [{"type": "event_registered", "at": "2026-03-18T10:05:00+08:00",
                        "channel": "exhibition", "name": "2026 Expo"}]}),
    ("webform_contact",
     {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+442071234567",
      "company": "Analytical Engines Ltd", "job_title": "CTO", "country": "gb",
      "message": "Please call me", "submitted_at": "2026-03-18T09:30:00Z", "consent_marketing": "true"},
     {"person": {"name": {"given": "Ada", "family": "Lovelace", "full": "Ada Lovelace"},
                 "emails": [{"address": "ada@example.com"}], "phones": [{"number": "+442071234567"}],
                 "employer": "Analytical Engines Ltd", "title": "CTO", "addresses": [{"country": "GB"}]},
      "organization": {"name": "Analytical Engines Ltd", "country": "GB"},
      "interactions": [{"type": "form_submitted", "at": "2026-03-18T09:30:00+00:00", "channel": "website",
                        "name": "Contact form", "details": {"message": "Please call me"}}],
      "consents": [{"purpose": "marketing", "status": "granted", "channel": "email",
                    "at": "2026-03-18T09:30:00+00:00", "source": "webform_contact"}]}),
    ("wechat_followers",
     {"subscribe": 1, "openid": "otvxTs4dckWG7imySrJd6jSi0CWE", "language": "zh_CN",
      "subscribe_time": 1434093047, "unionid": "oR5GjjgEhCMJFyzaVZdrxZ2zRRF4", "remark": "王先生",
      "groupid": 0, "tagid_list": [128, 2], "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene": 98765,
      "qr_scene_str": ""},
     {"person": {"platform_ids": {"wechat_openid": "otvxTs4dckWG7imySrJd6jSi0CWE",
                                  "wechat_unionid": "oR5GjjgEhCMJFyzaVZdrxZ2zRRF4"},
                 "name": {"family": "王", "honorific": "先生"}, "language": "zh_CN",
                 "tags": ["wechat_tag:128", "wechat_tag:2"]},
      "interactions": [{"type": "subscribed", "at": "2015-06-12T07:10:47+00:00", "channel": "wechat",
                        "details": {"scene": "ADD_SCENE_QR_CODE"}}]}),
    ("wechat_followers",
     {"subscribe": 1, "openid": "otvxTs_JZ6SEiP0imdhpi50fuSZg", "language": "zh_CN",
      "subscribe_time": 1434093100, "remark": "", "tagid_list": [], "subscribe_scene": "ADD_SCENE_SEARCH"},
     {"person": {"platform_ids": {"wechat_openid": "otvxTs_JZ6SEiP0imdhpi50fuSZg"}, "language": "zh_CN"},
      "interactions": [{"type": "subscribed", "at": "2015-06-12T07:11:40+00:00", "channel": "wechat",
                        "details": {"scene": "ADD_SCENE_SEARCH"}}]}),
    ("crm_contacts_export",
     {"Contact ID": "3477061000000419001", "First Name": "Wei", "Last Name": "Zhang",
      "Full Name (Chinese)": "张伟", "Full Name": "Wei Zhang", "Email": "zhang.wei@example.cn",
      "Mobile": "+8613912345678",
      "Phone": "", "Account Name": "示例科技", "Title": "采购经理", "Birthdate": "1985-07-14",
      "Lead Source": "Trade Show", "Email Opt Out": "false", "Modified Time": "2026-03-01T08:00:00+08:00"},
     {"person": {"name": {"given": "伟", "family": "张", "full": "张伟",
                          "latin": {"given": "Wei", "family": "Zhang", "full": "Wei Zhang"}},
                 "emails": [{"address": "zhang.wei@example.cn"}],
                 "phones": [{"number": "+8613912345678", "kind": "mobile"}],
                 "employer": "示例科技", "title": "采购经理", "birth_date": "1985-07-14",
                 "tags": ["lead_source:Trade Show"],
                 "crm_ids": [{"system": "crm_export", "object": "Contacts", "id": "3477061000000419001"}]},
      "organization": {"name": "示例科技"},
      "consents": [{"purpose": "marketing", "status": "granted", "channel": "email",
                    "source": "crm_contacts_export"}]}),
    ("crm_contacts_export",
     {"Contact ID": 42, "First Name": "Ada", "Last Name": "Lovelace", "Full Name": None,
      "Email": "ada@example.com", "Email Opt Out": "TRUE", "Birthdate": "1815/12/10"},
     {"person": {"name": {"given": "Ada", "family": "Lovelace", "full": "Ada Lovelace",
                          "latin": {"given": "Ada", "family": "Lovelace", "full": "Ada Lovelace"}},
                 "emails": [{"address": "ada@example.com"}], "birth_date": "1815-12-10",
                 "crm_ids": [{"system": "crm_export", "object": "Contacts", "id": "42"}]},
      "consents": [{"purpose": "marketing", "status": "withdrawn", "channel": "email",
                    "source": "crm_contacts_export"}]}),
]


@pytest.mark.parametrize(("name", "raw", "expected"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_bundled_mapping_makes_a_canonical_record(name, raw, expected):
    path = find_mapping(name, [paths.bundled_dir("mappings")])
    assert path is not None
    partial = load_mapping(path).apply(raw)
    assert partial == expected
    assert schema_errors({**PROVENANCE, **partial}) == []


def test_every_bundled_mapping_loads():
    files = sorted(paths.bundled_dir("mappings").glob("*.yaml"))
    assert {f.stem for f in files} >= {"exhibition_signup", "webform_contact", "wechat_followers",
                                       "crm_contacts_export"}
    for file in files:
        assert load_mapping(file).name == file.stem


def test_the_documented_example_does_what_the_docs_say():
    doc = (ROOT / "docs" / "mappings.md").read_text("utf-8")
    example, output = re.findall(r"```(?:yaml|json)\n(.*?)```", doc, re.S)[:2]
    path = write(example, "exhibition_signup")
    row = {"姓名": "张伟", "手机": "13800138000", "邮箱": "zw@example.com", "公司": "示例科技",
           "报名时间": "2026-03-18 09:30", "同意接收资讯": "是"}
    assert load_mapping(path).apply(row) == json.loads(output)


class _CountingPlugin:
    """A transform that is not marked pure (it could read a clock or a counter)."""

    calls = 0

    @hookimpl
    def register_transforms(self, register):
        def stamp(value):
            _CountingPlugin.calls += 1
            return f"{value}#{_CountingPlugin.calls}"
        register("stamp", stamp, {})


def test_pipes_of_pure_transforms_run_once_per_value_and_others_every_time():
    plugin = _CountingPlugin()
    plugins.load_plugins()
    plugins.pm.register(plugin, name="test-counting-plugin")
    plugins.reset_registry()
    try:
        mapping = mapping_of({"person.title": {"from": "t", "pipe": ["strip", "stamp"]},
                              "person.name": {"from": "n", "pipe": ["split_name"]}})
        first, second = mapping.apply({"t": "x", "n": "张伟"}), mapping.apply({"t": "x", "n": "张伟"})
        assert (first["person"]["title"], second["person"]["title"]) == ("x#1", "x#2")  # not cached
        first["person"]["name"]["given"] = "changed"  # a cached mapping result is each record's own copy
        assert mapping.apply({"t": "x", "n": "张伟"})["person"]["name"] == {"full": "张伟", "family": "张",
                                                                         "given": "伟"}
    finally:
        plugins.pm.unregister(plugin)
        plugins.reset_registry()


def test_a_failing_value_fails_every_record_that_has_it():
    mapping = mapping_of({"interactions[]": [{"type": {"const": "purchase"}, "at": {
        "from": "at", "pipe": [{"parse_datetime": {"format": "%Y-%m-%d"}}]}}]})
    for _ in range(3):
        with pytest.raises(RecordError) as caught:
            mapping.apply({"at": "not a date"})
        assert "cannot parse date-time" in caught.value.reasons[0]
