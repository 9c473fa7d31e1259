"""Person names: honorifics out, Han names split into family and given, Latin case repaired.

``clean_name`` takes ``person.name`` as mapped and returns the cleaned name (``None`` when nothing
that is a name is left), the gender its honorific implies, and value-free problems.
``name.raw`` keeps the name as the source wrote it when a part the source gave was changed or
removed (not when parts were only added, as in splitting 张伟 into 张 and 伟).
The order of the steps makes the result stable: cleaning a cleaned name changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from hub.cleaning.scripts import is_han, script_of
from hub.cleaning.text import MISSING, clean_text, clean_value, copy_json

_PARTS: Final = ("full", "family", "given")
_PART_SET: Final = frozenset(_PARTS)
# Two-character suffixes before one-character ones; 总/總 only directly after a surname.
_HAN_SUFFIXES: Final = ("先生", "女士", "小姐", "太太", "夫人", "老师", "老師", "经理", "經理",
                        "博士", "教授", "总", "總")
_SURNAME_ONLY_SUFFIXES: Final = frozenset({"总", "總"})
_LATIN_TITLES: Final = {"mr": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss", "dr": "Dr", "prof": "Prof"}
_LATIN_PREFIX: Final = re.compile(r"(mrs|mr|ms|miss|dr|prof)(?:\.\s*|\s+)", re.IGNORECASE | re.ASCII)
_GENDER_OF: Final = {"先生": "male", "Mr": "male", "女士": "female", "小姐": "female", "太太": "female",
                     "夫人": "female", "Mrs": "female", "Ms": "female", "Miss": "female"}
COMPOUND_SURNAMES: Final = frozenset(
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 宗政 濮阳 "
    "公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 司寇 巫马 公西 颛孙 "
    "壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延 东郭 南门 羊舌 微生 梁丘 左丘 "
    "东门 西门 第五 呼延 贺兰 "
    "歐陽 司馬 東方 獨孤 南宮 聞人 諸葛 尉遲 赫連 澹臺 濮陽 公孫 鍾離 長孫 鮮於 閭丘 顓孫 壤駟 "
    "樂正 穀梁 軒轅 東郭 東門 西門 賀蘭".split()
)
# Middle dots people use in transliterated and minority names, all written as U+00B7 (间隔号).
_INTERPUNCTS: Final = str.maketrans("\u30fb\uff65\u2027\u2022\u2219\u22c5", "\u00b7" * 6)
_DIGITS_ONLY: Final = re.compile(r"[\d\s+\-().]*\d[\d\s+\-().]*")
_SUFFIX_ENDINGS: Final = frozenset(suffix[-1] for suffix in _HAN_SUFFIXES)
_WORD: Final = re.compile(r"[^\W\d_]+")


@dataclass
class CleanedName:
    """What ``clean_name`` found: the name (or ``None``), an implied gender, ``(path, problem)``s."""

    name: dict[str, Any] | None
    gender: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)


def clean_name(original: dict[Any, Any]) -> CleanedName:
    """Clean ``person.name`` (see the module docstring); ``original`` is not changed.

    Names repeat a lot (张伟 is common), and the result depends on the input only: a name made of
    text parts is cleaned once per process and copied from then on.
    """
    if all(type(value) is str for value in original.values()):
        plain = _plain_han_name(original)
        if plain is not None:
            return CleanedName(plain)
        cached = _clean_text_name(tuple(original.items()))
        return CleanedName(copy_json(cached.name), cached.gender, list(cached.problems))
    return _clean_name(original)


def _plain_han_name(original: dict[str, str]) -> dict[str, str] | None:
    """The cleaned name, when ``original`` is a Han family and given name (and their join as the
    full name, if given) with nothing to clean: then ``_clean_name`` changes nothing but adds the
    full name and the script. ``None`` when anything may need work (tests/test_cleaning.py holds
    the two to the same answers). Most names in Chinese sources look like this, and many are rare,
    so this saves cache misses as much as hits."""
    family, given = original.get("family"), original.get("given")
    if not family or not given or not original.keys() <= _PART_SET:
        return None
    full = family + given
    if original.get("full", full) != full or full[-1] in _SUFFIX_ENDINGS or full in _HAN_SUFFIXES \
            or family in _HAN_SUFFIXES or given in _HAN_SUFFIXES \
            or not (is_han(family) and is_han(given) and unicodedata.is_normalized("NFKC", full)):
        return None
    name = dict(original)
    name["full"] = full  # where the source gave no full name, it comes last, as _clean_name adds it
    name["script"] = "han"
    return name


@lru_cache(maxsize=1 << 14)  # bounded: about 10 MB at most
def _clean_text_name(items: tuple[tuple[str, str], ...]) -> CleanedName:
    return _clean_name(dict(items))


def _clean_name(original: dict[Any, Any]) -> CleanedName:
    name: dict[Any, Any] = {}
    for key, value in original.items():
        if key == "raw":
            name[key] = copy_json(value)
        elif type(value) is str:
            text = _repair_case(_clean_part(value)) if key in _PARTS else clean_text(value)
            if text:
                name[key] = text
        else:
            cleaned = _clean_latin(value) if key == "latin" else clean_value(value)
            if cleaned is not MISSING:
                name[key] = cleaned

    _move_honorifics(name)
    for _ in range(3):  # a full name built from family and given may carry a title (王 + 伟先生)
        if "full" not in name and type(name.get("family")) is str and type(name.get("given")) is str:
            name["full"] = _join(name["family"], name["given"])
        if not _strip_titles_from_full(name) or "full" in name:
            break
    _split_han(name)
    for key in _PARTS:  # again: "Mr. JOHN Smith" only now has a given name to repair
        if key in name:
            name[key] = _repair_case(name[key])

    honorific = name.get("honorific")
    result = CleanedName(name=None, gender=_GENDER_OF.get(honorific) if type(honorific) is str else None)
    result.problems += [(key, "not a name") for key in (*_PARTS, "nickname") if _not_a_name(name.get(key))]
    latin = name.get("latin")
    if type(latin) is dict:
        result.problems += [(f"latin.{key}", "not a name") for key in _PARTS if _not_a_name(latin.get(key))]

    if not any(key in name for key in (*_PARTS, "latin", "nickname")):
        return result  # only an honorific, or nothing: the name is missing
    script = script_of(_written(name))
    if script is not None:
        name["script"] = script
    if "raw" not in original and any(name.get(key) != original[key] for key in _PARTS if key in original):
        raw = _raw_of(original)
        if raw:
            name["raw"] = raw
    result.name = name
    return result


def _not_a_name(value: Any) -> bool:
    """Digits only (a phone number in the name field) or an e-mail address."""
    return type(value) is str and ("@" in value or _DIGITS_ONLY.fullmatch(value) is not None)


@lru_cache(maxsize=1 << 14)  # family and given names repeat even where whole names do not
def _clean_part(value: str) -> str:
    text = clean_text(value)
    return text if text.isascii() else _without_han_spaces(text.translate(_INTERPUNCTS))


def _without_han_spaces(text: str) -> str:
    """Han names never contain spaces: 张 伟 is 张伟, 阿卜杜勒 · 克里木 is 阿卜杜勒·克里木."""
    if " " in text and is_han(text.replace(" ", "").replace("\u00b7", "")):
        return text.replace(" ", "")
    return text


def _clean_latin(value: Any) -> Any:
    if type(value) is not dict:
        return clean_value(value)
    latin = clean_value(value)
    if latin is not MISSING:
        for key in _PARTS:
            if type(latin.get(key)) is str:
                latin[key] = _repair_case(latin[key])
    return latin


def _honorific(text: str) -> str | None:
    """The honorific ``text`` is, written the standard way, or ``None``. 总 alone is not one: it
    is also a surname, and only counts as a title right after another surname (王总)."""
    if text in _HAN_SUFFIXES:
        return None if text in _SURNAME_ONLY_SUFFIXES else text
    return _LATIN_TITLES.get(text.rstrip(".").casefold()) if len(text) <= 5 else None


def _move_honorifics(name: dict[Any, Any]) -> None:
    """A part that is only an honorific (``given: 先生``) is not a name: move it to ``honorific``."""
    for key in _PARTS:
        value = name.get(key)
        if type(value) is str and (honorific := _honorific(value)) is not None:
            del name[key]
            name.setdefault("honorific", honorific)


def _strip_titles_from_full(name: dict[Any, Any]) -> bool:
    """王先生 -> family 王, honorific 先生; Mr. John Smith -> given John, family Smith.
    ``True`` when there was a title to strip."""
    full = name.get("full")
    if type(full) is not str:
        return False
    if (whole := _honorific(full)) is not None:  # built from family 太 and given 太
        del name["full"]
        name.setdefault("honorific", whole)
        return True
    rest, latin_title = _strip_latin_prefixes(full)
    rest, han_title = _strip_han_suffixes(_without_han_spaces(rest))
    if latin_title is None and han_title is None:
        return False
    words = rest.split(" ")
    if (latin_title is not None and "family" not in name and "given" not in name and len(words) == 2
            and not any(map(_honorific, words))):
        name["given"], name["family"] = words
    name.setdefault("honorific", latin_title or han_title)
    if _honorific(rest):  # 先生先生, Dr. Mr: nothing but titles
        del name["full"]
    elif _is_surname(rest) and "given" not in name:
        name.setdefault("family", rest)
        del name["full"]
    else:
        name["full"] = rest
    return True


def _strip_han_suffixes(full: str) -> tuple[str, str | None]:
    found = None
    while full and full[-1] in _SUFFIX_ENDINGS:
        for suffix in _HAN_SUFFIXES:
            rest = full[: -len(suffix)]
            if (full.endswith(suffix) and rest and (is_han(rest) or _is_latin_word(rest))
                    and (suffix not in _SURNAME_ONLY_SUFFIXES or _is_surname(rest))):
                full, found = rest, found or suffix
                break
        else:
            break
    return full, found


def _strip_latin_prefixes(full: str) -> tuple[str, str | None]:
    found = None
    while (match := _LATIN_PREFIX.match(full)) is not None and len(full) > match.end():
        full, found = full[match.end():], found or _LATIN_TITLES[match[1].lower()]
    return full, found


def _is_latin_word(text: str) -> bool:
    return text.isascii() and text.isalpha()


def _is_surname(text: str) -> bool:
    return (len(text) == 1 and is_han(text)) or text in COMPOUND_SURNAMES or _is_latin_word(text)


def _split_han(name: dict[Any, Any]) -> None:
    """A Han full name without family and given is split: 欧阳娜娜 -> 欧阳 + 娜娜, 张伟 -> 张 + 伟.
    Longer ones (and those with a middle dot, 阿卜杜勒·克里木) are not: the cut is not known."""
    full = name.get("full")
    if "family" in name or "given" in name or type(full) is not str or not 2 <= len(full) <= 4:
        return
    if full in COMPOUND_SURNAMES:
        name["family"] = full  # 欧阳 alone is a surname, not 欧 + 阳
    elif is_han(full):
        cut = 2 if full[:2] in COMPOUND_SURNAMES else 1
        name["family"], name["given"] = full[:cut], full[cut:]


def _join(family: str, given: str) -> str:
    if is_han(family) and is_han(given):
        return family + given
    return _without_han_spaces(f"{given} {family}")


def _written(name: dict[Any, Any]) -> str:
    """The name's letters as written, for telling its script."""
    full = name.get("full")
    if type(full) is str:
        return full
    return "".join(part for part in (name.get("family"), name.get("given")) if type(part) is str)


def _repair_case(text: Any) -> Any:
    """ADA LOVELACE and ada lovelace become Ada Lovelace; McDonald and 张伟 are left alone."""
    if type(text) is not str or not (text.isupper() or text.islower()):
        return text
    return _repaired_case(text)


@lru_cache(maxsize=1 << 14)
def _repaired_case(text: str) -> str:
    return _WORD.sub(_capitalise, text) if script_of(text) == "latin" else text


def _capitalise(match: re.Match[str]) -> str:
    word = match[0]
    first = word[0].upper()
    return (first if len(first) == 1 else word[0]) + word[1:].lower()


def _raw_of(original: dict[Any, Any]) -> str | None:
    """The name as the source wrote it: its full name, else its family and given names."""
    full = original.get("full")
    if type(full) is str and full.strip():
        return full
    family, given = original.get("family"), original.get("given")
    parts = [part for part in (family, given) if type(part) is str and part.strip()]
    if len(parts) == 2:
        return _join(parts[0].strip(), parts[1].strip())
    return parts[0] if parts else None
