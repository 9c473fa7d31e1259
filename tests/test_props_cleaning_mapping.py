"""Properties of the normalisers (hub/cleaning) and the mapping engine (hub/mapping), with hypothesis.

No input may raise outside the documented outcomes: a normaliser returns a value or a problem, a
mapping returns a record or raises ``RecordError`` (whose reasons never carry the input value), and
the cleaner returns reasons instead of raising. Normalisers are idempotent, and their output is in the
form they promise (E.164, lower-case address, NFKC text). Example counts stay small for CI.
"""

from __future__ import annotations

import re
import unicodedata

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hub.cleaning import Cleaner
from hub.cleaning.emails import normalize_email
from hub.cleaning.names import clean_name
from hub.cleaning.phones import to_e164
from hub.cleaning.text import clean_text
from hub.errors import RecordError
from hub.mapping import load_mapping
from hub.paths import bundled_dir

CI = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text people type: CJK, full-width digits, zero-width characters, quotes, NUL, emoji, combining marks
MESSY = st.text(alphabet=st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(list("王李张伟芳０１２３４５６７８９+-() .@_%'\"\\\u200b\u200d\ufeff\x00\u3000")),
), max_size=60)
PHONE_LIKE = st.from_regex(r"\A[+0０]?[0-9０-９ ()\-]{5,18}\Z")
EMAIL_LIKE = st.from_regex(r"\A[ <]?(mailto:)?[A-Za-z0-9._%+\-]{1,20}@[A-Za-z0-9\-]{1,15}\.[A-Za-z]{2,6}[> ]?\Z")
E164 = re.compile(r"\+[1-9]\d{6,14}")


@CI
@given(MESSY)
def test_clean_text_is_idempotent_and_nfkc(text):
    once = clean_text(text)
    assert clean_text(once) == once
    assert unicodedata.normalize("NFKC", once) == once
    assert "\u200b" not in once and "\ufeff" not in once
    assert once == once.strip()


@CI
@given(st.one_of(MESSY, PHONE_LIKE), st.sampled_from(["CN", "US", "GB", "DE", "HK"]))
def test_to_e164_gives_e164_or_none_and_is_idempotent(text, region):
    number = to_e164(clean_text(text), region)
    if number is not None:
        assert E164.fullmatch(number), number
        assert to_e164(number, region) == number


@CI
@given(st.one_of(MESSY, EMAIL_LIKE))
def test_normalize_email_gives_an_address_or_a_problem(text):
    address, problem = normalize_email(clean_text(text))
    assert (address is None) != (problem is None)
    if address is not None:
        assert address == address.lower() or not address.isascii()
        assert "@" in address and " " not in address
        assert normalize_email(address) == (address, None)
    else:
        # The problem never echoes the input (a character or two may occur in its own words).
        assert len(text.strip()) < 3 or text.strip() not in problem


@CI
@given(st.fixed_dictionaries({}, optional={"full": MESSY, "family": MESSY, "given": MESSY, "prefix": MESSY}))
def test_clean_name_never_raises_and_is_stable(name):
    cleaned = clean_name(name)
    again = clean_name(cleaned.name) if isinstance(cleaned.name, dict) else None
    if again is not None:
        assert {k: v for k, v in again.name.items() if k != "raw"} == \
            {k: v for k, v in cleaned.name.items() if k != "raw"}


RECORDS = st.dictionaries(
    st.sampled_from(["first_name", "last_name", "email", "phone", "company", "job_title", "country", "message",
                     "submitted_at", "consent_marketing", "id", "姓名", "手机", "邮箱"]),
    st.one_of(MESSY, PHONE_LIKE, EMAIL_LIKE, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
              st.lists(MESSY, max_size=3), st.dictionaries(st.text(max_size=5), MESSY, max_size=3)),
    max_size=10)


def _mappings():
    return {p.stem: load_mapping(p) for p in sorted(bundled_dir("mappings").glob("*.yaml"))}


MAPPINGS = _mappings()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MAPPINGS)), RECORDS)
def test_every_bundled_mapping_maps_or_reports_a_record_error(name, raw):
    mapping = MAPPINGS[name]
    try:
        mapped = mapping.apply(raw)
    except RecordError as error:
        text = str(error)
        for value in raw.values():  # reasons name fields and problems, never the values
            if isinstance(value, str) and len(value) >= 6 and value.strip() == value:
                assert value not in text
        return
    assert isinstance(mapped, dict)
    cleaned, reasons = Cleaner(default_region="CN").clean(mapped)
    assert isinstance(cleaned, dict) and isinstance(reasons, list)
    assert mapping.apply(raw) == mapped  # deterministic


@CI
@given(st.lists(st.sampled_from(["strip", "lower", "upper", "to_string", "first", "as_list", "to_bool",
                                 "parse_datetime", "join_name", "split"]), min_size=1, max_size=4),
       st.one_of(MESSY, st.integers(), st.lists(MESSY, max_size=3), st.none()))
def test_transform_pipes_raise_only_record_errors(tmp_path_factory, pipe, value):
    assume(pipe)
    folder = tmp_path_factory.mktemp("m")
    path = folder / "pipe_test.yaml"
    path.write_text(yaml.safe_dump({"name": "pipe_test", "fields": {"person.title": {"from": "v", "pipe": pipe}}}),
                    "utf-8")
    try:
        mapping = load_mapping(path)
    except Exception as error:  # an invalid pipe is refused at load with a ConfigError
        from hub.errors import ConfigError
        assert isinstance(error, ConfigError)
        return
    try:
        mapping.apply({"v": value})
    except RecordError:
        pass
