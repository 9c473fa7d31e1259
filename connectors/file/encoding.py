"""Choose and verify the text encoding of a csv or jsonl file before anything is read from it.

``auto`` means: a UTF-8 byte-order mark -> UTF-8; else the whole file as strict UTF-8; else the
whole file as strict GB18030 (what Excel on a Chinese Windows exports as "CSV"). The whole file is
checked, in chunks, so a bad byte near the end refuses the file before its first record is read.

One guard: UTF-8 Chinese text is often *valid* GB18030 (as mojibake), so a UTF-8 file with one
corrupt byte could pass as GB18030. When at least ``UTF8_EVIDENCE_BYTES`` non-ASCII bytes decoded
as UTF-8 before the first bad byte, the file is taken to be damaged UTF-8 and refused. (Real
GB18030 text almost never holds that many valid UTF-8 sequences in a row.)

Byte offsets in messages are 0-based; line numbers count ``\\n`` and start at 1.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from hub.errors import CorruptInputError

CHUNK_BYTES = 1 << 20
UTF8_EVIDENCE_BYTES = 16
_HIGH_BYTES = bytes(range(0x80, 0x100))
UTF8_BOM = codecs.BOM_UTF8
_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030"}
# The Python codec that reads each resolved encoding; utf-8-sig also drops a leading BOM.
PYTHON_CODEC = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}


@dataclass(frozen=True)
class DecodeError:
    position: int  # 0-based byte offset of the first byte that cannot be decoded
    truncated: bool  # the file ends inside a multi-byte character


def resolve_encoding(path: Path, label: str, encoding: str, *, fix: str) -> str:
    """The Python codec to read ``path`` with, after checking every byte of it decodes.

    Raises ``CorruptInputError`` naming the file, the position and ``fix`` when it does not.
    """
    if encoding == "auto":
        if _starts_with_bom(path):
            return _verified(path, label, "utf-8", fix)
        utf8 = first_decode_error(path, "utf-8")
        if utf8 is None:
            return PYTHON_CODEC["utf-8"]
        if _non_ascii_bytes_before(path, utf8.position) >= UTF8_EVIDENCE_BYTES:
            raise _corrupt(path, label, utf8, "UTF-8", fix)
        gb18030 = first_decode_error(path, "gb18030")
        if gb18030 is None:
            return PYTHON_CODEC["gb18030"]
        # Report the encoding that got furthest: it is most likely the one the file was meant to be in.
        furthest, name = max((utf8, "UTF-8"), (gb18030, "GB18030"), key=lambda pair: pair[0].position)
        raise _corrupt(path, label, furthest, name if furthest.truncated else "UTF-8 or GB18030", fix)
    return _verified(path, label, encoding, fix)


def sniff_encoding(head: bytes, encoding: str) -> str:
    """The Python codec for a file that starts with ``head``, judged from those bytes only."""
    if encoding != "auto":
        return PYTHON_CODEC[encoding]
    if head.startswith(UTF8_BOM):
        return PYTHON_CODEC["utf-8"]
    for candidate in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(candidate)("strict")
        try:
            decoder.decode(head)
        except UnicodeDecodeError:
            continue
        return PYTHON_CODEC[candidate]
    return PYTHON_CODEC["utf-8"]


def first_decode_error(path: Path, encoding: str) -> DecodeError | None:
    """Where ``path`` stops being valid ``encoding`` text (None when all of it is valid)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    position = 0
    with open(path, "rb") as file:
        if encoding == "utf-8" and file.read(len(UTF8_BOM)) == UTF8_BOM:
            position = len(UTF8_BOM)
        else:
            file.seek(0)
        while chunk := file.read(CHUNK_BYTES):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return DecodeError(position - pending + error.start, truncated=False)
            position += len(chunk)
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return DecodeError(position - pending + error.start, truncated=True)
    return None


def line_at(path: Path, position: int) -> int:
    """The 1-based line that byte ``position`` of ``path`` is on."""
    newlines = 0
    with open(path, "rb") as file:
        remaining = position
        while remaining > 0 and (chunk := file.read(min(CHUNK_BYTES, remaining))):
            newlines += chunk.count(b"\n")
            remaining -= len(chunk)
    return newlines + 1


def _non_ascii_bytes_before(path: Path, position: int) -> int:
    count = 0
    with open(path, "rb") as file:
        remaining = position
        while remaining > 0 and (chunk := file.read(min(CHUNK_BYTES, remaining))):
            count += len(chunk) - len(chunk.translate(None, _HIGH_BYTES))
            remaining -= len(chunk)
    return count


def _starts_with_bom(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(len(UTF8_BOM)) == UTF8_BOM


def _verified(path: Path, label: str, encoding: str, fix: str) -> str:
    check_as = "utf-8" if encoding == "utf-8-sig" else encoding
    error = first_decode_error(path, check_as)
    if error is not None:
        raise _corrupt(path, label, error, _NAMES[check_as], fix)
    return PYTHON_CODEC[encoding]


def _corrupt(path: Path, label: str, error: DecodeError, names: str, fix: str) -> CorruptInputError:
    where = f"line {line_at(path, error.position)}, byte {error.position}"
    if error.truncated:
        return CorruptInputError(f"{label}: ends in the middle of a {names} character at {where} "
                                 "(the file looks truncated: copy or export it again)")
    return CorruptInputError(f"{label}: not valid {names} text at {where} ({fix})")
