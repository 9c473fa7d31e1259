"""Password hashes for console users: scrypt from the standard library, in one self-describing string.

``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``; ``verify`` recomputes with the stored parameters
and compares in constant time, so raising the cost later keeps old hashes valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

PREFIX = "scrypt"
LOG2_N, R, P = 15, 8, 1  # about 64 MiB of memory and ~50 ms per check on a typical core
_MAXMEM = 128 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, log2_n: int = LOG2_N, r: int = R, p: int = P) -> str:
    """A new salted scrypt hash of ``password``."""
    if not password:
        raise ValueError("the password is empty")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return f"{PREFIX}${log2_n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed hash never matches."""
    try:
        prefix, log2_n, r, p, salt, digest = stored.split("$")
        if prefix != PREFIX or not 10 <= int(log2_n) <= 20:
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=2 ** int(log2_n), r=int(r),
                                p=int(p), maxmem=_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked when a user name is unknown, so that the answer takes as long as for a wrong password.
DUMMY_HASH = "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
