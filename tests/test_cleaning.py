"""The cleaning step: exact outputs for known inputs, value-free reasons, and two properties
(cleaning is idempotent and never raises)."""

from __future__ import annotations

import copy
from typing import Any

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub.cleaning
from hub.cleaning import Cleaner
from hub.cleaning.emails import normalize_email
from hub.cleaning.phones import to_e164
from hub.cleaning.text import clean_text
from hub.errors import ConfigError

PROVENANCE = {"connection": "crm", "stream": "contacts", "source_pk": " 42 ",
              "read_at": "2026-01-01T00:00:00Z"}
CLEANER = Cleaner()


def record(**parts: Any) -> dict[str, Any]:
    return {"schema_version": "1.0", "provenance": copy.deepcopy(PROVENANCE), **parts}


def clean_person(person: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    out, reasons = CLEANER.clean(record(person=person))
    return out.get("person"), reasons


def test_public_api() -> None:
    assert hub.cleaning.__all__ == ["Cleaner"]
    assert Cleaner().default_region == "CN"
    assert Cleaner("us").default_region == "US"


def test_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown phone region 'XX'"):
        Cleaner("XX")


@pytest.mark.parametrize(("text", "expected"), [
    ("  Acme\u3000 Ltd  ", "Acme Ltd"),
    ("ＡＣＭＥ　科技", "ACME 科技"),          # full-width letters and U+3000
    ("１２３", "123"),
    ("张\u200b三", "张三"),                   # zero-width space
    ("\ufeffa\u200cb\u200dc", "abc"),         # BOM, ZWNJ, ZWJ
    ("a\n\t b", "a b"),
    ("e\u200b\u0301", "é"),                   # what the zero-width space kept apart is composed
    (" \u200b ", ""),
])
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(("number", "expected"), [
    ("１３８００１３８０００", {"number": "+8613800138000", "raw": "１３８００１３８０００"}),
    ("+86 138-0013-8000", {"number": "+8613800138000", "raw": "+86 138-0013-8000"}),
    ("0086 13800138000", {"number": "+8613800138000", "raw": "0086 13800138000"}),
    ("86-138-0013-8000", {"number": "+8613800138000", "raw": "86-138-0013-8000"}),
    ("8613800138000", {"number": "+8613800138000", "raw": "8613800138000"}),
    ("138 0013 8000", {"number": "+8613800138000", "raw": "138 0013 8000"}),
    ("(+86)13800138000", {"number": "+8613800138000", "raw": "(+86)13800138000"}),
    ("+8613800138000", {"number": "+8613800138000"}),
    ("(010) 6552 9988", {"number": "+861065529988", "raw": "(010) 6552 9988"}),
    ("＋８６ (0)10 6552 9988", {"number": "+861065529988", "raw": "＋８６ (0)10 6552 9988"}),
    ("138 0013 8000 ext. 12", {"number": "+8613800138000", "raw": "138 0013 8000 ext. 12"}),
    ("138 0013 8000 转 12", {"number": "+8613800138000", "raw": "138 0013 8000 转 12"}),
    ("+1 650-253-0000", {"number": "+16502530000", "raw": "+1 650-253-0000"}),
])
def test_phone_numbers_become_e164_and_keep_raw(number: str, expected: dict[str, str]) -> None:
    person, reasons = clean_person({"phones": [{"number": number, "kind": "mobile"}]})
    assert reasons == []
    assert person == {"phones": [{**expected, "kind": "mobile"}]}


def test_existing_raw_is_not_overwritten() -> None:
    person, _ = clean_person({"phones": [{"number": "138 0013 8000", "raw": "138-0013-8000 (mobile)"}]})
    assert person == {"phones": [{"number": "+8613800138000", "raw": "138-0013-8000 (mobile)"}]}


def test_phone_region_applies_to_numbers_without_country_code() -> None:
    out, reasons = Cleaner("US").clean(record(person={"phones": [{"number": "(650) 253-0000"}]}))
    assert reasons == []
    assert out["person"]["phones"][0]["number"] == "+16502530000"


@pytest.mark.parametrize("number", ["12345", "14000138000", "+86 138 0013 800", "95588", "phone", "+"])
def test_invalid_phone_numbers_are_reported_once(number: str) -> None:
    person, reasons = clean_person({"phones": [{"number": number}]})
    assert reasons == ["person.phones[0].number: not a valid phone number for region CN"]
    assert person == {"phones": [{"number": number}]}


def test_duplicate_phone_numbers_are_dropped() -> None:
    person, reasons = clean_person({"phones": [
        {"number": "13800138000"}, {"number": "+86 138 0013 8000", "kind": "work"},
        {"number": "010 6552 9988"}, {"number": "nope"}]})
    assert person == {"phones": [{"number": "+8613800138000", "raw": "13800138000"},
                                 {"number": "+861065529988", "raw": "010 6552 9988"},
                                 {"number": "nope"}]}
    assert reasons == ["person.phones[2].number: not a valid phone number for region CN"]


@pytest.mark.parametrize(("address", "expected"), [
    ("Ada@Example.COM ", {"address": "ada@example.com", "raw": "Ada@Example.COM "}),
    ("ada@example.com", {"address": "ada@example.com"}),
    ("mailto:Ada@Example.com", {"address": "ada@example.com", "raw": "mailto:Ada@Example.com"}),
    ("<ada@example.com>", {"address": "ada@example.com", "raw": "<ada@example.com>"}),
    ("<MAILTO:ada@example.com>", {"address": "ada@example.com", "raw": "<MAILTO:ada@example.com>"}),
    ("ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ",
     {"address": "zhang@example.com", "raw": "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"}),
    ("张三@例子.中国", {"address": "张三@例子.中国"}),
    ("a@xn--fsq.com", {"address": "a@例.com", "raw": "a@xn--fsq.com"}),
])
def test_emails_are_lowercased_and_keep_raw(address: str, expected: dict[str, str]) -> None:
    person, reasons = clean_person({"emails": [{"address": address}]})
    assert reasons == []
    assert person == {"emails": [expected]}


def test_duplicate_emails_are_dropped() -> None:
    person, reasons = clean_person({"emails": [{"address": "ada@example.com", "kind": "work"},
                                               {"address": "ADA@example.com"}]})
    assert (person, reasons) == ({"emails": [{"address": "ada@example.com", "kind": "work"}]}, [])


@pytest.mark.parametrize(("address", "problem"), [
    ("ada@example", "the domain has no dot"),
    ("ada.example.com", "there is no @"),
    ("@example.com", "nothing before the @"),
    ("ada@", "nothing after the @"),
    ("ada..lovelace@example.com", "two dots in a row"),
    ("ada lovelace@example.com", "invalid characters before the @"),
    ("Ada Lovelace <ada@example.com>", "it has a display name or angle brackets"),
    ("ada@localhost.local", "the domain is a special-use or reserved name"),
    ("ada@[192.0.2.1]", "the domain is an address literal"),
])
def test_invalid_emails_are_reported_without_the_address(address: str, problem: str) -> None:
    person, reasons = clean_person({"emails": [{"address": "ok@example.com"}, {"address": address}]})
    assert reasons == [f"person.emails[1].address: not a valid e-mail address ({problem})"]


NAMES = [
    ({"full": "王先生"},
     {"family": "王", "honorific": "先生", "script": "han", "raw": "王先生"}, "male"),
    ({"full": "王 先生"},
     {"family": "王", "honorific": "先生", "script": "han", "raw": "王 先生"}, "male"),
    ({"full": "欧阳女士"},
     {"family": "欧阳", "honorific": "女士", "script": "han", "raw": "欧阳女士"}, "female"),
    ({"full": "李总"},
     {"family": "李", "honorific": "总", "script": "han", "raw": "李总"}, None),
    ({"full": "王伟先生"},
     {"full": "王伟", "family": "王", "given": "伟", "honorific": "先生", "script": "han", "raw": "王伟先生"},
     "male"),
    ({"full": "张 伟"},
     {"full": "张伟", "family": "张", "given": "伟", "script": "han", "raw": "张 伟"}, None),
    ({"full": "张\u3000伟"},
     {"full": "张伟", "family": "张", "given": "伟", "script": "han", "raw": "张\u3000伟"}, None),
    ({"full": "张\u200b伟"},
     {"full": "张伟", "family": "张", "given": "伟", "script": "han", "raw": "张\u200b伟"}, None),
    ({"full": "欧阳娜娜"},
     {"full": "欧阳娜娜", "family": "欧阳", "given": "娜娜", "script": "han"}, None),
    ({"full": "司马光"},
     {"full": "司马光", "family": "司马", "given": "光", "script": "han"}, None),
    ({"full": "欧阳"},
     {"full": "欧阳", "family": "欧阳", "script": "han"}, None),
    ({"full": "阿卜杜勒・克里木"},
     {"full": "阿卜杜勒·克里木", "script": "han", "raw": "阿卜杜勒・克里木"}, None),
    ({"family": "张", "given": "伟"},
     {"full": "张伟", "family": "张", "given": "伟", "script": "han"}, None),
    ({"family": "王", "given": "先生"},
     {"family": "王", "honorific": "先生", "script": "han", "raw": "王先生"}, "male"),
    ({"full": "Mr. JOHN SMITH"},
     {"full": "John Smith", "given": "John", "family": "Smith", "honorific": "Mr", "script": "latin",
      "raw": "Mr. JOHN SMITH"}, "male"),
    ({"full": "Ms Smith"},
     {"family": "Smith", "honorific": "Ms", "script": "latin", "raw": "Ms Smith"}, "female"),
    ({"full": "Dr. Ada Lovelace"},
     {"full": "Ada Lovelace", "given": "Ada", "family": "Lovelace", "honorific": "Dr", "script": "latin",
      "raw": "Dr. Ada Lovelace"}, None),
    ({"full": "ADA LOVELACE"},
     {"full": "Ada Lovelace", "script": "latin", "raw": "ADA LOVELACE"}, None),
    ({"full": "ada  lovelace"},
     {"full": "Ada Lovelace", "script": "latin", "raw": "ada  lovelace"}, None),
    ({"full": "Mary McDonald"},
     {"full": "Mary McDonald", "script": "latin"}, None),
    ({"full": "Drew Barrymore"},
     {"full": "Drew Barrymore", "script": "latin"}, None),
    ({"given": "ada", "family": "LOVELACE"},
     {"full": "Ada Lovelace", "given": "Ada", "family": "Lovelace", "script": "latin", "raw": "ada LOVELACE"},
     None),
    ({"full": "ＺＨＡＮＧ Ｗｅｉ"},
     {"full": "ZHANG Wei", "script": "latin", "raw": "ＺＨＡＮＧ Ｗｅｉ"}, None),
    ({"full": "张伟 David"}, {"full": "张伟 David", "script": "mixed"}, None),
    ({"full": "김민준"}, {"full": "김민준", "script": "other"}, None),
    ({"full": "先生"}, None, "male"),
    ({"full": "  Mrs. "}, None, "female"),
    ({"full": "\u200b"}, None, None),
]


@pytest.mark.parametrize(("name", "expected", "gender"), NAMES)
def test_names(name: dict[str, str], expected: dict[str, str] | None, gender: str | None) -> None:
    person, reasons = clean_person({"name": name, "employer": "Acme"})
    assert reasons == []
    assert person.get("name") == expected
    assert person.get("gender") == gender


def test_a_given_gender_is_not_overridden() -> None:
    person, _ = clean_person({"name": {"full": "王先生"}, "gender": "unknown"})
    assert person["gender"] == "unknown"


@pytest.mark.parametrize(("name", "reason"), [
    ({"full": "13800138000"}, "person.name.full: not a name"),
    ({"full": "138 0013 8000"}, "person.name.full: not a name"),
    ({"given": "ada@example.com"}, "person.name.given: not a name"),
    ({"full": "Ada", "latin": {"family": "1234"}}, "person.name.latin.family: not a name"),
])
def test_not_a_name(name: dict[str, Any], reason: str) -> None:
    assert clean_person({"name": name})[1] == [reason]


def test_other_person_fields() -> None:
    person, reasons = clean_person({
        "birth_date": "１９９０-０１-０２", "language": "zh_cn",
        "tags": [" vip ", "vip", "", "\u200b", "lead"],
        "addresses": [{"country": "cn", "city": " 北京 "}], "employer": "  ", "title": "ＣＴＯ",
        "crm_ids": [], "platform_ids": {"wechat_openid": " "}})
    assert reasons == []
    assert person == {"birth_date": "1990-01-02", "language": "zh-CN", "tags": ["vip", "lead"],
                      "addresses": [{"country": "CN", "city": "北京"}], "title": "CTO"}


@pytest.mark.parametrize(("language", "expected"), [
    ("zh_CN", "zh-CN"), ("ZH-hans-cn", "zh-Hans-CN"), ("en", "en"), ("yue_hk", "yue-HK")])
def test_language_tags(language: str, expected: str) -> None:
    assert clean_person({"language": language})[0] == {"language": expected}


@pytest.mark.parametrize(("birth_date", "reason"), [
    ("2999-01-01", "person.birth_date: is in the future"),
    ("1899-12-31", "person.birth_date: is before 1900-01-01"),
    ("1990-02-30", "person.birth_date: not a calendar date"),
    ("02/01/1990", "person.birth_date: must be a date written YYYY-MM-DD"),
])
def test_bad_birth_dates(birth_date: str, reason: str) -> None:
    assert clean_person({"birth_date": birth_date})[1] == [reason]


def test_organization_and_key_contacts() -> None:
    out, reasons = CLEANER.clean(record(organization={
        "name": " 北京\u3000某某科技 ", "country": "cn",
        "key_contacts": [{"name": " 王伟 ", "phone": "138-0013-8000", "email": "Wang@Example.com"},
                         {"role": "CEO", "phone": "1234"}]}))
    assert out["organization"] == {
        "name": "北京 某某科技", "country": "CN",
        "key_contacts": [{"name": "王伟", "phone": "+8613800138000", "email": "wang@example.com"},
                         {"role": "CEO", "phone": "1234"}]}
    assert reasons == ["organization.key_contacts[1].phone: not a valid phone number for region CN"]


def test_provenance_details_and_raw_are_left_alone() -> None:
    details = {"answer": "  ＡＢＣ  ", "empty": "", "list": []}
    original = record(
        person={"name": {"full": "张 伟", "raw": " 张 伟 "}, "emails": [{"address": "a@b.com", "raw": "  "}]},
        interactions=[{"type": "form_submitted", "name": " Spring\u3000webinar ", "details": details},
                      {"type": "other", "channel": " "}])
    before = copy.deepcopy(original)
    out, reasons = CLEANER.clean(original)
    assert original == before  # the input is not changed
    assert reasons == []
    assert out["provenance"] == PROVENANCE
    assert out["person"]["name"]["raw"] == " 张 伟 "
    assert out["person"]["emails"] == [{"address": "a@b.com", "raw": "  "}]
    assert out["interactions"] == [
        {"type": "form_submitted", "name": "Spring webinar", "details": details}, {"type": "other"}]
    assert out["interactions"][0]["details"] is not details


def test_empty_values_disappear_and_schema_reasons_follow() -> None:
    out, reasons = CLEANER.clean(record(person={"name": {"full": " "}, "phones": [{"number": "\u3000"}]}))
    assert out == record()
    assert reasons == ["(record): needs a person or an organization"]


def test_schema_reasons_are_appended() -> None:
    out, reasons = CLEANER.clean(record(person={"gender": "M", "phones": [{"number": "1234"}]}, extra=1))
    assert reasons == ["person.phones[0].number: not a valid phone number for region CN",
                       "(record): unknown field 'extra'",
                       "person.gender: must be one of male, female, other, unknown"]


SENTINEL = "7QzXj9"


def test_reasons_never_contain_values() -> None:
    bad = {
        "name": {"full": f"{SENTINEL}@x", "given": SENTINEL + "1", "latin": {"full": "1" + SENTINEL + "@"},
                 "script": SENTINEL},
        "phones": [{"number": SENTINEL}, {"number": f"+86 {SENTINEL}"}, {"number": "1" * 40 + SENTINEL}],
        "emails": [{"address": f"{SENTINEL}@example"}, {"address": f"{SENTINEL} x@example.com"},
                   {"address": f"{SENTINEL}@[127.0.0.1]"}, {"address": f"<{SENTINEL}@example.com"},
                   {"address": f'"{SENTINEL}"@example.com'}, {"address": f"{SENTINEL}\u00a0@example.com"},
                   {"address": f"{SENTINEL}@{SENTINEL}..com"}, {"address": SENTINEL * 50 + "@example.com"}],
        "birth_date": SENTINEL, "gender": SENTINEL, "language": SENTINEL + " x", "tags": [1],
        "addresses": [{"country": SENTINEL}], "lifecycle_stage": SENTINEL,
    }
    out, reasons = CLEANER.clean(record(person=bad, organization={"country": SENTINEL, "key_contacts": [
        {"phone": SENTINEL, "email": SENTINEL}]}, consents=[{"status": SENTINEL}]))
    assert len(reasons) >= 20
    assert not [reason for reason in reasons if SENTINEL.lower() in reason.lower()]


# -- properties -----------------------------------------------------------------------------------

def pieces(*alphabet: str, max_size: int = 10) -> st.SearchStrategy[str]:
    """Strings glued from ``alphabet``'s pieces, which may be longer than one character."""
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map("".join)


NAMEISH = pieces(*"王张欧阳司马娜伟先生女士小姐总经理博士教授太夫人老师",
                 *" ·・.-'@1１ＡaBcMrsDPofi\u3000\u200b\u0301İß",
                 "Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Mr.", "先生", "欧阳", "MC")
TEXT = st.one_of(st.text(max_size=20), NAMEISH)
DIGITISH = pieces(*"0123456789１３８ +-()#x转", "86", "0086", "+86", "ext.", max_size=16)
EMAILISH = st.one_of(st.text(max_size=20), st.emails().map(lambda e: e.swapcase()),
                     pieces(*"aZ.@<>-_+1 ", "mailto:", ".com", "例"))


def optional(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


RECORDS = st.fixed_dictionaries({"schema_version": st.just("1.0"), "provenance": st.fixed_dictionaries({
    "connection": TEXT, "stream": TEXT, "source_pk": TEXT, "read_at": TEXT})}, optional={
    "person": optional(
        name=optional(full=TEXT, family=TEXT, given=TEXT, nickname=TEXT, honorific=TEXT, raw=TEXT,
                      latin=optional(full=TEXT, family=TEXT, given=TEXT)),
        gender=st.one_of(TEXT, st.sampled_from(["male", "female", "unknown"])),
        birth_date=st.one_of(TEXT, st.dates().map(str)),
        phones=st.lists(optional(number=st.one_of(DIGITISH, TEXT), kind=TEXT, raw=TEXT), max_size=3),
        emails=st.lists(optional(address=EMAILISH, kind=TEXT), max_size=3),
        addresses=st.lists(optional(country=TEXT, city=TEXT, street=TEXT), max_size=2),
        employer=TEXT, title=TEXT, language=st.one_of(TEXT, st.from_regex(r"[a-zA-Z]{2}[-_][a-zA-Z]{2,4}")),
        tags=st.lists(TEXT, max_size=4),
    ),
    "organization": optional(name=TEXT, country=TEXT, key_contacts=st.lists(
        optional(name=TEXT, phone=st.one_of(DIGITISH, TEXT), email=EMAILISH), max_size=2)),
    "interactions": st.lists(optional(type=TEXT, name=TEXT, details=st.dictionaries(TEXT, TEXT, max_size=2)),
                             max_size=2),
    "consents": st.lists(optional(purpose=TEXT, status=TEXT), max_size=2),
})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS)
def test_cleaning_is_idempotent_and_never_raises(candidate: dict[str, Any]) -> None:
    before = copy.deepcopy(candidate)
    cleaned, reasons = CLEANER.clean(candidate)
    assert candidate == before
    assert all(isinstance(reason, str) and ": " in reason for reason in reasons)
    again, reasons_again = CLEANER.clean(cleaned)
    assert again == cleaned
    assert reasons_again == reasons


TITLED = pieces(*"太士女小姐老师经理博教授夫人总先生王欧阳 ·.M", "Mr", "Mr.", "Dr ", "a", "B", max_size=5)


@settings(max_examples=600, deadline=None)
@given(optional(full=TITLED, family=TITLED, given=TITLED))
def test_names_full_of_titles_are_cleaned_idempotently(name: dict[str, str]) -> None:
    cleaned, reasons = CLEANER.clean(record(person={"name": name, "employer": "Acme"}))
    assert CLEANER.clean(cleaned) == (cleaned, reasons)


@settings(max_examples=300, deadline=None)
@given(st.one_of(DIGITISH, st.from_regex(r"(\+86|0086|86)?[ -]?1[0-9]{2}[ -]?[0-9]{4}[ -]?[0-9]{4}",
                                         fullmatch=True)))
def test_mobile_fast_path_agrees_with_phonenumbers(text: str) -> None:
    text = clean_text(text)
    try:
        number = phonenumbers.parse(text.replace("转", " ext. "), "CN")
        expected = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_valid_number(number) else None)
    except phonenumbers.NumberParseException:
        expected = None
    assert to_e164(text, "CN") == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.emails(), pieces(*"az09.-_+!#'@", ".com", "xn--", max_size=16)))
