"""The file source's per-row work: skip rows at or below the cursor, flag a missing key, hash, number.

Kept apart from ``connectors.file.source`` (whose classes extend the CDK's) so that it can be
compiled (``hub.native``): it runs once per row of every file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import orjson

ROW = "_row"
ROW_HASH = "_row_hash"


def keyed_rows(rows: Iterator[tuple[int, dict[str, Any] | None]], state: dict[str, Any],
               primary_key: tuple[str, ...], cursor_column: str | None) -> Iterator[dict[str, Any]]:
    """The data rows of ``rows`` to emit, each with ``_row_hash`` and ``_row``.

    ``state`` is the stream state being built: ``offset`` follows every row read, ``cursor`` the
    largest cursor value seen; rows whose value is at or below ``state["since"]`` are skipped.
    """
    cursor, since = state.get("cursor"), state.get("since")
    sha1, dumps, sort_keys = hashlib.sha1, orjson.dumps, orjson.OPT_SORT_KEYS
    for row_no, data in rows:  # the caller closes ``rows`` (connectors.file.source)
        state["offset"] = row_no
        if data is None:
            continue
        if cursor_column:
            value = data.get(cursor_column)
            text = (value if isinstance(value, str) else "" if value is None else str(value)).strip()
            if text:
                if cursor is None or text > cursor:
                    cursor = state["cursor"] = text
                if since is not None and text <= since:
                    continue
        if primary_key:
            flag_missing_key(data, primary_key)
        data[ROW_HASH] = sha1(dumps(data, option=sort_keys)).hexdigest()
        data[ROW] = row_no
        yield data


def flag_missing_key(data: dict[str, Any], primary_key: tuple[str, ...]) -> None:
    missing = [column for column in primary_key if data.get(column) in (None, "")]
    if missing:
        problem = f"primary key column '{missing[0]}' is empty"
        data["_invalid"] = f"{data['_invalid']}; {problem}" if "_invalid" in data else problem
