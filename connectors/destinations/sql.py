"""The SQL table destination: one row per profile in any SQLAlchemy database, keyed on the custhub id.

The table is created on first use (key column as primary key, one text column per mapped field) and
gains a column when the mapping gains a field. Upserts are ``INSERT ... ON CONFLICT`` on SQLite and
PostgreSQL, so replaying a batch after a crash leaves one row per profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connectors.destinations.common import PRIVACY_PROPS, not_present
from hub.sync.destination import OutRow, RowResult
from hub.sync.errors import Transient

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

SPEC = {"type": "object", "additionalProperties": False, "required": ["url"], "properties": {
    "url": {"type": "string", "description": "SQLAlchemy URL, e.g. sqlite:///crm.db"},
    "table": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "default": "custhub_profiles"},
    "batch_size": {"type": "integer", "minimum": 1, "maximum": 10000},
    "max_attempts": {"type": "integer", "minimum": 1}, "fail_max": {"type": "integer", "minimum": 1},
    "reset_timeout": {"type": "number", "minimum": 0}, **PRIVACY_PROPS}}


def _cell(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class SqlWriter:
    def __init__(self, config: Mapping[str, Any], key_field: str) -> None:
        url = config["url"].replace("postgresql://", "postgresql+psycopg://", 1)
        self.engine = sa.create_engine(url)
        self.name = config.get("table", "custhub_profiles")
        self.key = key_field
        self.batch_size = int(config.get("batch_size", 500))
        self.table: sa.Table | None = None

    def _ensure(self, fields: set[str]) -> sa.Table:
        if self.table is not None and fields <= set(self.table.c.keys()):
            return self.table
        with self.engine.begin() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table(self.name):
                columns = [sa.Column(self.key, sa.String(500), primary_key=True)]
                columns += [sa.Column(f, sa.Text) for f in sorted(fields - {self.key})]
                sa.Table(self.name, sa.MetaData(), *columns).create(conn)
            else:
                have = {c["name"] for c in inspector.get_columns(self.name)}
                for f in sorted(fields - have):
                    conn.execute(sa.text(f'ALTER TABLE "{self.name}" ADD COLUMN "{f}" TEXT'))
        self.table = sa.Table(self.name, sa.MetaData(), autoload_with=self.engine)
        return self.table

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        if all(r.op == "erase" for r in rows) and not sa.inspect(self.engine).has_table(self.name):
            return [not_present() for _ in rows]  # nothing was ever written here
        fields = {f for r in rows if r.op not in ("delete", "erase") for f in r.payload} | {self.key}
        table = self._ensure(fields)
        key = table.c[self.key]
        results = []
        try:
            with self.engine.begin() as conn:
                for row in rows:
                    values = {k: _cell(v) for k, v in row.payload.items()}
                    if row.op == "erase":
                        gone = conn.execute(table.delete().where(key == row.profile_id)).rowcount
                        results.append(RowResult.ok(row.profile_id) if gone else not_present())
                        continue
                    if row.op == "delete":
                        conn.execute(table.delete().where(key == row.profile_id))
                    elif row.op == "update":
                        found = conn.execute(table.update().where(key == row.profile_id).values(values)).rowcount
                        if not found:
                            results.append(RowResult.rejected("NOT_FOUND", "no row with this key"))
                            continue
                    else:
                        self._upsert(conn, table, values)
                    results.append(RowResult.ok(row.profile_id))
        except sa.exc.OperationalError as exc:
            raise Transient(f"SQL destination: {type(exc.orig).__name__}") from None
        return results

    def _upsert(self, conn: sa.Connection, table: sa.Table, values: dict[str, Any]) -> None:
        insert = _INSERT.get(conn.dialect.name)
        if insert is None:  # other databases: delete then insert, in the batch's transaction
            conn.execute(table.delete().where(table.c[self.key] == values[self.key]))
            conn.execute(table.insert().values(values))
            return
        stmt = insert(table).values(values)
        updates = {k: stmt.excluded[k] for k in values if k != self.key}
        conn.execute(stmt.on_conflict_do_update(index_elements=[self.key], set_=updates) if updates
                     else stmt.on_conflict_do_nothing())

    def close(self) -> None:
        self.engine.dispose()


class SqlDestination:
    name = "sql"
    description = "A table in any SQLAlchemy database (SQLite, PostgreSQL, ...), one row per profile"
    erasure_capabilities = ("delete", "anonymise")

    def spec(self) -> dict[str, Any]:
        return SPEC

    def open(self, config: Mapping[str, Any], *, key_field: str) -> SqlWriter:
        return SqlWriter(config, key_field)
