"""Fast multi-row INSERT and UPDATE for the hot ingest path.

SQLAlchemy's per-row parameter processing costs more than SQLite's own work for wide batches, so
the statement is compiled once per dialect and executed with plain DB-API parameters; values that
need a type conversion (timestamps) are converted once per batch with the column's own processor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Table, TextClause, bindparam, insert, text, update
from sqlalchemy.engine import Dialect


@cache
def _compiled(kind: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...],
              dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    if kind == "insert":
        stmt = insert(table).values({c: bindparam(c) for c in columns})
    else:
        where = [table.c[k] == bindparam(f"k_{k}") for k in keys]
        stmt = update(table).where(*where).values({c: bindparam(c) for c in columns})
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup) if compiled.positional else None


def _execute(conn: Connection, sql: str, order: tuple[str, ...] | None, names: tuple[str, ...],
             rows: Sequence[Sequence[Any]]) -> None:
    if order is None:
        params: list[Any] = [dict(zip(names, row, strict=True)) for row in rows]
    elif order == names:
        params = list(rows)
    else:
        index = [names.index(name) for name in order]
        params = [tuple(row[i] for i in index) for row in rows]
    conn.exec_driver_sql(sql, params)


def insert_rows(conn: Connection, table: Table, columns: tuple[str, ...],
                rows: Sequence[Sequence[Any]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order, values already DB-ready)."""
    if rows:
        sql, order = _compiled("insert", table, columns, (), conn.dialect)
        _execute(conn, sql, order, columns, rows)


def insert_rows_with_ids(conn: Connection, table: Table, columns: tuple[str, ...],
                         rows: Sequence[Sequence[Any]]) -> range | None:
    """``insert_rows``, and the new rows' generated ids in the order of ``rows`` where known without
    reading them back: on SQLite, a table with an integer primary key gives each new row the largest
    id so far plus one (https://sqlite.org/autoinc.html), so a batch inserted under the write lock gets
    consecutive ids; the last id is checked to be sure. ``None`` elsewhere: read them back by key."""
    if conn.dialect.name != "sqlite" or not rows:
        insert_rows(conn, table, columns, rows)
        return None
    key = list(table.primary_key.columns)[0].name
    before = conn.exec_driver_sql(f"SELECT max({key}) FROM {table.name}").scalar() or 0  # noqa: S608
    insert_rows(conn, table, columns, rows)
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar()
    return range(before + 1, last + 1) if last == before + len(rows) else None


def update_rows(conn: Connection, table: Table, columns: tuple[str, ...], keys: tuple[str, ...],
                rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE ``columns`` of the rows matching ``keys``; each row is (*column values, *key values)."""
    if rows:
        sql, order = _compiled("update", table, columns, keys, conn.dialect)
        _execute(conn, sql, order, (*columns, *(f"k_{k}" for k in keys)), rows)


def db_converter(conn: Connection, column: Column) -> Callable[[Any], Any]:
    """The conversion SQLAlchemy applies to a value bound to ``column`` on this connection."""
    return column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) or (lambda value: value)


def db_value(conn: Connection, column: Column, value: Any) -> Any:
    """``value`` converted as SQLAlchemy would bind it to ``column`` on this connection."""
    return db_converter(conn, column)(value)



def in_values(dialect: Dialect, column: Column, param: str) -> TextClause:
    """``column IN (values)`` with all values bound as ONE parameter (see ``values_param``).

    A long IN list would otherwise be rendered and parsed value by value on every batch.
    """
    # Only names from our own Table objects are interpolated; the values are bound.
    name = f"{column.table.name}.{column.name}"
    if dialect.name == "sqlite":
        return text(f"{name} IN (SELECT value FROM json_each(:{param}))")  # noqa: S608
    return text(f"{name} = ANY(CAST(:{param} AS TEXT[]))")


def values_param(dialect: Dialect, values: Sequence[str]) -> Any:
    return json.dumps(list(values), ensure_ascii=False) if dialect.name == "sqlite" else list(values)
