"""A byte-level look at a CSV file that can vouch for it without parsing it.

Unquoted CSV cannot go wrong the way the parser reports: every error ``csv.reader`` raises (outside
strict mode) comes from a quoted field running on, or from a field longer than
``csv.field_size_limit()``. A file with no quote character and no long line therefore parses in
full, and the whole-file check before a read (``CsvFile.validate``) may skip its parse: ~1 s of one
core for a million rows. ``"`` and ``\\n`` are never part of a multi-byte character in UTF-8 or
GB18030, so the bytes tell.
"""

from __future__ import annotations

import csv
from pathlib import Path

QUOTE, NEWLINE = b'"', b"\n"


def plainly_parseable(path: Path) -> bool:
    """True when ``path`` holds no ``"`` and no line of ``csv.field_size_limit()`` bytes or more.

    False says nothing (the file may well be fine): parse it to know. Lines are checked in aligned
    windows of half the limit, each of which must hold a line break: a line as long as the limit
    covers one of them whole, wherever it starts.
    """
    window = max(csv.field_size_limit() // 2, 1)
    chunk_size = window * max(1, (1 << 20) // window)  # whole windows, so they stay aligned
    with open(path, "rb") as file:
        while chunk := file.read(chunk_size):
            if QUOTE in chunk:
                return False
            for start in range(0, len(chunk) - window + 1, window):
                if chunk.find(NEWLINE, start, start + window) < 0:
                    return False
    return True
