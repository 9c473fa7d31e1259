"""Text normalisation shared by every cleaning step: NFKC, zero-width removal, one space, trimmed.

``clean_text`` is the single-string step; ``clean_value`` applies it to a whole JSON value and
reports an empty result as ``MISSING`` so that the caller drops the key (or list item).
``raw`` keys are kept verbatim: they hold the value as the source wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Final

# Zero-width space, non-joiner, joiner, word joiner and the byte-order mark. They are invisible,
# survive NFKC and make equal-looking values differ.
_ZERO_WIDTH: Final = re.compile("[\u200b-\u200d\u2060\ufeff]")


class _Missing:
    """The field became empty: the caller removes it."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@lru_cache(maxsize=1 << 16)  # customer data repeats itself: cities, titles, companies, constants
def clean_text(text: str) -> str:
    """NFKC (full width to half width, U+3000 to a space), no zero-width characters, single spaces,
    trimmed. Idempotent. ASCII is already NFKC and has no zero-width characters, hence the fast path.
    """
    if not text.isascii():
        # Zero-width characters go before NFKC, so that what they separated is composed like the
        # rest and a second pass changes nothing.
        text = unicodedata.normalize("NFKC", _ZERO_WIDTH.sub("", text))
    return " ".join(text.split())


def clean_value(value: Any) -> Any:
    """``value`` with every string cleaned, empty strings, ``None``, empty lists and empty objects
    dropped; ``MISSING`` when nothing is left. A new value: the input is never changed."""
    kind = type(value)
    if kind is str:
        return clean_text(value) or MISSING
    if kind is dict:
        return clean_mapping(value)
    if kind is list:
        return clean_list(value)
    if value is None:
        return MISSING
    return value


def clean_mapping(mapping: dict[Any, Any]) -> Any:
    """A cleaned copy of ``mapping`` (``raw`` kept verbatim), or ``MISSING`` when it ends up empty."""
    out: dict[Any, Any] = {}
    for key, value in mapping.items():
        if key == "raw":
            out[key] = copy_json(value)
            continue
        cleaned = clean_value(value)
        if cleaned is not MISSING:
            out[key] = cleaned
    return out or MISSING


def clean_list(items: list[Any]) -> Any:
    """A cleaned copy of ``items`` without the items that became empty, or ``MISSING``."""
    out = [cleaned for cleaned in map(clean_value, items) if cleaned is not MISSING]
    return out or MISSING


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value, much cheaper than ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    return value
