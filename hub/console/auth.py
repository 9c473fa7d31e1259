"""Who is logged in: signed session cookies, CSRF tokens for every form, and login lockout.

The session (Starlette's ``SessionMiddleware``, signed with ``itsdangerous``) holds the user name,
a CSRF token and when the login happened; the role is looked up in the config on every request, so
removing a user or changing a role takes effect at once. A user name (and, separately, a client
address) that fails ``max_failures`` times in a row is locked out for ``lockout_minutes``; every
failure also waits ``failure_delay_ms`` before answering.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from hub.console.passwords import DUMMY_HASH, verify_password
from hub.console.settings import ConsoleSettings, ConsoleUser

CSRF_FIELD = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(CSRF_FIELD)
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def current_user(request: Request, settings: ConsoleSettings) -> ConsoleUser | None:
    """The logged-in user, or None (no session, expired, or the user was removed from the config)."""
    name, since = request.session.get("user"), request.session.get("since", 0)
    if not name or time.time() - float(since) > settings.max_age_minutes * 60:
        return None
    return settings.users.get(name)


def start_session(request: Request, user: ConsoleUser) -> None:
    request.session.clear()  # a fresh session (and CSRF token) at every login
    request.session.update({"user": user.name, "since": int(time.time()), CSRF_FIELD: secrets.token_urlsafe(32)})


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class LoginGuard:
    """Failed-login counters per user name and per client address (in memory, per process)."""

    settings: ConsoleSettings
    clock: object = time.monotonic
    _by_key: dict[str, _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked(self, *keys: str) -> bool:
        now = self.clock()  # type: ignore[operator]
        with self._lock:
            return any(self._by_key.get(k, _Failures()).locked_until > now for k in keys)

    def failed(self, *keys: str) -> None:
        now = self.clock()  # type: ignore[operator]
        with self._lock:
            for key in keys:
                entry = self._by_key.setdefault(key, _Failures())
                entry.count += 1
                if entry.count >= self.settings.max_failures:
                    entry.locked_until, entry.count = now + self.settings.lockout_minutes * 60, 0
            if len(self._by_key) > 10_000:  # bound memory under a spray of names
                for stale in [k for k, v in self._by_key.items() if v.locked_until <= now][:5_000]:
                    del self._by_key[stale]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._by_key.pop(key, None)

    def check(self, name: str, password: str) -> ConsoleUser | None:
        """The user when ``password`` is right; the same work is done for an unknown name."""
        user = self.settings.users.get(name)
        ok = verify_password(password, user.password_hash if user else DUMMY_HASH)
        return user if ok and user else None
