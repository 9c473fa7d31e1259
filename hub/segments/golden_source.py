"""Golden profiles as quality and segments read them: streamed, decoded, never materialised whole.

One seam over ``identity_profiles.golden`` (the column may be sealed: it is opened through
``hub.store.sealed`` with the profile id as its row key, and plaintext reads as is). ``ids=None``
streams every active profile; ``min_members`` skips single-record profiles where they cannot matter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from hub.identity import storage
from hub.identity.storage import _id_in, _ids_param, chunks
from hub.identity.tables import identity_profiles
from hub.privacy.crypto import is_ciphertext
from hub.store import sealed

YIELD = 5000


def decode_golden(profile_id: int, stored: str | None) -> dict[str, Any]:
    """A stored golden profile, opened through the identity module's reader when it has one."""
    if not stored:
        return {}
    if not is_ciphertext(stored):
        return orjson.loads(stored)
    reader = getattr(storage, "open_golden", None)
    if reader is not None:
        return reader(profile_id, stored)
    return sealed.open_json("identity_profiles", "golden", profile_id, stored)


def iter_golden(conn: Connection, ids: Sequence[int] | None = None, *,
                min_members: int = 1) -> Iterator[tuple[int, str, datetime, dict[str, Any]]]:
    """(profile id, status, updated_at, golden) of active profiles (or of ``ids``, whatever their status)."""
    p = identity_profiles.c
    cols = (p.id, p.status, p.updated_at, p.golden)
    if ids is None:
        query = select(*cols).where(p.status == "active")
        if min_members > 1:
            query = query.where(p.member_count >= min_members)
        for pid, status, updated, golden in conn.execute(query.order_by(p.id).execution_options(yield_per=YIELD)):
            yield pid, status, updated, decode_golden(pid, golden)
        return
    for part in chunks(sorted(set(ids)), YIELD):
        rows = conn.execute(select(*cols).where(_id_in(conn, p.id)), {"ids": _ids_param(conn, part)})
        for pid, status, updated, golden in rows:
            yield pid, status, updated, decode_golden(pid, golden) if status == "active" else {}
