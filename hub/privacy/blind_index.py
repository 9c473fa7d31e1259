"""Blind indexes: keyed HMAC-SHA256 of a NORMALISED value, one derived key per kind.

``digest = HMAC-SHA256(K_kind, normalised)[:16 bytes]`` as 32 hex characters (128 bits, the width of
``identity_keys.digest``), with ``K_kind = HKDF-SHA256(index root key, info="custhub-bidx|v1|<kind>")``
(CipherSweet's per-index key derivation). Two values get the same digest exactly when kind and
normalised value are equal. Without the root key (wrapped in the key registry) nobody can test a
guess, so the enumerable space of mobile numbers does not reveal them; an unkeyed hash would.

The identity engine stores every match key through ``hub.identity.keys.key_digest(kind, value)``;
that function is meant to call ``blind_index(kind, value)`` below once the indexer is installed in
the process (``install(BlindIndexer.from_keyring(keyring))``, see ``hub.privacy.runtime``).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.privacy.errors import KeyMaterialError
from hub.privacy.keys import Keyring

DIGEST_HEX = 32
VERSION = 1


class BlindIndexer:
    """Computes blind indexes with keys derived from one root key."""

    def __init__(self, root_key: bytes, *, version: int = VERSION, digest_hex: int = DIGEST_HEX) -> None:
        if len(root_key) < 32:
            raise KeyMaterialError("the blind-index root key must be at least 32 bytes")
        self._root = root_key
        self.version = version
        self.digest_hex = digest_hex
        self._keys: dict[str, bytes] = {}
        self._macs: dict[str, hmac.HMAC] = {}

    def __repr__(self) -> str:
        return f"<BlindIndexer v{self.version}>"

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> BlindIndexer:
        return cls(keyring.index_root)

    def key_for(self, kind: str) -> bytes:
        key = self._keys.get(kind)
        if key is None:
            info = f"custhub-bidx|v{self.version}|{kind}".encode()
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._root)
            self._keys[kind] = key
        return key

    def digest(self, kind: str, normalised: str) -> str:
        base = self._macs.get(kind)
        if base is None:
            base = self._macs[kind] = hmac.new(self.key_for(kind), digestmod=hashlib.sha256)
        mac = base.copy()  # the keyed inner/outer state is computed once per kind
        mac.update(normalised.encode("utf-8"))
        return mac.hexdigest()[: self.digest_hex]


_installed: BlindIndexer | None = None


def install(indexer: BlindIndexer | None) -> None:
    """Make ``indexer`` the process's blind indexer (``None`` uninstalls it)."""
    global _installed
    _installed = indexer


def installed() -> BlindIndexer:
    if _installed is None:
        raise KeyMaterialError("blind indexes are not set up in this process "
                               "(call hub.privacy.runtime.activate first)")
    return _installed


def blind_index(kind: str, normalised_value: str) -> str:
    """The blind index of an already normalised value, with the installed indexer (fails closed)."""
    return installed().digest(kind, normalised_value)
