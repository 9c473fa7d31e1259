"""Safe exports: spreadsheet formula injection neutralised, pseudonyms for analysis exports.

A cell whose first character, or that character's NFKC form, is one of ``= + - @``, TAB, CR or
NUL is prefixed with ``'`` (OWASP ASVS 1.2.10, CWE-1236): Excel and LibreOffice would otherwise
run ``=HYPERLINK(…)`` or ``=cmd|…``. RFC 4180 quoting does not stop evaluation. The NFKC check also
catches the full-width forms ``＝ ＋ － ＠``. Numbers are left alone. E.164 phones (``+86…``) get
the prefix too; it is visible in the sheet and documented.

Pseudonyms are keyed: ``pseudonym(kind, value)`` is HMAC-SHA256 under a key per export (not
linkable across exports) or a stable key you pass in (linkable on purpose). Either way the same
person gets the same pseudonym within one export, and without the key it cannot be reversed by
trying every phone number.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

TRIGGERS = frozenset("=+-@\t\r\0")


def needs_neutralising(text: str) -> bool:
    if not text:
        return False
    first = text[0]
    return first in TRIGGERS or unicodedata.normalize("NFKC", first)[:1] in TRIGGERS


def neutralise_cell(value: Any) -> Any:
    """``value`` safe to put in a spreadsheet cell; non-strings are returned unchanged."""
    if isinstance(value, str) and needs_neutralising(value):
        return "'" + value
    return value


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise_cell(v) for v in row]


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a UTF-8 (with BOM, for Excel) CSV with every cell neutralised; returns the row count."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as out:
        return write_csv_stream(out, header, rows)


def write_csv_stream(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``write_csv`` to an open text stream (standard output); returns the row count."""
    count = 0
    writer = csv.writer(out)
    writer.writerow(neutralise_row(header))
    for row in rows:
        writer.writerow(neutralise_row("" if v is None else v for v in row))
        count += 1
    return count


def write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write an XLSX sheet with every string cell neutralised and stored as text, never as a formula."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append(neutralise_row(header))
    count = 0
    for row in rows:
        cells = []
        for value in neutralise_row(row):
            cells.append(_text_cell(sheet, value) if isinstance(value, str) else value)
        sheet.append(cells)
        count += 1
    workbook.save(str(path))
    return count


def _text_cell(sheet: Any, value: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=_xml_safe(value))
    cell.data_type = "s"  # a string even when it starts with '=' (belt and braces)
    return cell


def _xml_safe(text: str) -> str:
    """XLSX cannot hold control characters other than TAB/LF/CR: write them as U+FFFD."""
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else "\ufffd" for c in text)


class Pseudonymiser:
    """Keyed pseudonyms for analysis exports."""

    def __init__(self, key: bytes | None = None, *, length: int = 20) -> None:
        self._key = key if key is not None else os.urandom(32)
        self.length = length

    def __repr__(self) -> str:
        return "<Pseudonymiser>"

    def pseudonym(self, kind: str, value: str) -> str:
        mac = hmac.new(self._key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
        return f"psn_{mac[: self.length]}"

    def record(self, row: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
        """``row`` with each column in ``fields`` (column -> kind) replaced by its pseudonym."""
        out = dict(row)
        for column, kind in fields.items():
            value = out.get(column)
            if value not in (None, ""):
                out[column] = self.pseudonym(kind, str(value))
        return out
