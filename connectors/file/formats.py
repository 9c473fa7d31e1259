"""Reading CSV, JSON Lines and XLSX files as rows of ``{column: value}``, one row at a time.

Every format offers the same three operations:

* ``validate()``: a streamed pass over the whole file that raises ``CorruptInputError`` (one line:
  file, position, fix) for anything that would stop a read half-way, so a corrupt file is refused
  before its first record;
* ``header()``: the column names, reading as little as possible (``check`` and ``discover``);
* ``rows(skip)``: ``(row_number, data)`` for every data row after the first ``skip``; ``data`` is
  None for a blank row. Row numbers start at 1 after the header and count blank rows too.

CSV and XLSX cells are strings (XLSX numbers and dates become their ISO text); empty cells are left
out. Header names are stripped; an empty one becomes ``_col<N>`` and a repeated one ``<name>_2``.
A row with more non-empty cells than the header has columns gets ``_invalid`` (and its surplus
cells in ``_extra``); trailing empty cells, as Excel writes them, do not count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import zipfile
import zlib
from collections.abc import Generator, Iterator
from typing import Any

import orjson

from connectors.file.csvscan import plainly_parseable
from connectors.file.encoding import CHUNK_BYTES, resolve_encoding, sniff_encoding
from connectors.file.settings import FileSettings
from hub.errors import ConfigError, CorruptInputError

Row = tuple[int, dict[str, Any] | None]
_SENTINEL = "\x00custhub: end of file\x00"


def open_file(settings: FileSettings) -> CsvFile | JsonlFile | XlsxFile:
    if settings.format == "csv":
        return CsvFile(settings)
    if settings.format == "jsonl":
        return JsonlFile(settings)
    if settings.format == "xlsx":
        return XlsxFile(settings)
    raise ValueError(f"unknown file format {settings.format!r}")  # the config schema allows only these


def column_names(cells: list[Any]) -> list[str]:
    """Header cells as unique, non-empty column names."""
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells, 1):
        base = (cell if isinstance(cell, str) else cell_text(cell) if cell is not None else "").strip()
        name = base or f"_col{index}"
        count = 1
        while name in seen:
            count += 1
            name = f"{base or f'_col{index}'}_{count}"
        seen.add(name)
        names.append(name)
    return names


def cell_text(value: Any) -> str:
    """An XLSX cell value as text: integral numbers without '.0', dates and times in ISO 8601."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _ragged(header: list[str], cells: list[Any], width: int) -> dict[str, Any] | None:
    """A row with cells beyond the header: flagged unless the surplus cells are all empty."""
    data = {name: value for name, value in zip(header, cells, strict=False) if value}
    extra = list(cells[width:])
    while extra and extra[-1] in ("", None):
        extra.pop()
    if extra:
        data["_invalid"] = f"row has {width + len(extra)} cells, the header has {width}"
        data["_extra"] = extra
    return data or None


class _TextFile:
    """A csv or jsonl file: its encoding is checked by ``validate`` or guessed from its start."""

    fix = "re-save the file as UTF-8"

    def __init__(self, settings: FileSettings) -> None:
        self.settings = settings
        self._codec: str | None = None

    def _verify_encoding(self) -> None:
        settings = self.settings
        self._codec = resolve_encoding(settings.path, settings.label, settings.encoding, fix=self.fix)

    def _open(self, newline: str | None = None) -> io.TextIOWrapper:
        if self._codec is None:
            with open(self.settings.path, "rb") as file:
                head = file.read(CHUNK_BYTES)
            # Leave out the last bytes of a full chunk: they may cut a character in two.
            self._codec = sniff_encoding(head[:-3] if len(head) == CHUNK_BYTES else head,
                                         self.settings.encoding)
        return open(self.settings.path, encoding=self._codec, newline=newline, errors="strict")

    def header(self) -> list[str]:
        try:
            return self._read_header()
        except UnicodeDecodeError:
            # The encoding guessed from the file's start was wrong or the file is damaged: check all
            # of it, which names the bad byte, or settles the encoding for a second attempt.
            self._verify_encoding()
            return self._read_header()

    def _read_header(self) -> list[str]:
        raise NotImplementedError


