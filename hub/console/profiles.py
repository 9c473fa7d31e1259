"""Profile search and the profile page's data, through the identity package's public functions.

Search is exact: a profile id, or an e-mail address or phone number normalised the way identity
resolution does it and looked up by its blind-index digest (``hub.identity.keys.key_digest``) in
``identity_keys``. Names are encrypted and never searched with LIKE.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from hub.identity import explain, storage
from hub.identity.keys import key_digest, normalise_email, normalise_phone
from hub.identity.review import IdentityError
from hub.identity.tables import identity_keys, identity_profiles

SEARCH_KINDS = ("id", "email", "phone")
MAX_HITS = 50


@dataclass(frozen=True)
class SearchResult:
    kind: str
    profiles: list[dict[str, Any]]
    problem: str | None = None


def _digest(kind: str, text: str, region: str) -> str | None:
    text = unicodedata.normalize("NFKC", text).strip()
    if kind == "email":
        return key_digest("email", normalise_email(text)) if "@" in text else None
    from hub.cleaning.phones import to_e164

    e164 = to_e164(text, region) or (text if text.startswith("+") else None)
    return key_digest("phone", normalise_phone(e164)) if e164 else None


def search(conn: Connection, kind: str, text: str, region: str) -> SearchResult:
    """Profiles matching ``text`` exactly (as ``kind``); never more than ``MAX_HITS``."""
    text = (text or "").strip()
    if kind not in SEARCH_KINDS or not text:
        return SearchResult(kind, [], "enter a profile id, an e-mail address or a phone number")
    if kind == "id":
        if not text.isdigit():
            return SearchResult(kind, [], "a profile id is a number")
        try:
            pid, _ = explain.current_profile(conn, int(text))
        except IdentityError:
            return SearchResult(kind, [])
        return SearchResult(kind, summaries(conn, [pid]))
    digest = _digest(kind, text, region)
    if digest is None:
        return SearchResult(kind, [], f"not a valid {'e-mail address' if kind == 'email' else 'phone number'}")
    k = identity_keys.c
    records = [r for (r,) in conn.execute(select(k.record_id).where(k.digest == digest, k.kind == kind)
                                          .limit(MAX_HITS * 4))]
    profiles = sorted(set(storage.memberships(conn, records).values())) if records else []
    return SearchResult(kind, summaries(conn, profiles[:MAX_HITS]))


def summaries(conn: Connection, profile_ids: list[int]) -> list[dict[str, Any]]:
    """Value-free rows for a result list: id, status, member count, last update."""
    if not profile_ids:
        return []
    p = identity_profiles.c
    rows = conn.execute(select(p.id, p.status, p.member_count, p.updated_at).where(p.id.in_(profile_ids))
                        .order_by(p.id)).mappings()
    return [dict(r) for r in rows]


def profile_page(conn: Connection, profile_id: int) -> dict[str, Any] | None:
    """``hub.identity.explain.describe`` plus the profile's segment history; None if unknown."""
    try:
        info = explain.describe(conn, profile_id)
    except IdentityError:
        return None
    from hub.segments import segments_of

    info["segments"] = segments_of(conn, info["id"])
    return info


def latest_profiles(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The most recently changed profiles (by id, newest first): a starting point without a search."""
    p = identity_profiles.c
    rows = conn.execute(select(p.id, p.status, p.member_count, p.updated_at).order_by(p.id.desc())
                        .limit(limit)).mappings()
    return [dict(r) for r in rows]
