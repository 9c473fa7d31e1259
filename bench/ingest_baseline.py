"""Bench-only: the ingest path with sealing replaced by plaintext, to measure what encryption costs.

Used by ``bench/ingest.py --plaintext-baseline`` only. It patches the running benchmark process
(and, through the worker initialiser, its worker processes): there is no configuration, option or
environment variable of custhub that turns encryption off.

What it removes: sealing of ``source_records.raw``/``.canonical`` and ``quarantine.raw`` (the field
cipher hands the plaintext back) and the keyed content hash (an unkeyed SHA-1, as before
encryption). What it keeps: the suppression check and the consent capture, which are not
encryption. It patches the cipher and the runtime, not ``hub.ingest.processor``, which is compiled
(hub.native) and so cannot be patched from Python.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hub.ingest import workers
from hub.privacy.crypto import FieldCipher
from hub.privacy.runtime import PrivacyRuntime
from hub.store import records

_original_init_worker = workers._init_worker


def _plain_encrypt(self: FieldCipher, plaintext: str | bytes, aad: bytes, *, kid: int | None = None) -> str:
    return plaintext.decode() if isinstance(plaintext, bytes) else plaintext


def _plain_encrypt_binary(self: FieldCipher, plaintext: str | bytes, aad: bytes, *, kid: int | None = None) -> bytes:
    return plaintext if isinstance(plaintext, bytes) else plaintext.encode()


def _unkeyed_hash(self: PrivacyRuntime, data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _plain_value(table: str, column: str, connection: str, stream: str, pk: str, value: str) -> str:
    return value


def install_plain() -> None:
    """Patch this process: every value sealed from now on stays plaintext."""
    FieldCipher.encrypt = _plain_encrypt  # type: ignore[method-assign]
    FieldCipher.encrypt_binary = _plain_encrypt_binary  # type: ignore[method-assign]
    PrivacyRuntime.content_hash = _unkeyed_hash  # type: ignore[method-assign]
    records._sealed = _plain_value


def init_worker(*args: Any) -> None:
    install_plain()
    _original_init_worker(*args)


def install() -> None:
    """Patch this process and the worker processes it will spawn."""
    install_plain()
    workers._init_worker = init_worker
