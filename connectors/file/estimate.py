"""How many rows a read of the file source will bring, guessed before reading, from file sizes.

Used by the ingest pipeline to start its worker processes while the source is still starting up
(importing the CDK, checking the whole file), rather than at the first full batch. A guess only:
rows per byte are sampled from the start of each file; an unchanged file already read to its end
brings none, one read part-way brings what lies past its saved offset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from connectors.file.settings import FileSettings, file_settings

SAMPLE_BYTES = 1 << 18  # rows per byte are measured on the first 256 KB


def estimated_rows(config: Mapping[str, Any], streams: Iterable[str],
                   state: Mapping[str, dict[str, Any]]) -> int | None:
    """Rows still to read in ``streams`` (selected stream names), or None when it cannot be told
    (a workbook: its rows cannot be counted without unpacking it)."""
    selected = set(streams)
    total = 0
    for settings in file_settings(config):
        if settings.stream not in selected:
            continue
        rows = _rows_left(settings, _stream_state(state.get(settings.stream)))
        if rows is None:
            return None
        total += rows
    return total


def _rows_left(settings: FileSettings, saved: Mapping[str, Any]) -> int | None:
    try:
        stat = os.stat(settings.path)
        same_file = saved.get("mtime_ns") == stat.st_mtime_ns and saved.get("size") == stat.st_size
        if same_file and saved.get("done"):
            return 0
        if settings.format not in ("csv", "jsonl"):
            return None
        rows = _rows_in(settings, stat.st_size)
    except OSError:
        return 0  # missing or unreadable: reading it reports the problem in one line
    offset = int(saved.get("offset") or 0) if same_file else 0
    return max(rows - offset, 0)


def _rows_in(settings: FileSettings, size: int) -> int:
    with open(settings.path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    lines = sample.count(b"\n") or 1
    return round(size * lines / max(len(sample), 1))


def _stream_state(message: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The stream state inside a saved STATE message (``{"type": "STREAM", "stream": {...}}``)."""
    if not isinstance(message, Mapping):
        return {}
    stream = message.get("stream")
    saved = stream.get("stream_state") if isinstance(stream, Mapping) else None
    return saved if isinstance(saved, Mapping) else {}
