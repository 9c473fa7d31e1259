"""Resumable rewrap: re-seal the encrypted columns of a table under the active data key.

A ``RewrapTarget`` describes one table generically: its ordered unique key column, the columns
that hold ciphertexts and how each value's AAD is built from its row. The integration step
registers the real PII columns (``register_target``); ``custhub keys rewrap`` runs every registered
target. Each batch re-seals up to ``batch_size`` rows and moves the checkpoint row
(``privacy_rewrap``) in the same transaction, so a SIGKILL loses at most the open batch and the
next run resumes after the last committed key. Values already under the active key are skipped,
so a rerun is a no-op. ``references(...)`` counts values still sealed with a key id; a key can be
retired only when it is zero everywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, insert, or_, select, update
from sqlalchemy.engine import Dialect

from hub.privacy.crypto import FieldCipher, is_ciphertext, kid_of, kid_prefix
from hub.privacy.tables import privacy_rewrap

AadBuilder = Callable[[str, Mapping[str, Any]], bytes]  # (column, row) -> AAD


@dataclass(frozen=True)
class RewrapTarget:
    table: Table
    key_column: str
    value_columns: tuple[str, ...]
    aad: AadBuilder

    @property
    def name(self) -> str:
        return f"{self.table.name}.{'+'.join(self.value_columns)}"


@dataclass
class RewrapResult:
    target: str
    rows_resealed: int = 0
    values_resealed: int = 0
    batches: int = 0
    resumed_from: Any = None


_targets: dict[str, RewrapTarget] = {}


def register_target(target: RewrapTarget) -> None:
    _targets[target.name] = target


def unregister_target(name: str) -> None:
    _targets.pop(name, None)


# Modules that own sealed tables and register their targets at import time.
TARGET_MODULES = ("hub.store.records", "hub.ingest.pipeline", "hub.identity.storage", "hub.inbox.events",
                  "hub.sync.sealing")


def import_target_modules() -> None:
    """Import every module that registers a target, so a command sees all of them."""
    import importlib

    for name in TARGET_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def registered_targets() -> list[RewrapTarget]:
    return [_targets[k] for k in sorted(_targets)]


def _failpoint(batches: int) -> None:
    """``CUSTHUB_FAILPOINT=rewrap_after_batch:N`` kills the process (like SIGKILL) after batch N."""
    name, _, nth = os.environ.get("CUSTHUB_FAILPOINT", "").partition(":")
    if name == "rewrap_after_batch" and nth.isdigit() and int(nth) == batches:
        os._exit(137)


def _checkpoint(conn: Connection, target: RewrapTarget, to_kid: int) -> tuple[Any, int]:
    row = conn.execute(select(privacy_rewrap).where(privacy_rewrap.c.target == target.name)).mappings().first()
    now = datetime.now(UTC)
    if row is None:
        conn.execute(insert(privacy_rewrap).values(target=target.name, to_kid=to_kid, last_key=None,
                                                   rows_done=0, status="running", updated_at=now))
        return None, 0
    if row["to_kid"] != to_kid:  # a newer rotation: start over towards the new key
        conn.execute(update(privacy_rewrap).where(privacy_rewrap.c.target == target.name).values(
            to_kid=to_kid, last_key=None, rows_done=0, status="running", updated_at=now))
        return None, 0
    last = json.loads(row["last_key"]) if row["last_key"] is not None else None
    return last, row["rows_done"]


def rewrap(engine: Engine, cipher: FieldCipher, target: RewrapTarget, *, batch_size: int = 500) -> RewrapResult:
    """Re-seal every value of ``target`` not under the active key; resumable, idempotent."""
    to_kid = cipher.keyring.active_kid
    key_col = target.table.c[target.key_column]
    result = RewrapResult(target.name)
    with engine.begin() as conn:
        last, _ = _checkpoint(conn, target, to_kid)
    result.resumed_from = last
    while True:
        with engine.begin() as conn:
            query = select(target.table).order_by(key_col).limit(batch_size)
            if last is not None:
                query = query.where(key_col > last)
            rows = conn.execute(query).mappings().all()
            if not rows:
                conn.execute(update(privacy_rewrap).where(privacy_rewrap.c.target == target.name)
                             .values(status="done", updated_at=datetime.now(UTC)))
                return result
            for row in rows:
                changes = _reseal_row(cipher, target, row, to_kid)
                if changes:
                    conn.execute(update(target.table).where(key_col == row[target.key_column]).values(**changes))
                    result.rows_resealed += 1
                    result.values_resealed += len(changes)
            last = rows[-1][target.key_column]
            conn.execute(update(privacy_rewrap).where(privacy_rewrap.c.target == target.name).values(
                last_key=json.dumps(last), rows_done=privacy_rewrap.c.rows_done + len(rows),
                updated_at=datetime.now(UTC)))
        result.batches += 1
        _failpoint(result.batches)


def _reseal_row(cipher: FieldCipher, target: RewrapTarget, row: Mapping[str, Any], to_kid: int) -> dict[str, str]:
    changes = {}
    for column in target.value_columns:
        value = row[column]
        if is_ciphertext(value) and kid_of(value) != to_kid:
            aad = target.aad(column, row)
            changes[column] = cipher.reseal(value, aad, where=f"{target.table.name}.{column}")
    return changes


def references(conn: Connection, target: RewrapTarget, kid: int) -> int:
    """How many values of ``target`` are still sealed with key id ``kid``."""
    prefix = kid_prefix(kid)
    total = 0
    for column in target.value_columns:
        col = target.table.c[column]
        total += conn.execute(select(func.count()).select_from(target.table)
                              .where(_starts_with(conn.dialect, col, prefix))).scalar_one()
    return total


def references_anywhere(conn: Connection, kid: int, targets: list[RewrapTarget] | None = None) -> int:
    return sum(references(conn, t, kid) for t in (registered_targets() if targets is None else targets))


NOT_PERSONAL = ("null",)  # JSON null (a purged payload) carries no data and stays as it is


def _starts_with(dialect: Dialect, col: Any, prefix: str) -> Any:
    """``col`` starts with the ASCII ``prefix``, for text and binary tokens alike: SQLite keeps binary
    tokens as BLOBs (``hub.store.records.write_records``), which LIKE does not match."""
    if dialect.name == "sqlite":
        return func.hex(func.substr(col, 1, len(prefix))) == prefix.encode("ascii").hex().upper()
    return col.startswith(prefix, autoescape=True)


def _plaintext(dialect: Dialect, col: Any) -> Any:
    return and_(col.is_not(None), ~_starts_with(dialect, col, "ch1."), col.not_in(NOT_PERSONAL))


def plaintext_count(conn: Connection, target: RewrapTarget) -> int:
    """Values of ``target`` that are not ciphertexts (to find columns not yet encrypted)."""
    total = 0
    for column in target.value_columns:
        col = target.table.c[column]
        total += conn.execute(select(func.count()).select_from(target.table)
                              .where(_plaintext(conn.dialect, col))).scalar_one()
    return total


def seal_plaintext(engine: Engine, cipher: FieldCipher, target: RewrapTarget, *, batch_size: int = 500) -> int:
    """Seal every value of ``target`` written before encryption was on; the number of values sealed.

    Idempotent and resumable: each batch commits on its own and only plaintext values are selected.
    """
    key_col = target.table.c[target.key_column]
    cols = [target.table.c[c] for c in target.value_columns]
    sealed, last = 0, None
    while True:
        with engine.begin() as conn:
            query = (select(target.table).where(or_(*(_plaintext(engine.dialect, c) for c in cols)))
                     .order_by(key_col).limit(batch_size))
            if last is not None:
                query = query.where(key_col > last)
            rows = conn.execute(query).mappings().all()
            if not rows:
                return sealed
            for row in rows:
                changes = {c: cipher.encrypt(row[c], target.aad(c, row)) for c in target.value_columns
                           if row[c] is not None and not is_ciphertext(row[c]) and row[c] not in NOT_PERSONAL}
                conn.execute(update(target.table).where(key_col == row[target.key_column]).values(**changes))
                sealed += len(changes)
            last = rows[-1][target.key_column]
