"""Value-free field facts: is a field present in a canonical record, which field a quarantine reason names."""

from __future__ import annotations

import re
from typing import Any

_INDEX = re.compile(r"\[\d+\]")
_NESTED = ("person", "organization")


def split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def present(record: dict[str, Any], parts: tuple[str, ...]) -> bool:
    """Whether the record holds a non-empty value at ``parts`` (e.g. ``("person", "emails")``)."""
    value: Any = record
    for part in parts:
        if type(value) is not dict:
            return False
        value = value.get(part)
        if value is None:
            return False
    return value not in ("", [], {})


def reason_field(reason: str) -> str:
    """``person.emails[0].address: not a valid e-mail`` -> ``person.emails``; ``*`` for the record as a whole."""
    path = _INDEX.sub("", reason.split(":", 1)[0].strip())
    parts = path.split(".")
    if parts[0] in _NESTED and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    if parts[0] in ("interactions", "consents", "provenance"):
        return parts[0]
    return "*"
