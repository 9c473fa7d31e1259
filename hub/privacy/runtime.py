"""Set up the privacy layer in one process: KEK → keyring → cipher, blind indexer, audit key.

``activate(engine, settings, base_dir)`` loads the KEK named by ``privacy.keys.kek`` (an
environment variable or a key file), unwraps the keys of the store and installs the blind indexer
(``hub.privacy.blind_index.blind_index``) and the audit key (``hub.privacy.audit.record``) for the
process. Worker processes call it again in their initialiser: key material is never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from hub.privacy import audit, blind_index
from hub.privacy.blind_index import BlindIndexer
from hub.privacy.crypto import FieldCipher
from hub.privacy.errors import KeyMaterialError
from hub.privacy.keys import Kek, Keyring, load_kek
from hub.privacy.settings import PrivacySettings


@dataclass(frozen=True)
class PrivacyRuntime:
    keyring: Keyring
    cipher: FieldCipher
    indexer: BlindIndexer
    audit_key: bytes

    def __repr__(self) -> str:
        return f"<PrivacyRuntime {self.keyring!r}>"


def kek_from_settings(settings: PrivacySettings, base_dir: Path) -> Kek:
    ref = settings.kek
    kind, target = next(iter(ref.items()))
    if kind == "$env":
        return load_kek(env=target)
    if kind == "$file":
        return load_kek(file=Path(base_dir) / target)
    raise KeyMaterialError("privacy.keys.kek must be {\"$env\": NAME} or {\"$file\": path}")


def activate(engine: Engine, settings: PrivacySettings, base_dir: Path, *, kek: Kek | None = None) -> PrivacyRuntime:
    kek = kek or kek_from_settings(settings, base_dir)
    with engine.connect() as conn:
        keyring = Keyring.load(conn, kek)
    runtime = PrivacyRuntime(keyring, FieldCipher(keyring), BlindIndexer.from_keyring(keyring), keyring.audit_key)
    blind_index.install(runtime.indexer)
    audit.install_key(runtime.audit_key)
    return runtime


def deactivate() -> None:
    blind_index.install(None)
    audit.install_key(None)
