"""Bench-only: the ingest path with sealing replaced by plaintext, to measure what encryption costs.

Used by ``bench/ingest.py --plaintext-baseline`` only. It patches the running benchmark process
(and, through the worker initialiser, its worker processes): there is no configuration, option or
environment variable of custhub that turns encryption off.

What it removes: sealing of ``source_records.raw``/``.canonical`` and ``quarantine.raw`` and the
keyed content hash (an unkeyed SHA-1, as before encryption). What it keeps: the suppression check
and the consent capture, which are not encryption.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hub.ingest import processor, workers
from hub.store import records

_original_init_worker = workers._init_worker


class PlainSealing(processor.Sealing):
    def record_hash(self, raw_json: str | bytes) -> str:
        data = raw_json if isinstance(raw_json, bytes) else raw_json.encode()
        return hashlib.sha1(data + self.salt, usedforsecurity=False).hexdigest()

    def seal_record(self, pk: str, raw_json: str | bytes, canonical_json: str | bytes) -> tuple[str, str]:
        return _text(raw_json), _text(canonical_json)

    def seal_quarantine(self, pk: str, raw_json: str) -> str:
        return raw_json


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _plain_value(table: str, column: str, connection: str, stream: str, pk: str, value: str) -> str:
    return value


def install_plain() -> None:
    """Patch this process: processors built from now on store plaintext."""
    processor.Sealing = PlainSealing  # type: ignore[misc]
    records._sealed = _plain_value


def init_worker(*args: Any) -> None:
    install_plain()
    _original_init_worker(*args)


def install() -> None:
    """Patch this process and the worker processes it will spawn."""
    install_plain()
    workers._init_worker = init_worker