class CsvFile(_TextFile):
    """A delimited text file whose first non-blank row is the header."""

    fix = "re-export the file as UTF-8 CSV"

    def validate(self) -> None:
        label = self.settings.label
        self._verify_encoding()
        if self.settings.delimiter != '"' and plainly_parseable(self.settings.path):
            self.header()  # no quotes, no long lines: it parses in full (see connectors.file.csvscan)
            return
        with self._open(newline="") as text:
            reader = csv.reader(itertools.chain(text, [_SENTINEL + "\n"]), delimiter=self.settings.delimiter)
            row_start = last_start = 1
            last: list[str] = []
            try:
                for cells in reader:
                    last, last_start, row_start = cells, row_start, reader.line_num + 1
            except csv.Error as error:
                if "field limit" in str(error):
                    raise CorruptInputError(
                        f"{label}: line {row_start}: a field runs past {csv.field_size_limit()} characters, "
                        "probably a quote that is never closed (close it or re-export the file as CSV)"
                    ) from None
                raise CorruptInputError(f"{label}: line {row_start}: {error} ({self.fix})") from None
        if last != [_SENTINEL]:
            # The sentinel line was swallowed by a quoted field that is still open at the end.
            opened = last_start + sum(field.count("\n") for field in last[:-1])
            raise CorruptInputError(f"{label}: the quote opened on line {opened} is never closed "
                                    "(close it or re-export the file as CSV)")
        self.header()

    def _read_header(self) -> list[str]:
        with self._open(newline="") as text:
            return self._header_row(csv.reader(text, delimiter=self.settings.delimiter))

    def rows(self, skip: int = 0) -> Iterator[Row]:
        with self._open(newline="") as text:
            reader = csv.reader(text, delimiter=self.settings.delimiter)
            header = self._header_row(reader)
            width = len(header)
            if skip:
                next(itertools.islice(reader, skip - 1, None), None)
            for row_no, cells in enumerate(reader, skip + 1):
                if len(cells) > width:
                    yield row_no, _ragged(header, cells, width)
                    continue
                data = {name: value for name, value in zip(header, cells, strict=False) if value}
                yield row_no, data or None

    def _header_row(self, reader: Any) -> list[str]:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                return column_names(cells)
        raise CorruptInputError(f"{self.settings.label}: the file has no header row "
                                "(export it again with the column names in the first row)")


class JsonlFile(_TextFile):
    """A JSON Lines file: one JSON object per line; blank lines are skipped."""

    def validate(self) -> None:
        self._verify_encoding()
        with self._open() as text:
            for line_no, line in enumerate(text, 1):
                if line.strip():
                    self._parse(line, line_no)

    def _read_header(self) -> list[str]:
        with self._open() as text:
            for line_no, line in enumerate(text, 1):
                if line.strip():
                    return list(self._parse(line, line_no))
        return []

    def rows(self, skip: int = 0) -> Iterator[Row]:
        loads = orjson.loads
        with self._open() as text:
            if skip:
                next(itertools.islice(text, skip - 1, None), None)
            for line_no, line in enumerate(text, skip + 1):
                yield line_no, (loads(line) if line.strip() else None)

    def _parse(self, line: str, line_no: int) -> dict[str, Any]:
        label = self.settings.label
        try:
            value = orjson.loads(line.rstrip("\r\n"))
        except orjson.JSONDecodeError as error:
            raise CorruptInputError(f"{label}: line {line_no}, column {error.pos + 1}: invalid JSON: "
                                    f"{error.msg} (fix the line or export the file again)") from None
        if not isinstance(value, dict):
            raise CorruptInputError(f"{label}: line {line_no} holds a JSON {_json_type(value)}, "
                                    "not an object (put one JSON object on each line)")
        return value


