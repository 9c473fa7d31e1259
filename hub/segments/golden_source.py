"""Golden profiles as quality and segments read them: streamed, decoded, never materialised whole.

One seam over ``identity_profiles.golden`` (sealed: opened by ``hub.identity.storage.open_golden``,
which reads plaintext written before encryption too). ``ids=None``
streams every active profile; ``min_members`` skips single-record profiles where they cannot matter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.identity import storage
from hub.identity.storage import _id_in, _ids_param, chunks
from hub.identity.tables import identity_profiles

YIELD = 5000


def decode_golden(profile_id: int, stored: str | None) -> dict[str, Any]:
    """A stored golden profile (sealed, or plaintext written before encryption), through identity's reader."""
    return storage.open_golden(profile_id, stored)


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
