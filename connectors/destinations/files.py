"""The file destination: the synced profiles as one CSV or JSON Lines file, keyed on the custhub id.

Each batch rewrites the file atomically (write a temporary file, then rename), so the file always
holds exactly one line per profile, and a batch replayed after a crash changes nothing. CSV cells
that a spreadsheet would run as a formula are prefixed with ``'``. Meant for offline round trips
and hand-offs of modest size, not for millions of rows.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from connectors.destinations.common import PRIVACY_PROPS, not_present
from hub.errors import ConnectorError
from hub.sync.destination import OutRow, RowResult

SPEC = {"type": "object", "additionalProperties": False, "required": ["path"], "properties": {
    "path": {"type": "string", "description": "a .csv or .jsonl file (relative to the working directory)"},
    "format": {"enum": ["csv", "jsonl"]},
    "batch_size": {"type": "integer", "minimum": 1},
    "max_attempts": {"type": "integer", "minimum": 1}, **PRIVACY_PROPS}}
_SAFE_NUMBER = re.compile(r"[+-][\d\s().-]*")


def safe_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not evaluate (OWASP CSV injection)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _SAFE_NUMBER.fullmatch(text)):
        return "'" + text
    return text


class FileWriter:
    def __init__(self, config: Mapping[str, Any], key_field: str) -> None:
        self.path = Path(config["path"])
        self.format = config.get("format") or ("csv" if self.path.suffix.lower() == ".csv" else "jsonl")
        self.key = key_field
        self.batch_size = int(config.get("batch_size", 1000))
        self.rows: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            with self.path.open(encoding="utf-8", newline="") as fh:
                if self.format == "csv":
                    return {row[self.key]: row for row in csv.DictReader(fh)}
                return {row[self.key]: row for row in map(orjson.loads, filter(str.strip, fh))}
        except OSError as exc:
            raise self._unusable("read", exc) from None

    def _unusable(self, verb: str, exc: OSError) -> ConnectorError:
        return ConnectorError(f"file destination cannot {verb} {self.path} ({type(exc).__name__}: {exc.strerror}; "
                              "check destinations.<name>.config.path names a writable file)")

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        results = []
        for row in rows:
            if row.op == "erase":
                held = self.rows.pop(row.profile_id, None)
                results.append(RowResult.ok(row.profile_id) if held is not None else not_present())
                continue
            if row.op == "delete":
                self.rows.pop(row.profile_id, None)
            elif row.op == "update" and row.profile_id not in self.rows:
                results.append(RowResult.rejected("NOT_FOUND", "no line with this key"))
                continue
            else:
                self.rows[row.profile_id] = {**self.rows.get(row.profile_id, {}), **row.payload}
            results.append(RowResult.ok(row.profile_id))
        self._save()
        return results

    def _save(self) -> None:
        try:
            self._write_file()
        except OSError as exc:
            raise self._unusable("write", exc) from None

    def _write_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            if self.format == "csv":
                fields = list(dict.fromkeys([self.key, *(k for r in self.rows.values() for k in r)]))
                writer = csv.DictWriter(fh, fieldnames=fields)
                writer.writeheader()
                for row in self.rows.values():
                    writer.writerow({k: safe_cell(v) for k, v in row.items()})
            else:
                for row in self.rows.values():
                    fh.write(orjson.dumps(row).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def close(self) -> None:
        pass


class FileDestination:
    name = "file"
    description = "A CSV or JSON Lines file with one line per profile (offline hand-off and round trips)"
    erasure_capabilities = ("delete", "anonymise")

    def spec(self) -> dict[str, Any]:
        return SPEC

    def open(self, config: Mapping[str, Any], *, key_field: str) -> FileWriter:
        return FileWriter(config, key_field)
