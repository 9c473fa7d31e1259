"""What the resolver knows about one source record: its keys (hashed) and its comparable values.

The comparable values live in memory only, for the length of a run; what is stored is the keys,
through ``key_digest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hub.cleaning.scripts import is_han
from hub.identity.keys import (
    digest_token,
    key_digest,
    latin_tokens,
    normalise_email,
    normalise_phone,
    org_key,
    pinyin_of,
    place_key,
    skeleton,
)
from hub.identity.settings import IdentitySettings

STRONG_KINDS = ("wechat_unionid", "wechat_openid", "facebook_id", "weibo_uid", "crm", "email", "phone")


@dataclass(slots=True)
class Features:
    record_id: int
    connection: str
    strong: list[tuple[str, str, str]]  # (kind, limit group, digest) of usable identifiers
    blocks: list[tuple[str, str]]  # (kind, digest) candidate-generation keys
    blocked: int  # identifier values refused by the blocked-values rules
    name_digest: str | None
    name_key: str | None  # sorted name tokens, script-independent ("wei zhang")
    han: str | None
    dob: str | None  # YYYYMMDD
    employer: str | None
    city: str | None
    street: str | None
    postcode: str | None
    gender: str | None
    email_locals: frozenset[str]
    emails: frozenset[str]
    phones: frozenset[str]
    record_hash: str = ""


def name_parts(name: dict[str, Any] | None) -> tuple[str | None, list[str]]:
    """(Han name or None, latin/pinyin tokens) for a canonical ``person.name``."""
    if not name:
        return None, []
    full, family, given = name.get("full"), name.get("family"), name.get("given")
    han = None
    if family and given and is_han(family) and is_han(given):
        han = family + given
        return han, [pinyin_of(family), pinyin_of(given)]
    if full and is_han(full):
        han = full
        cut = 2 if len(full) == 4 else 1
        return han, [pinyin_of(full[:cut]), pinyin_of(full[cut:])] if len(full) > 1 else [pinyin_of(full)]
    latin = name.get("latin") or {}
    text = latin.get("full") or full or " ".join(p for p in (given, family, latin.get("given"),
                                                               latin.get("family")) if p)
    return None, latin_tokens(text) if text else []


@lru_cache(maxsize=500_000)
def _name_keys(full: str | None, family: str | None, given: str | None, latin: tuple | None,
               token: object) -> tuple:
    """(han, tokens, name key, its digest, its block digest): names repeat, so this is cached
    (``token``, the digests' key, is part of the cache key: another store has other blind indexes)."""
    name = {"full": full, "family": family, "given": given}
    if latin:
        name["latin"] = dict(latin)
    han, tokens = name_parts(name)
    if not tokens:
        return han, tokens, None, None, None
    name_key = " ".join(sorted(tokens))
    return han, tokens, name_key, key_digest("name", name_key), key_digest("b_name", name_key)


def _cached_name_keys(name: dict[str, Any] | None) -> tuple:
    if not name:
        return None, [], None, None, None
    latin = name.get("latin")
    return _name_keys(name.get("full"), name.get("family"), name.get("given"),
                      tuple(sorted(latin.items())) if isinstance(latin, dict) else None, digest_token())


def extract(record_id: int, canonical: dict[str, Any], settings: IdentitySettings, *,
            digests: bool = True) -> Features:
    """What ``canonical`` offers for matching. Without ``digests``, only the comparable values (and the
    cached name digests): enough to score a record whose keys are already stored, without hashing."""
    person = canonical.get("person") or {}
    prov = canonical.get("provenance") or {}
    han, tokens, name_key, name_digest, name_block = _cached_name_keys(person.get("name"))
    strong: list[tuple[str, str, str]] = []
    blocked = 0

    def add(kind: str, group: str, value: str) -> bool:
        nonlocal blocked
        if not value or settings.is_blocked(kind, value):
            blocked += 1
            return False
        if digests:
            strong.append((kind, group, key_digest(kind, value)))
        return True

    emails = set()
    for item in person.get("emails") or ():
        email = normalise_email(item.get("address") or "")
        if add("email", "email", email):
            emails.add(email)
    phones = set()
    for item in person.get("phones") or ():
        phone = normalise_phone(item.get("number") or "")
        if item.get("kind") == "fax":
            continue
        if add("phone", "phone", phone):
            phones.add(phone)
    ids = person.get("platform_ids") or {}
    if ids.get("wechat_unionid"):
        add("wechat_unionid", "wechat_unionid", ids["wechat_unionid"].strip())
    if ids.get("wechat_openid"):
        app = ids.get("wechat_appid") or connection_of(prov)
        add("wechat_openid", "wechat_openid:" + app, f"{app}/{ids['wechat_openid'].strip()}")
    for kind in ("facebook_id", "weibo_uid"):
        if ids.get(kind):
            add(kind, kind, ids[kind].strip())
    for crm in person.get("crm_ids") or ():
        system = f"{crm.get('system', '')}:{crm.get('object', '')}".lower()
        add("crm", "crm:" + system, f"{system}:{crm.get('id', '').strip()}")

    dob = (person.get("birth_date") or "").replace("-", "") or None
    address = next(iter(person.get("addresses") or ()), {}) or {}
    city = place_key(address["city"]) if address.get("city") else None
    street = (address.get("street") or "").strip().lower() or None
    postcode = (address.get("postal_code") or "").replace(" ", "") or None
    employer = org_key(person["employer"]) if person.get("employer") else None
    blocks: list[tuple[str, str]] = []
    if name_key and not digests:
        blocks.append(("b_name", name_block))  # the name's frequency weighs a comparison
    elif name_key:
        blocks.append(("b_name", name_block))
        if city:  # the typo-tolerant skeleton alone is too coarse a block for short pinyin names
            blocks.append(("b_name_city", key_digest("b_name_city", f"{name_key}|{city}")))
            blocks.append(("b_skel_city", key_digest("b_skel_city", f"{skeleton(name_key)}|{city}")))
        elif employer:
            blocks.append(("b_skel_emp", key_digest("b_skel_emp", f"{skeleton(name_key)}|{employer}")))
        if dob:
            for token in tokens:
                blocks.append(("b_dob_tok", key_digest("b_dob_tok", f"{dob}|{token[:3]}")))
    if street and digests:
        blocks.append(("b_street", key_digest("b_street", street)))
    if postcode and digests:
        if dob:
            blocks.append(("b_dob_post", key_digest("b_dob_post", f"{dob}|{postcode}")))
        for token in tokens:
            blocks.append(("b_post_tok", key_digest("b_post_tok", f"{postcode}|{token[:3]}")))
    return Features(
        record_id=record_id, connection=prov.get("connection", ""), strong=list(dict.fromkeys(strong)),
        blocks=list(dict.fromkeys(blocks)),
        blocked=blocked, name_digest=name_digest, name_key=name_key,
        han=han, dob=dob, employer=employer, city=city, street=street, postcode=postcode,
        gender=person.get("gender") if person.get("gender") in ("male", "female") else None,
        email_locals=frozenset(e.split("@", 1)[0].replace(".", "").replace("_", "") for e in emails),
        emails=frozenset(emails), phones=frozenset(phones))


def connection_of(prov: dict[str, Any]) -> str:
    return f"{prov.get('connection', '')}/{prov.get('stream', '')}"
