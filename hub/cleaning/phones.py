"""Phone numbers to E.164 with ``phonenumbers``, in the default region when no country code is given.

``phonenumbers.parse`` costs about 13 µs, so the commonest shape, a Chinese mobile number (with or
without +86, 0086 or 86 in front, with any separators), is recognised by a regular expression and
only checked against phonenumbers' own CN metadata (``valid_national``): the same test as
``phonenumbers.is_valid_number``, with the patterns compiled once and the likeliest type first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Final

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from hub.errors import ConfigError

_E164: Final = phonenumbers.PhoneNumberFormat.E164
# Separators people type between digit groups; removed before the mobile fast path.
_SEPARATORS: Final = str.maketrans("", "", " -().")
_CN_MOBILE: Final = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
# The number types phonenumbers tries (``_number_type_helper``); a number is valid when its region's
# general pattern and one of these match. Mobile and fixed line first: they are the common answers.
_TYPES: Final = ("mobile", "fixed_line", "premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
                 "pager", "uan", "voicemail")
# "转" and "分机" mean "extension"; phonenumbers only knows the Latin spellings.
_CHINESE_EXTENSION: Final = re.compile(r"\s*(?:转|轉|分机|分機)\s*")


def check_region(region: str) -> str:
    """``region`` upper-cased, or a ``ConfigError`` when phonenumbers does not know it."""
    upper = region.upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"unknown phone region {region!r}",
                          fix="use a two-letter ISO 3166 region code such as 'CN'")
    return upper


def to_e164(text: str, region: str) -> str | None:
    """``text`` (already through ``clean_text``) as an E.164 number, or ``None`` when it is not a
    valid number. An extension is not part of E.164 and is left out."""
    if region == "CN":
        mobile = _CN_MOBILE.fullmatch(text.translate(_SEPARATORS))
        if mobile is not None:
            return "+86" + mobile[1] if valid_national("CN")(mobile[1]) else None
    try:
        number = phonenumbers.parse(_CHINESE_EXTENSION.sub(" ext. ", text), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, _E164)
    # E.164 allows at most 15 digits; phonenumbers accepts a few longer national patterns (e.g. DE
    # "20100000000000"), which no CRM would take as a phone.
    return e164 if len(e164) <= 16 else None


@cache
def valid_national(region: str) -> Callable[[str], bool]:
    """Whether a national significant number (digits, no leading zero) is valid in ``region``, as
    ``phonenumbers.is_valid_number`` decides it (a number desc with possible lengths is tried only
    for those lengths; its pattern must match the whole number). Per length, the general pattern and
    the type patterns that allow it are one regular expression: one match call per number."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:  # not a region phonenumbers knows: no number is valid there
        return lambda number: False

    def matcher(desc) -> tuple[frozenset[int], str] | None:  # noqa: ANN001
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length), desc.national_number_pattern

    general = matcher(metadata.general_desc)
    types = tuple(m for m in (matcher(getattr(metadata, name)) for name in _TYPES) if m is not None)
    by_length: dict[int, re.Pattern[str] | None] = {}  # a handful of lengths per region

    def valid(number: str) -> bool:
        length = len(number)
        if length not in by_length:
            by_length[length] = _length_pattern(general, types, length)
        pattern = by_length[length]
        return pattern is not None and pattern.fullmatch(number) is not None
    return valid


def _length_pattern(general: tuple[frozenset[int], str] | None, types: tuple[tuple[frozenset[int], str], ...],
                    length: int) -> re.Pattern[str] | None:
    """One expression for the numbers of ``length`` digits: the general pattern and the type patterns."""
    allowed = [pattern for lengths, pattern in types if not lengths or length in lengths]
    if general is None or (general[0] and length not in general[0]) or not allowed:
        return None
    return re.compile(f"(?=(?:{general[1]})\\Z)(?:{'|'.join(allowed)})")


def invalid_phone(region: str) -> str:
    """The value-free reason for a number that is not valid."""
    return f"not a valid phone number for region {region}"
