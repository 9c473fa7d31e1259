"""Errors of the privacy layer, placed in custhub's one exception tree (``hub.errors``).

* KeyMaterialError (FatalError)   the KEK is missing or wrong, or a key id is unknown or retired
* CiphertextError (FatalError)    a ciphertext failed authentication: tampered, moved, or wrong key
* AuditError (FatalError)         the audit log cannot be written as asked (bad subject ref, no key)

Messages name tables, columns, key ids and counts; never values, never key material.
"""

from __future__ import annotations

from hub.errors import FatalError


class KeyMaterialError(FatalError):
    """The key-encryption key or a data key is missing, wrong or retired."""


class CiphertextError(FatalError):
    """A stored ciphertext does not authenticate at its location."""


class AuditError(FatalError):
    """An audit entry was refused (it would hold something that is not a pseudonymous reference)."""
