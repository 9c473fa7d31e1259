"""Set up the privacy layer in one process: KEK → keyring → cipher, blind indexer, audit key.

``ensure_active(engine, settings, base_dir)`` is what every entry point calls when it opens the
store: idempotent, it creates the keys of a new store and then activates. ``current()`` is the
active runtime, with ``seal``/``open`` for field encryption and ``content_hash`` for keyed digests.
``activate(engine, settings, base_dir)`` loads the KEK named by ``privacy.keys.kek`` (an
environment variable or a key file), unwraps the keys of the store and installs the blind indexer
(``hub.privacy.blind_index.blind_index``) and the audit key (``hub.privacy.audit.record``) for the
process. Worker processes call it again in their initialiser: key material is never pickled.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, func, select

from hub.privacy import audit, blind_index
from hub.privacy.blind_index import BlindIndexer
from hub.privacy.crypto import FieldCipher, location_aad
from hub.privacy.errors import KeyMaterialError
from hub.privacy.keys import DEFAULT_KEK_ENV, Kek, Keyring, generate_kek, init_keys, load_kek
from hub.privacy.settings import PrivacySettings
from hub.privacy.tables import privacy_keys

log = logging.getLogger(__name__)


AUTO_KEK_FILE = ".custhub/kek"
_CONTENT_HASH_INFO = b"custhub-content-hash|v1"


@dataclass(frozen=True)
class PrivacyRuntime:
    keyring: Keyring
    cipher: FieldCipher
    indexer: BlindIndexer
    audit_key: bytes
    hash_key: bytes

    def __repr__(self) -> str:
        return f"<PrivacyRuntime {self.keyring!r}>"

    def seal(self, table: str, column: str, row_key: Any, plaintext: str) -> str:
        """``plaintext`` encrypted for ``column`` of row ``row_key`` in ``table``."""
        return self.cipher.encrypt(plaintext, location_aad(table, column, row_key))

    def seal_json(self, table: str, column: str, row_key: Any, value: Any) -> str:
        return self.cipher.encrypt_json(value, location_aad(table, column, row_key))

    def open(self, table: str, column: str, row_key: Any, token: str | bytes) -> str:
        """The plaintext of a value sealed by ``seal`` at the same location (``CiphertextError`` if not)."""
        return self.cipher.decrypt(token, location_aad(table, column, row_key), where=f"{table}.{column}")

    def open_json(self, table: str, column: str, row_key: Any, token: str | bytes) -> Any:
        return self.cipher.decrypt_json(token, location_aad(table, column, row_key), where=f"{table}.{column}")

    def content_hash(self, data: bytes) -> str:
        """A keyed 128-bit digest (32 hex) for change detection: an unkeyed hash of PII would leak it."""
        return hashlib.blake2b(data, key=self.hash_key, digest_size=16).hexdigest()


def auto_kek_path(settings: PrivacySettings, base_dir: Path) -> Path:
    return Path(settings.auto_kek_dir or base_dir) / AUTO_KEK_FILE


def kek_from_settings(settings: PrivacySettings, base_dir: Path) -> Kek:
    ref = settings.kek
    if ref is None:  # auto
        if os.environ.get(DEFAULT_KEK_ENV):
            return load_kek(env=DEFAULT_KEK_ENV)
        path = auto_kek_path(settings, base_dir)
        if not path.exists():
            raise KeyMaterialError(f"the key-encryption key is missing: {DEFAULT_KEK_ENV} is not set and the key "
                                   f"file {path} does not exist (set {DEFAULT_KEK_ENV} or restore the key file; "
                                   "the store's encrypted data cannot be read without it)")
        return load_kek(file=path)
    kind, target = next(iter(ref.items()))
    if kind == "$env":
        return load_kek(env=target)
    if kind == "$file":
        return load_kek(file=Path(base_dir) / target)
    raise KeyMaterialError("privacy.keys.kek must be {\"$env\": NAME} or {\"$file\": path}")


def _runtime(keyring: Keyring) -> PrivacyRuntime:
    hash_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=_CONTENT_HASH_INFO).derive(keyring.index_root)
    return PrivacyRuntime(keyring, FieldCipher(keyring), BlindIndexer.from_keyring(keyring), keyring.audit_key,
                          hash_key)


def activate(engine: Engine, settings: PrivacySettings, base_dir: Path, *, kek: Kek | None = None) -> PrivacyRuntime:
    global _CURRENT
    kek = kek or kek_from_settings(settings, base_dir)
    with engine.connect() as conn:
        keyring = Keyring.load(conn, kek)
    runtime = _runtime(keyring)
    blind_index.install(runtime.indexer)
    audit.install_key(runtime.audit_key)
    _CURRENT = runtime
    _BY_ENGINE[engine] = runtime
    return runtime


def deactivate() -> None:
    global _CURRENT
    blind_index.install(None)
    audit.install_key(None)
    _CURRENT = None
    _BY_ENGINE.clear()


_CURRENT: PrivacyRuntime | None = None
_BY_ENGINE: WeakKeyDictionary[Engine, PrivacyRuntime] = WeakKeyDictionary()


def current() -> PrivacyRuntime:
    """The runtime of this process (``ensure_active`` must have run)."""
    if _CURRENT is None:
        raise KeyMaterialError("the privacy layer is not active in this process "
                               "(open the store through hub.privacy.runtime.ensure_active)")
    return _CURRENT


def ensure_active(engine: Engine, settings: PrivacySettings, base_dir: Path) -> PrivacyRuntime:
    """Activate the privacy layer for the store behind ``engine`` (idempotent, cheap when active).

    A new store gets its keys on first use. With the default ("auto") KEK and no ``$CUSTHUB_KEK``,
    a KEK file is generated at ``.custhub/kek`` beside the config, but only while the store holds
    no keys: once data is encrypted, a missing KEK is an error, never a fresh key.
    """
    global _CURRENT
    known = _BY_ENGINE.get(engine)
    if known is not None:
        if _CURRENT is not known:
            blind_index.install(known.indexer)
            audit.install_key(known.audit_key)
            _CURRENT = known
        return known
    created: list[int] = []
    with engine.begin() as conn:
        empty = conn.execute(select(func.count()).select_from(privacy_keys)).scalar() == 0
        if empty:
            kek = _kek_for_new_store(settings, base_dir)
            created = init_keys(conn, kek)
        else:
            kek = kek_from_settings(settings, base_dir)
    runtime = activate(engine, settings, base_dir, kek=kek)
    if created:  # the keys of a new store are audited like `custhub keys init`
        with engine.begin() as conn:
            audit.record(conn, actor="custhub:auto", role="admin", purpose="key_management", action="key_init",
                         subjects=[f"key:{k}" for k in created], key=runtime.audit_key)
    return runtime


def _kek_for_new_store(settings: PrivacySettings, base_dir: Path) -> Kek:
    if settings.kek is not None or os.environ.get(DEFAULT_KEK_ENV):
        return kek_from_settings(settings, base_dir)
    path = auto_kek_path(settings, base_dir)
    if path.exists():
        return load_kek(file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_kek() + "\n")
    log.warning("generated a new key-encryption key in %s for this new store: back it up apart from "
                "the store (without it the encrypted data cannot be read), or set $%s", path, DEFAULT_KEK_ENV)
    return load_kek(file=path)
