"""The WeChat access token: fetched from ``/cgi-bin/token``, cached for the whole process.

``/cgi-bin/token`` has its own small daily quota, and each new token invalidates the previous one
after a few minutes, so the token is cached per (host, AppID, AppSecret) and shared by every run of the
process; ``TokenCache.get(refresh=True)`` replaces it when WeChat calls it stale (40001, 42001, 40014).
The cache key holds a digest of the AppSecret, so a rotated secret gets its own token. The URL of
the token call holds the secret: it is never logged or put in a message.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

TOKEN_MARGIN = 300  # seconds before expiry at which a cached token is replaced

Fetch = Callable[[], tuple[str, float]]  # -> (access token, lifetime in seconds)

_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached access token (tests; an operator rotating the AppSecret)."""
    with _lock:
        _tokens.clear()


class TokenCache:
    """The token of one account, shared process-wide; fetching happens under a lock."""

    def __init__(self, host: str, app_id: str, app_secret: str, fetch: Fetch) -> None:
        self._key = (host, app_id, hashlib.sha256(app_secret.encode()).hexdigest())
        self._fetch = fetch

    def get(self, *, refresh: bool = False) -> str:
        with _lock:
            cached = _tokens.get(self._key)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = self._fetch()
            _tokens[self._key] = (token, time.monotonic() + max(60.0, lifetime - TOKEN_MARGIN))
            return token
