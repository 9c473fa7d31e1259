"""The suppression list: keyed blind indexes of the identifiers of erased people.

After an erasure, the person is usually still upstream (in the web form export, in the CRM); the
next import would bring them back. ``suppress_record`` stores one keyed digest per identifier
(e-mail, phone, platform ids, CRM ids) and ``is_suppressed`` tells the ingest path to drop or
quarantine a record that carries any of them (CCPA regs §7022(e)). Only digests are kept, under
their own derived keys (kind ``suppress:<kind>``), so the list cannot be joined to other indexes
and does not hold the erased values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, tuple_

from hub.privacy.blind_index import BlindIndexer
from hub.privacy.tables import privacy_suppression

PLATFORM_IDS = ("wechat_unionid", "wechat_openid", "facebook_id", "weibo_uid")
_NOT_DIGIT = re.compile(r"\D")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def normalise_email(text: str) -> str:
    local, at, domain = _nfkc(text).casefold().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if at else _nfkc(text).casefold()


def normalise_phone(text: str) -> str:
    text = _nfkc(text)
    digits = _NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits  # a mainland mobile written without its country code
    return "+" + digits


def identifiers_of(record: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (kind, normalised value) identifiers of a canonical record."""
    person = record.get("person") or {}
    found: set[tuple[str, str]] = set()
    for email in person.get("emails") or ():
        if isinstance(email, Mapping) and isinstance(email.get("address"), str) and email["address"].strip():
            found.add(("email", normalise_email(email["address"])))
    for phone in person.get("phones") or ():
        if isinstance(phone, Mapping) and isinstance(phone.get("number"), str) and _NOT_DIGIT.sub("", phone["number"]):
            found.add(("phone", normalise_phone(phone["number"])))
    platform = person.get("platform_ids") or {}
    for kind in PLATFORM_IDS:
        value = platform.get(kind)
        if isinstance(value, str) and value.strip():
            found.add((kind, _nfkc(value)))
    for crm in person.get("crm_ids") or ():
        if isinstance(crm, Mapping) and crm.get("id"):
            found.add(("crm_id", f"{crm.get('system', '')}:{crm.get('object', '')}:{_nfkc(str(crm['id']))}"))
    return found


def digests(indexer: BlindIndexer, identifiers: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """(kind, digest) as the suppression list stores them (its own derived key per kind)."""
    return {(kind, indexer.digest(f"suppress:{kind}", value)) for kind, value in identifiers}


def suppress(conn: Connection, indexer: BlindIndexer, identifiers: Iterable[tuple[str, str]], *,
             reason: str = "erasure", request_id: str | None = None, now: datetime | None = None) -> int:
    """Add (kind, normalised value) identifiers to the list; returns how many were new."""
    wanted = digests(indexer, identifiers)
    if not wanted:
        return 0
    t = privacy_suppression
    known = set(conn.execute(select(t.c.kind, t.c.digest).where(tuple_(t.c.kind, t.c.digest).in_(list(wanted)))))
    new = sorted(wanted - {tuple(k) for k in known})
    if new:
        now = now or datetime.now(UTC)
        conn.execute(insert(t), [{"kind": k, "digest": d, "reason": reason, "request_id": request_id,
                                  "created_at": now} for k, d in new])
    return len(new)


def suppress_record(conn: Connection, indexer: BlindIndexer, record: Mapping[str, Any], *,
                    reason: str = "erasure", request_id: str | None = None) -> int:
    """Suppress every identifier of canonical ``record``."""
    return suppress(conn, indexer, identifiers_of(record), reason=reason, request_id=request_id)


def suppressed_kinds(conn: Connection, indexer: BlindIndexer, record: Mapping[str, Any]) -> list[str]:
    """The identifier kinds of ``record`` that are on the suppression list (empty: not suppressed)."""
    wanted = digests(indexer, identifiers_of(record))
    if not wanted:
        return []
    t = privacy_suppression
    rows = conn.execute(select(t.c.kind).where(tuple_(t.c.kind, t.c.digest).in_(list(wanted))))
    return sorted({kind for (kind,) in rows})


def is_suppressed(conn: Connection, indexer: BlindIndexer, record: Mapping[str, Any]) -> bool:
    return bool(suppressed_kinds(conn, indexer, record))