def test_email_fast_path_agrees_with_email_validator(text: str) -> None:
    candidate = text.lower()
    try:
        expected = validate_email(candidate, check_deliverability=False, allow_smtputf8=True).normalized
    except EmailNotValidError:
        expected = None
    assert normalize_email(candidate)[0] == expected


def test_a_number_longer_than_e164_allows_is_not_a_phone():
    """Found by the property test: phonenumbers accepts a 16-digit German number."""
    from hub.cleaning.phones import to_e164

    assert to_e164("+4920100000000000", "CN") is None
    assert to_e164("+49 30 12345678", "CN") == "+493012345678"


def test_repeated_addresses_and_interactions_are_cleaned_alike_into_separate_objects():
    cleaner = Cleaner()
    record = {"person": {"name": {"full": "张伟"}, "addresses": [{"city": "深圳 ", "country": "cn"}]},
              "interactions": [{"type": "event_registered", "at": "2026-03-01T09:30:00+08:00", "name": "Ｅｘｐｏ"}]}
    first, _ = cleaner.clean(record)
    second, _ = cleaner.clean(record)
    assert first == second
    assert first["person"]["addresses"][0] == {"city": "深圳", "country": "CN"}
    assert first["interactions"][0]["name"] == "Expo"
    first["person"]["addresses"][0]["city"] = "changed"
    first["interactions"][0]["name"] = "changed"
    third, _ = cleaner.clean(record)
    assert third == second and third["person"]["addresses"][0]["city"] == "深圳"


