"""The file source's config, checked and with its defaults applied: one ``FileSettings`` per file."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hub import validation
from hub.errors import ConfigError

CONFIG_LABEL = "file source config"
DEFAULT_CHECKPOINT_EVERY = 5000
ENCODING_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030"}
FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx",
                    ".xlsm": "xlsx"}


@cache
def spec() -> dict[str, Any]:
    """The connector's config JSON Schema (``spec.json``)."""
    return json.loads(Path(__file__).with_name("spec.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class FileSettings:
    """One configured file. ``label`` is the path as configured, used to name it in messages."""

    label: str
    path: Path
    stream: str
    format: str
    encoding: str  # auto | utf-8 | utf-8-sig | gb18030
    delimiter: str
    sheet: str | None
    primary_key: tuple[str, ...]
    cursor_field: str | None


def stream_name_for(path: str) -> str:
    """The default stream name of a file: its stem, lower-cased, outside ``[a-z0-9_]`` -> ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", Path(path).stem.lower())


def file_settings(config: Mapping[str, Any]) -> list[FileSettings]:
    """Validate ``config`` against the spec and resolve every file's defaults."""
    validation.check(dict(config), spec(), file=CONFIG_LABEL)
    base_dir = Path(config["base_dir"]).expanduser() if config.get("base_dir") else None
    result: list[FileSettings] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(config["files"]):
        settings = _one_file(entry, base_dir, where=f"files[{index}]")
        if settings.stream in seen:
            other = seen[settings.stream]
            raise ConfigError(f"stream '{settings.stream}' is also the stream of files[{other}]",
                              file=CONFIG_LABEL, path=f"files[{index}].stream",
                              fix="give one of the files its own 'stream' name")
        seen[settings.stream] = index
        result.append(settings)
    return result


def checkpoint_every(config: Mapping[str, Any]) -> int:
    return int(config.get("checkpoint_every") or DEFAULT_CHECKPOINT_EVERY)


def _one_file(entry: Mapping[str, Any], base_dir: Path | None, *, where: str) -> FileSettings:
    label = entry["path"]
    path = Path(label).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    suffix = path.suffix.lower()
    file_format = entry.get("format") or FORMAT_BY_SUFFIX.get(suffix)
    if file_format is None:
        raise ConfigError(f"cannot tell the format of '{label}' from its extension", file=CONFIG_LABEL,
                          path=f"{where}.format", fix="set format: csv, jsonl or xlsx")
    if "delimiter" in entry and file_format != "csv":
        raise ConfigError("'delimiter' applies to csv files only", file=CONFIG_LABEL,
                          path=f"{where}.delimiter", fix="remove it")
    if "sheet" in entry and file_format != "xlsx":
        raise ConfigError("'sheet' applies to xlsx files only", file=CONFIG_LABEL, path=f"{where}.sheet",
                          fix="remove it")
    if "encoding" in entry and file_format == "xlsx":
        raise ConfigError("'encoding' applies to csv and jsonl files only", file=CONFIG_LABEL,
                          path=f"{where}.encoding", fix="remove it: xlsx files carry their own encoding")
    encoding = entry.get("encoding", "auto")
    return FileSettings(
        label=label,
        path=path,
        stream=entry.get("stream") or stream_name_for(label),
        format=file_format,
        encoding=ENCODING_ALIASES.get(encoding, encoding),
        delimiter=entry.get("delimiter") or ("\t" if suffix == ".tsv" else ","),
        sheet=entry.get("sheet"),
        primary_key=tuple(entry.get("primary_key") or ()),
        cursor_field=entry.get("cursor_field"),
    )
