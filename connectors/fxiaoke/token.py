"""FxiaoKe's ``corpAccessToken``: cached per app and company, fetched by one caller at a time.

``POST /cgi/corpAccessToken/get/V2`` must not be called concurrently and at most 10 times a
minute; a token lives 7,200 s. ``TokenCache`` keeps one token per (gateway, appId, credentials)
for the whole process, refreshes it after ``REFRESH_AFTER`` seconds or when a call answers
``errorCode 20016``, lets a single caller fetch while the others wait on the lock, and spaces the
fetches so that no more than ``MAX_CALLS`` fall in any ``WINDOW`` seconds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

REFRESH_AFTER = 6600.0
MAX_CALLS = 10
WINDOW = 60.0


@dataclass
class Token:
    corp_access_token: str
    corp_id: str
    fetched_at: float


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: Token | None = None
    calls: deque[float] = field(default_factory=deque)


class TokenCache:
    """Process-wide corpAccessTokens, one slot per (gateway, appId, secret credentials)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[str, _Slot] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(base_url: str, app_id: str, app_secret: str, permanent_code: str) -> str:
        secret = hashlib.sha256(f"{app_secret}\0{permanent_code}".encode()).hexdigest()
        return f"{base_url}|{app_id}|{secret}"

    def get(self, key: str, fetch: Callable[[], Token], *, stale: str | None = None) -> Token:
        """The cached token, or a fresh one from ``fetch()``; ``stale`` (a refused token) forces a refresh."""
        with self._guard:
            slot = self._slots.setdefault(key, _Slot())
        with slot.lock:  # single flight: one caller fetches, the others wait and reuse its token
            token = slot.token
            fresh = token is not None and self._clock() - token.fetched_at < REFRESH_AFTER
            if fresh and token and token.corp_access_token != stale:
                return token
            self._wait_for_a_call(slot)
            slot.calls.append(self._clock())
            slot.token = fetch()
            slot.token.fetched_at = self._clock()
            return slot.token

    def clear(self) -> None:
        with self._guard:
            self._slots.clear()

    def _wait_for_a_call(self, slot: _Slot) -> None:
        while slot.calls and self._clock() - slot.calls[0] >= WINDOW:
            slot.calls.popleft()
        if len(slot.calls) >= MAX_CALLS:
            wait = WINDOW - (self._clock() - slot.calls[0])
            if wait > 0:
                (self._sleep or time.sleep)(wait)
            slot.calls.popleft()


TOKENS = TokenCache()