class XlsxFile:
    """One worksheet of an Excel workbook; its first non-empty row is the header."""

    fix = "open it in Excel and save it again as .xlsx"

    def __init__(self, settings: FileSettings) -> None:
        self.settings = settings

    def validate(self) -> None:
        label = self.settings.label
        try:
            with zipfile.ZipFile(self.settings.path) as archive:
                damaged = archive.testzip()
                if damaged is None and "xl/workbook.xml" not in archive.namelist():
                    damaged = "xl/workbook.xml (missing)"
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
            raise CorruptInputError(f"{label}: not a readable XLSX workbook, its ZIP container is broken: "
                                    f"{error} ({self.fix})") from None
        if damaged is not None:
            raise CorruptInputError(f"{label}: not a readable XLSX workbook, its part {damaged} is damaged "
                                    f"({self.fix})")
        # The sheet and its header are checked by rows() before its first row: loading the workbook
        # here too would parse its shared strings twice.

    def header(self) -> list[str]:
        rows = self._rows()
        try:
            return self._header_row(rows)
        finally:
            rows.close()

    def rows(self, skip: int = 0) -> Iterator[Row]:
        rows = self._rows()
        try:
            header = self._header_row(rows)
            width = len(header)
            if skip:
                next(itertools.islice(rows, skip - 1, None), None)
            for row_no, values in enumerate(rows, skip + 1):
                if len(values) > width and any(value not in ("", None) for value in values[width:]):
                    yield row_no, _ragged(header, [_xlsx_cell(value) for value in values], width)
                    continue
                data = {}
                for name, value in zip(header, values, strict=False):
                    if value is not None and value != "":
                        data[name] = value if type(value) is str else cell_text(value)
                yield row_no, data or None
        finally:
            rows.close()

    def _header_row(self, rows: Iterator[tuple[Any, ...]]) -> list[str]:
        for values in rows:
            if any(value not in ("", None) for value in values):
                cells = list(values)
                while cells and cells[-1] in ("", None):
                    cells.pop()
                return column_names(cells)
        raise CorruptInputError(f"{self.settings.label}: the sheet has no header row "
                                "(put the column names in its first row)")

    def _rows(self) -> Generator[tuple[Any, ...], None, None]:
        """The sheet's rows as value tuples; the workbook is closed when the generator is."""
        import openpyxl

        label = self.settings.label
        try:
            workbook = openpyxl.load_workbook(self.settings.path, read_only=True, data_only=True)
        except OSError:
            raise  # missing or unreadable: reported by the caller as a config problem
        except (zipfile.BadZipFile, KeyError, ValueError, zlib.error) as error:
            raise CorruptInputError(f"{label}: not a readable XLSX workbook: {error} ({self.fix})") from None
        except Exception as error:  # openpyxl raises many kinds of parse errors for a damaged workbook
            raise CorruptInputError(f"{label}: not a readable XLSX workbook: {type(error).__name__} "
                                    f"({self.fix})") from None
        return self._sheet_rows(workbook)

    def _sheet_rows(self, workbook: Any) -> Generator[tuple[Any, ...], None, None]:
        try:
            sheet_name = self.settings.sheet
            if sheet_name is None:
                sheet = workbook.worksheets[0]
            elif sheet_name in workbook.sheetnames:
                sheet = workbook[sheet_name]
            else:
                raise ConfigError(f"{self.settings.label} has no sheet '{sheet_name}'",
                                  fix=f"set sheet to one of: {', '.join(workbook.sheetnames)}")
            sheet.reset_dimensions()
            yield from sheet.iter_rows(values_only=True)
        finally:
            workbook.close()


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _xlsx_cell(value: Any) -> Any:
    return value if value is None or type(value) is str else cell_text(value)
