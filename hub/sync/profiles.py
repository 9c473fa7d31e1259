"""The seam between sync and identity resolution: where golden profiles come from.

Sync reads profiles only through ``iter_profiles``. Until the identity engine (issue 4, ``hub/identity``)
lands, the provisional implementation below treats every stored source record as its own profile:
``id = "<connection>:<stream>:<source_pk>"`` and ``record`` = the record's canonical JSON. The identity
engine replaces this function with one that yields merged golden profiles with stable ids; nothing
else in ``hub/sync`` needs to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from hub.store.schema import source_records


@dataclass(frozen=True, slots=True)
class GoldenProfile:
    """One profile as sync sees it: a stable id, a canonical-shaped record and its last change."""

    id: str
    record: dict[str, Any]  # person / organization / consents / interactions, as in the canonical schema
    updated_at: datetime


def profile_id(connection: str, stream: str, source_pk: str) -> str:
    return f"{connection}:{stream}:{source_pk}"


def iter_profiles(conn: Connection) -> Iterator[GoldenProfile]:
    """Every profile, in a stable order. Provisional: one profile per stored source record."""
    sr = source_records.c
    query = select(sr.connection, sr.stream, sr.source_pk, sr.canonical, sr.updated_at).order_by(sr.id)
    for connection, stream, pk, canonical, updated_at in conn.execute(query.execution_options(yield_per=5000)):
        yield GoldenProfile(profile_id(connection, stream, pk), orjson.loads(canonical), updated_at)
