"""Which writing system a name is in: ``han``, ``latin``, ``mixed`` or ``other``.

Only letters count: spaces, digits, punctuation, middle dots and combining marks are ignored.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

# Han ideographs, with radicals, 々 and 〇 (which NFKC leaves alone or maps to ideographs).
_HAN_CLASS: Final = "\u2e80-\u2fdf\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
_HAN_RUN: Final = re.compile(f"[{_HAN_CLASS}]+")
# Latin letters beyond ASCII (× and ÷ are not letters, so isalpha() already rules them out).
_LATIN_LETTER: Final = re.compile("[\u00c0-\u02af\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\uab30-\uab6f]")


def is_han(text: str) -> bool:
    """``text`` is not empty and every character in it is a Han ideograph."""
    return not text.isascii() and _HAN_RUN.fullmatch(text) is not None


@lru_cache(maxsize=1 << 14)  # names and their parts repeat
def script_of(text: str) -> str | None:
    """The script of the letters in ``text``; ``None`` when it has no letters."""
    if text.isascii():
        return "latin" if any(char.isalpha() for char in text) else None
    rest = _HAN_RUN.sub("", text)
    found = {"han"} if len(rest) < len(text) else set()
    for char in rest:
        if char.isalpha():
            found.add("latin" if char.isascii() or _LATIN_LETTER.match(char) else "other")
            if len(found) > 1:
                return "mixed"
    return found.pop() if found else None
