"""Small per-field rules: birth dates, country codes, language tags and tag lists.

Each takes a value that has been through ``clean_text`` (or a list of them) and leaves values of
the wrong type alone: the schema check reports those.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from hub.cleaning.text import MISSING, clean_value

EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SUBTAG_SEPARATOR: Final = re.compile(r"[-_]")


def birth_date_problem(value: Any, today: date) -> str | None:
    """What is wrong with ``value`` as a birth date, or ``None``."""
    if type(value) is not str:
        return None
    if not _ISO_DATE.fullmatch(value):
        return "must be a date written YYYY-MM-DD"
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return "not a calendar date"
    if born > today:
        return "is in the future"
    if born < EARLIEST_BIRTH_DATE:
        return f"is before {EARLIEST_BIRTH_DATE.isoformat()}"
    return None


def country_code(value: Any) -> Any:
    """``cn`` -> ``CN``. Only ASCII is touched: anything else cannot be a country code anyway."""
    return value.upper() if type(value) is str and value.isascii() else value


def language_tag(value: Any) -> Any:
    """``zh_cn`` -> ``zh-CN``, ``ZH-hans-cn`` -> ``zh-Hans-CN`` (BCP 47 case conventions)."""
    if type(value) is not str or not value.isascii():
        return value
    language, *subtags = _SUBTAG_SEPARATOR.split(value)
    return "-".join([language.lower(), *map(_subtag_case, subtags)])


def _subtag_case(subtag: str) -> str:
    if len(subtag) == 2 and subtag.isalpha():
        return subtag.upper()  # region
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()  # script
    return subtag.lower()


def tag_list(value: Any) -> Any:
    """Tags cleaned, empty ones dropped, duplicates dropped (first kept); ``MISSING`` if none left."""
    if type(value) is not list:
        return clean_value(value)
    tags = clean_value(value)
    if tags is MISSING:
        return MISSING
    seen: set[Any] = set()
    unique = []
    for tag in tags:
        key = tag if type(tag) is str else id(tag)
        if key not in seen:
            seen.add(key)
            unique.append(tag)
    return unique
