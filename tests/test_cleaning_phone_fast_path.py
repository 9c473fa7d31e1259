"""The CN mobile fast path of ``to_e164`` answers exactly as phonenumbers' own validation does."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from hub.cleaning.phones import to_e164, valid_national


def _library_valid(national: str, region: str) -> bool:
    number = phonenumbers.PhoneNumber(country_code=phonenumbers.country_code_for_region(region),
                                      national_number=int(national))
    return phonenumbers.is_valid_number_for_region(number, region)


def test_every_cn_mobile_block_is_judged_as_phonenumbers_judges_it():
    # Every 4-digit block 1000..1999 (validity depends on the leading digits) with random endings.
    rng = random.Random(5)
    valid = valid_national("CN")
    disagreements = []
    judged = {True: 0, False: 0}
    for block in range(1000, 2000):
        for _ in range(6):
            national = f"{block}{rng.randrange(10**7):07d}"
            expected = _library_valid(national, "CN")
            judged[expected] += 1
            if valid(national) != expected:
                disagreements.append(national)
    assert disagreements == []
    assert judged[True] > 1000 and judged[False] > 1000  # both answers were really exercised


@pytest.mark.parametrize("region", ["CN", "US", "GB", "DE", "HK"])
def test_other_lengths_and_regions_agree_with_phonenumbers(region):
    rng = random.Random(region)
    valid = valid_national(region)
    judged = set()
    for _ in range(3000):
        national = str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(rng.randrange(5, 12)))
        expected = _library_valid(national, region)
        judged.add(expected)
        assert valid(national) == expected, national
    assert judged == {True, False}


@pytest.mark.parametrize("text", ["13912345678", "+86 139 1234 5678", "0086-139-1234-5678", "8613912345678",
                                  "14012345678", "19912345678", "10012345678", "16012345678"])
def test_to_e164_on_mobile_shapes_matches_a_full_parse(text):
    parsed = phonenumbers.parse(text if not text.startswith("86") else "+" + text, "CN")
    expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_valid_number(parsed) else None
    assert to_e164(text, "CN") == expected
