"""The key hierarchy: a key-encryption key (KEK) outside the database wraps every stored key.

KEK (32 bytes, base64, from an environment variable or a key file; never in the database)
  └─ wraps, in ``privacy_keys``: data keys (DEKs, one per key id, exactly one ``active``), the
     blind-index root key and the audit MAC key, each with AES-256-GCM and the AAD
     ``custhub-wrap|<purpose>|<kid>`` so a wrapped key cannot be moved to another id or purpose.

``rotate_data_key`` makes a fresh DEK active (older ones become ``decrypt_only``); ``retire_key``
makes an old one unusable once no registered column references it (see ``hub.privacy.rewrap``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, func, insert, select, update

from hub.privacy.errors import KeyMaterialError
from hub.privacy.tables import privacy_keys

DEFAULT_KEK_ENV = "CUSTHUB_KEK"
PURPOSES = ("data", "index", "audit")


@dataclass(frozen=True)
class Kek:
    """The key-encryption key. ``kek_id`` is a fingerprint, safe to print and store."""

    key: bytes
    kek_id: str

    def __repr__(self) -> str:  # never show the key
        return f"Kek(kek_id={self.kek_id!r})"


def generate_kek() -> str:
    """A new random KEK, base64-encoded, for an environment variable or a key file."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def kek_from_text(text: str, *, source: str) -> Kek:
    """Parse a base64 KEK; ``source`` names where it came from (an env var name or a file path)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"the KEK in {source} is not valid base64 "
                               "(generate one with `custhub keys generate-kek`)") from None
    if len(key) != 32:
        raise KeyMaterialError(f"the KEK in {source} must be 32 bytes, base64-encoded "
                               "(generate one with `custhub keys generate-kek`)")
    fingerprint = hmac.new(key, b"custhub-kek-id", hashlib.sha256).hexdigest()[:16]
    return Kek(key=key, kek_id=fingerprint)


def load_kek(*, env: str | None = DEFAULT_KEK_ENV, file: str | Path | None = None) -> Kek:
    """The KEK from a key file (when given) or else from the environment variable ``env``."""
    if file is not None:
        try:
            text = Path(file).read_text("ascii")
        except (OSError, UnicodeDecodeError):
            raise KeyMaterialError(f"key file {file} cannot be read") from None
        return kek_from_text(text, source=f"key file {file}")
    text = os.environ.get(env or DEFAULT_KEK_ENV)
    if not text:
        raise KeyMaterialError(f"environment variable {env} is not set "
                               "(the key-encryption key; generate one with `custhub keys generate-kek`)")
    return kek_from_text(text, source=f"environment variable {env}")


def _wrap_aad(purpose: str, kid: int) -> bytes:
    return f"custhub-wrap|{purpose}|{kid}".encode()


def wrap_key(kek: Kek, key: bytes, purpose: str, kid: int) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(kek.key).encrypt(nonce, key, _wrap_aad(purpose, kid))


def unwrap_key(kek: Kek, wrapped: bytes, purpose: str, kid: int) -> bytes:
    try:
        return AESGCM(kek.key).decrypt(wrapped[:12], wrapped[12:], _wrap_aad(purpose, kid))
    except (InvalidTag, ValueError):
        raise KeyMaterialError(f"key id {kid} ({purpose}) cannot be unwrapped with KEK {kek.kek_id} "
                               "(wrong KEK, or the key registry was tampered with)") from None


@dataclass(frozen=True)
class KeyInfo:
    kid: int
    purpose: str
    status: str
    kek_id: str
    created_at: datetime
    retired_at: datetime | None


class Keyring:
    """The unwrapped keys of one store, in memory. Build it with ``Keyring.load``."""

    def __init__(self, kek: Kek, keys: dict[int, tuple[str, str, bytes | None]]) -> None:
        self._kek = kek
        self._keys = keys  # kid -> (purpose, status, key or None when destroyed)

    def __repr__(self) -> str:
        return f"<Keyring kek={self._kek.kek_id} kids={sorted(self._keys)}>"

    @classmethod
    def load(cls, conn: Connection, kek: Kek) -> Keyring:
        rows = conn.execute(select(privacy_keys)).mappings().all()
        if not rows:
            raise KeyMaterialError("the key registry is empty (run `custhub keys init`)")
        keys: dict[int, tuple[str, str, bytes | None]] = {}
        for row in rows:
            key = None
            if row["wrapped"] is not None and row["status"] != "retired":
                key = unwrap_key(kek, bytes(row["wrapped"]), row["purpose"], row["kid"])
            keys[row["kid"]] = (row["purpose"], row["status"], key)
        return cls(kek, keys)

    def _only(self, purpose: str) -> bytes:
        for p, status, key in self._keys.values():
            if p == purpose and status == "active" and key is not None:
                return key
        raise KeyMaterialError(f"no active {purpose} key in the key registry (run `custhub keys init`)")

    @property
    def active_kid(self) -> int:
        for kid, (purpose, status, key) in self._keys.items():
            if purpose == "data" and status == "active" and key is not None:
                return kid
        raise KeyMaterialError("no active data key in the key registry (run `custhub keys init`)")

    def dek(self, kid: int) -> bytes:
        entry = self._keys.get(kid)
        if entry is None or entry[0] != "data":
            raise KeyMaterialError(f"unknown data key id {kid}")
        if entry[1] == "retired" or entry[2] is None:
            raise KeyMaterialError(f"data key id {kid} is retired")
        return entry[2]

    @property
    def index_root(self) -> bytes:
        return self._only("index")

    @property
    def audit_key(self) -> bytes:
        return self._only("audit")

    def kids(self, purpose: str = "data") -> list[int]:
        return sorted(k for k, v in self._keys.items() if v[0] == purpose)


def _next_kid(conn: Connection) -> int:
    return (conn.execute(select(func.max(privacy_keys.c.kid))).scalar() or 0) + 1


def _add_key(conn: Connection, kek: Kek, purpose: str, now: datetime) -> int:
    kid = _next_kid(conn)
    conn.execute(insert(privacy_keys).values(kid=kid, purpose=purpose, status="active",
                                             wrapped=wrap_key(kek, os.urandom(32), purpose, kid),
                                             kek_id=kek.kek_id, created_at=now))
    return kid


def init_keys(conn: Connection, kek: Kek, now: datetime | None = None) -> list[int]:
    """Create the data, index and audit keys that do not exist yet; returns the new key ids."""
    now = now or datetime.now(UTC)
    have = {p for (p,) in conn.execute(select(privacy_keys.c.purpose).where(privacy_keys.c.status == "active"))}
    if have:
        Keyring.load(conn, kek)  # refuses a KEK that does not match the registry
    return [_add_key(conn, kek, purpose, now) for purpose in PURPOSES if purpose not in have]


def rotate_data_key(conn: Connection, kek: Kek, now: datetime | None = None) -> int:
    """A fresh data key becomes active; the previous one stays for decryption only. Returns its kid."""
    now = now or datetime.now(UTC)
    Keyring.load(conn, kek).active_kid  # noqa: B018 - refuses a wrong KEK or an empty registry
    conn.execute(update(privacy_keys).where(privacy_keys.c.purpose == "data", privacy_keys.c.status == "active")
                 .values(status="decrypt_only"))
    return _add_key(conn, kek, "data", now)


def retire_key(conn: Connection, kid: int, *, still_referenced: int, destroy: bool = False,
               now: datetime | None = None) -> None:
    """Retire data key ``kid``: refused while it is active or ``still_referenced`` rows use it."""
    row = conn.execute(select(privacy_keys).where(privacy_keys.c.kid == kid)).mappings().first()
    if row is None or row["purpose"] != "data":
        raise KeyMaterialError(f"unknown data key id {kid}")
    if row["status"] == "active":
        raise KeyMaterialError(f"data key id {kid} is the active key (rotate first)")
    if still_referenced:
        raise KeyMaterialError(f"data key id {kid} is still used by {still_referenced} value(s) "
                               "(run `custhub keys rewrap` first)")
    values: dict[str, object] = {"status": "retired", "retired_at": now or datetime.now(UTC)}
    if destroy:
        values["wrapped"] = None
    conn.execute(update(privacy_keys).where(privacy_keys.c.kid == kid).values(**values))


def rewrap_registry(conn: Connection, old: Kek, new: Kek) -> int:
    """Re-wrap every stored key under a new KEK (KEK rotation); returns how many keys moved."""
    count = 0
    for row in conn.execute(select(privacy_keys).where(privacy_keys.c.wrapped.is_not(None))).mappings().all():
        key = unwrap_key(old, bytes(row["wrapped"]), row["purpose"], row["kid"])
        conn.execute(update(privacy_keys).where(privacy_keys.c.kid == row["kid"]).values(
            wrapped=wrap_key(new, key, row["purpose"], row["kid"]), kek_id=new.kek_id))
        count += 1
    return count


def key_infos(conn: Connection) -> list[KeyInfo]:
    rows = conn.execute(select(privacy_keys).order_by(privacy_keys.c.kid)).mappings()
    return [KeyInfo(r["kid"], r["purpose"], r["status"], r["kek_id"], r["created_at"], r["retired_at"])
            for r in rows]