# Han names that look clean, and the characters that make them not: titles (先生, 总), a compatibility
# ideograph (U+F900) and a Kangxi radical (U+2F00) that NFKC changes, a middle dot, a space, Latin.
HANNISH = pieces(*"王张欧阳伟芳娜々〇", "先生", "女士", "总", "\uf900", "\u2f00", "·", " ", "a", max_size=4)


@settings(max_examples=1500, deadline=None)
@given(optional(full=HANNISH, family=HANNISH, given=HANNISH), st.booleans())
def test_plain_han_name_fast_path_agrees_with_the_full_cleaning(name: dict[str, str], joined: bool) -> None:
    from hub.cleaning.names import _clean_name, _plain_han_name, clean_name
    if joined and "family" in name and "given" in name:
        name["full"] = name["family"] + name["given"]
    expected = _clean_name(dict(name))
    plain = _plain_han_name(name)
    if plain is not None:
        assert (plain, None, []) == (expected.name, expected.gender, expected.problems)
        assert list(plain) == list(expected.name)  # the same key order: the stored JSON is the same
    assert clean_name(name) == expected


def test_plain_han_name_fast_path_is_taken_for_common_names() -> None:
    from hub.cleaning.names import _plain_han_name
    assert _plain_han_name({"full": "张伟", "family": "张", "given": "伟"}) is not None
    assert _plain_han_name({"family": "欧阳", "given": "娜娜"}) is not None
    assert _plain_han_name({"full": "王总", "family": "王", "given": "总"}) is None
    assert _plain_han_name({"full": "张伟", "family": "张", "given": "芳"}) is None
