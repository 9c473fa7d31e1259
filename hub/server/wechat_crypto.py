"""WeChat safe mode (安全模式) message encryption: AES-256-CBC, the key from the EncodingAESKey.

``Encrypt`` = base64(AES-256-CBC(key, iv=key[:16], PKCS#7 padded to 32 bytes of
``random(16) | msg_len (4 bytes, big-endian) | msg | appid``)). The appid inside must be ours.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not to the AES block size


class DecryptError(ValueError):
    """The ciphertext is not a valid message for this key and appid (no detail: it could help an attacker)."""


def aes_key(encoding_aes_key: bytes) -> bytes:
    return base64.b64decode(encoding_aes_key + b"=")


def decrypt(encoding_aes_key: bytes, encrypted: str, app_id: str) -> bytes:
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError("not base64") from None
    if not data or len(data) % 16:
        raise DecryptError("bad length")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise DecryptError("too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, tail = plain[20:20 + length], plain[20 + length:]
    if len(message) != length or not hmac.compare_digest(tail, app_id.encode("utf-8")):
        raise DecryptError("wrong appid")
    return message


def encrypt(encoding_aes_key: bytes, message: bytes, app_id: str) -> str:
    """The inverse of ``decrypt`` (what WeChat does; used to answer and by tests)."""
    key = aes_key(encoding_aes_key)
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + app_id.encode("utf-8")
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")
