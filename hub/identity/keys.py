"""Match keys: normalised identifier values and the ONE function that turns them into stored keys.

Every key custhub stores (identifiers, name keys, blocking keys) goes through ``key_digest``, which
is the keyed blind index of ``hub.privacy.blind_index`` (HMAC-SHA256 under a per-kind key, 32 hex):
no other code hashes or stores a key value, and nobody without the index key can test a guessed
phone number against the store. ``index_version()`` names the index in use; the resolver stores it
and rebuilds every key when it changes (a new index version or key).

``plaintext_digests()`` switches, for one block of code, to unkeyed digests of the same values (and
golden profiles stored unsealed). It exists only so that the benchmark and tests can show that
identity results over blind indexes equal those over plaintext, and measure what the privacy layer
costs; production code never uses it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from hub.cleaning.scripts import is_han
from hub.privacy import blind_index

DIGEST_CHARS = 32
PLAIN = "plain"
_plain = False


def key_digest(kind: str, value: str) -> str:
    """The stored form of match key ``value`` of type ``kind``: its blind index (32 hex characters)."""
    if _plain:
        return hashlib.blake2b(f"{kind}\x1f{value}".encode(), digest_size=DIGEST_CHARS // 2).hexdigest()
    return blind_index.blind_index(kind, value)


def digest_token() -> object:
    """What the digests depend on (the installed indexer, or plaintext mode): a cache key for them."""
    return PLAIN if _plain else blind_index.installed()


def index_version() -> str:
    """The index in use: ``bidx-v<version>:<fingerprint of its key>`` (or ``plain``), stored per run."""
    if _plain:
        return PLAIN
    indexer = blind_index.installed()
    return f"bidx-v{indexer.version}:{indexer.digest('custhub-bidx-check', 'v')[:12]}"


@contextmanager
def plaintext_digests(enabled: bool = True) -> Iterator[None]:
    """Unkeyed digests inside the block (benchmark and tests of blind-index equivalence only)."""
    global _plain
    before, _plain = _plain, enabled
    try:
        yield
    finally:
        _plain = before


def set_plaintext_digests(enabled: bool) -> None:
    """The mode of a spawned worker, as its parent's (``plaintext_digests`` is the in-process form)."""
    global _plain
    _plain = enabled


def plaintext_mode() -> bool:
    return _plain


def normalise_email(address: str) -> str:
    """Lower case, no padding, no ``+tag`` in the local part."""
    address = address.strip().lower()
    local, at, domain = address.partition("@")
    if not at:
        return address
    return f"{local.split('+', 1)[0]}@{domain}"


_NOT_DIGIT = re.compile(r"[^\d]")


def normalise_phone(number: str) -> str:
    """E.164 digits with a leading ``+`` (the cleaner already wrote E.164; this only tidies)."""
    number = unicodedata.normalize("NFKC", number)
    return "+" + _NOT_DIGIT.sub("", number)


# A small nickname table: each nickname points at one formal given name.
NICKNAMES: dict[str, str] = {
    nick: formal for formal, nicks in {
        "william": "bill billy will willy liam", "robert": "bob bobby rob robbie bert",
        "richard": "dick rick ricky rich", "james": "jim jimmy jamie", "john": "johnny jack jon",
        "michael": "mike mikey mick", "elizabeth": "liz lizzy beth betty eliza lisa libby",
        "margaret": "maggie meg peggy marge", "katherine": "kate katie kathy cathy kath catherine kat",
        "thomas": "tom tommy", "christopher": "chris kit", "anthony": "tony", "daniel": "dan danny",
        "matthew": "matt", "andrew": "andy drew", "joseph": "joe joey", "charles": "charlie chuck",
        "edward": "ed eddie ted ned", "jennifer": "jen jenny", "patricia": "pat patty trish",
        "susan": "sue susie", "deborah": "deb debbie", "alexander": "alex sasha", "samuel": "sam sammy",
        "benjamin": "ben benny", "nicholas": "nick nicky", "jonathan": "jonny", "stephen": "steve",
        "steven": "steve", "david": "dave davy", "victoria": "vicky tori", "rebecca": "becky",
        "jessica": "jess jessie", "alexandra": "alexa sandra", "timothy": "tim timmy",
        "gregory": "greg", "peter": "pete", "frederick": "fred freddie", "abigail": "abby",
    }.items() for nick in nicks.split()
}

_NON_LETTER = re.compile(r"[^a-z]+")


def latin_tokens(text: str) -> list[str]:
    """Lower-case ASCII word tokens of a Latin-script name, accents removed, nicknames formalised."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [NICKNAMES.get(t, t) for t in _NON_LETTER.split(folded) if t]


@lru_cache(maxsize=200_000)
def pinyin_of(han: str) -> str:
    """The toneless pinyin of Han text, syllables joined: 小明 -> xiaoming."""
    # Imported on first use: its phrase dictionary takes ~0.2 s to load, which every other command
    # (ingest above all) would otherwise pay at start-up.
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(han, style=Style.NORMAL, errors="ignore")).lower()


@lru_cache(maxsize=50_000)
def place_key(text: str) -> str:
    """A city written 深圳, 深圳市 or Shenzhen compares as ``shenzhen``."""
    text = text.strip()
    if text and not text.isascii():
        stripped = text[:-1] if len(text) > 2 and text[-1] in "市区县省" else text
        if is_han(stripped):
            return pinyin_of(stripped)
    return _NON_LETTER.sub("", text.lower())


_ORG_SUFFIXES = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团|公司|科技|co\.?,?\s*ltd\.?|ltd\.?|inc\.?|llc|gmbh|corp\.?|"
    r"corporation|company|limited|group)\s*$", re.IGNORECASE)
_PUNCT_SPACE = re.compile(r"[\s\W_]+")


@lru_cache(maxsize=100_000)
def org_key(text: str) -> str:
    """An employer name without legal suffixes, punctuation and case."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    for _ in range(3):
        stripped = _ORG_SUFFIXES.sub("", text).strip()
        if stripped == text or not stripped:
            break
        text = stripped
    return _PUNCT_SPACE.sub("", text)


_VOWELS = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=200_000)
def skeleton(name_key: str) -> str:
    """A typo-tolerant blocking form of a name key: no vowels, no repeated letters."""
    out = []
    for token in name_key.split(" "):
        token = token[0] + _VOWELS.sub("", token[1:]) if token else token
        out.append(re.sub(r"(.)\1+", r"\1", token))
    return " ".join(sorted(out))
