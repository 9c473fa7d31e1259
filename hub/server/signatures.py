"""Signature checks of every provider, over the raw bytes, compared in constant time.

Every comparison of a signature, a token or a MAC goes through ``hmac.compare_digest`` on bytes
(``tests/test_webhook_signatures.py`` checks this module's source for it). A missing header is
compared like a wrong one, so the time taken does not tell them apart either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def _header_bytes(value: str | None) -> bytes:
    # ASGI servers decode header bytes as latin-1: encoding back gives the bytes that were sent.
    return (value or "").encode("latin-1", errors="replace")


def typeform_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """``Typeform-Signature: sha256=<base64 of HMAC-SHA256(secret, body)>``."""
    expected = b"sha256=" + base64.b64encode(hmac.digest(secret, body, hashlib.sha256))
    return hmac.compare_digest(expected, _header_bytes(header))


def meta_valid(app_secret: bytes, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>``.

    Meta signs "an escaped unicode version of the payload": when the body holds non-ASCII text
    (a Chinese name) and the raw bytes do not verify, the ``\\uXXXX``-escaped form is tried too.
    """
    given = _header_bytes(header)
    if hmac.compare_digest(b"sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest().encode(), given):
        return True
    if body.isascii():
        return False
    escaped = escape_unicode(body)
    if escaped is None:
        return False
    expected = b"sha256=" + hmac.new(app_secret, escaped, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, given)


def escape_unicode(body: bytes) -> bytes | None:
    """``body`` with every non-ASCII character as a lowercase ``\\uXXXX`` escape (surrogate pairs above U+FFFF)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    out = []
    for char in text:
        code = ord(char)
        if code < 0x80:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out).encode("ascii")


def generic_valid(secret: bytes, timestamp: str | None, body: bytes, header: str | None) -> bool:
    """``X-Custhub-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    signed = _header_bytes(timestamp) + b"." + body
    expected = b"sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, _header_bytes(header))


def token_valid(expected: bytes, given: str | None) -> bool:
    """A secret token from the URL."""
    return hmac.compare_digest(expected, (given or "").encode("utf-8", errors="replace"))


def wechat_valid(token: bytes, timestamp: str, nonce: str, encrypted: str, msg_signature: str | None) -> bool:
    """WeChat safe mode: ``msg_signature = sha1(sorted([token, timestamp, nonce, Encrypt]) joined)``, hex."""
    parts = sorted([token.decode("utf-8"), timestamp, nonce, encrypted])
    expected = hashlib.sha1("".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest().encode()
    return hmac.compare_digest(expected, (msg_signature or "").encode("utf-8", errors="replace"))


def timestamp_fresh(timestamp: str | None, tolerance: int, now: float | None = None) -> bool:
    """Whether a Unix-seconds ``timestamp`` is within ``tolerance`` seconds of now."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    current = time.time() if now is None else now
    return abs(current - int(timestamp)) <= tolerance
