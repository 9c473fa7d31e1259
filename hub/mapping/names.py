"""Split and join personal names, Han-script (张伟, 欧阳娜娜) and Latin-script (Ada Lovelace).

Han names are written family name first, with no space; the family name is one character or one of
the compound surnames below. In ``张伟 华信`` (a name and a note) only the first word is the name.
Latin names are given-first unless written ``Family, Given`` or the caller says otherwise.
Honorifics (先生, 女士, Mr, Dr ...) are split off, never kept in the name.
"""

from __future__ import annotations

import re

# Compound (two-character) surnames, simplified and traditional forms.
COMPOUND_SURNAMES = frozenset("""
欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 钟离 澹台 轩辕 南宫 独孤
西门 百里 呼延 东郭 司空 万俟 闻人 赫连 公羊 太史 申屠 濮阳 宗政 公冶 太叔 仲孙 鲜于 闾丘 子车 亓官
司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 段干 东门 南门 羊舌 微生 梁丘 左丘 第五
歐陽 司馬 諸葛 東方 尉遲 公孫 長孫 鍾離 澹臺 軒轅 南宮 獨孤 東郭 聞人 鮮於 閭丘 顓孫 壤駟 樂正 穀梁
""".split())

HAN_HONORIFICS = ("总经理", "先生", "女士", "小姐", "太太", "夫人", "老师", "博士", "教授", "经理", "总监",
                  "总")
LATIN_HONORIFICS = frozenset("mr mrs ms miss mx dr prof sir madam".split())

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")
_HAN_WITH_DOT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef·•・‧]+")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f' .,-]+")


def is_han(text: str) -> bool:
    return _HAN.fullmatch(text) is not None


def split_name(text: str, order: str = "auto") -> dict[str, str]:
    """``{full, family, given}`` (and ``honorific`` when one was written); only the parts known.

    ``order`` applies to Latin names: ``auto`` (given-first, or family-first when written with a
    comma), ``family_first`` or ``given_first``. Han names are always family-first.
    """
    words = text.split()
    if all(_HAN_WITH_DOT.fullmatch(word) for word in words):
        return _split_han(_han_name(words))
    spaced = " ".join(words)
    if _LATIN.fullmatch(spaced):
        return _split_latin(spaced, order)
    return {"full": spaced}


def _han_name(words: list[str]) -> str:
    """The name in Han words: ``张 伟`` and ``欧阳 娜娜`` are one name written with a space; in
    ``张伟 华信`` (a name and a note, as staff type them) the name is the first word."""
    if len(words) == 1 or all(len(word) == 1 for word in words):
        return "".join(words)
    first = words[0]
    if len(words) == 2 and (len(first) == 1 or first in COMPOUND_SURNAMES):
        return first + words[1]
    return first


def _split_han(name: str) -> dict[str, str]:
    if name in HAN_HONORIFICS:
        return {"honorific": name}
    out: dict[str, str] = {}
    for honorific in HAN_HONORIFICS:
        if name.endswith(honorific) and len(name) > len(honorific):
            name, out["honorific"] = name[: -len(honorific)], honorific
            break
    if not is_han(name):  # a transliterated name such as 阿沛·阿旺晋美: no family/given split
        return {"full": name, **out}
    family = name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    given = name[len(family):]
    if not given:
        return {"family": family, **out}
    return {"full": name, "family": family, "given": given, **out}


def _split_latin(name: str, order: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if "," in name:
        family, _, given = (part.strip(" ,") for part in name.partition(","))
        family_first = True
    else:
        words = name.split(" ")
        if len(words) > 1 and words[0].rstrip(".").lower() in LATIN_HONORIFICS:
            out["honorific"] = words.pop(0).rstrip(".")
        family_first = order == "family_first"
        if len(words) == 1:
            return {"full": words[0], **out}
        family, given = (words[0], " ".join(words[1:])) if family_first else (words[-1], " ".join(words[:-1]))
    if not family or not given:
        return {"full": family or given, **out}
    full = f"{family} {given}" if family_first and "," not in name else f"{given} {family}"
    return {"full": full, "family": family, "given": given, **out}


def join_name(given: str | None, family: str | None) -> str | None:
    """The full name: ``family + given`` for Han names, ``given family`` otherwise."""
    if not given or not family:
        return given or family
    if is_han(given) and is_han(family):
        return family + given
    return f"{given} {family}"
