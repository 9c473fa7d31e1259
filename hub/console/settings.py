"""The ``console`` section of custhub.yaml, parsed (the JSON Schema has checked its shape already).

Users name a role of the privacy layer (``privacy.roles`` or the defaults); an unknown role is a
config error at start, never a user who silently sees nothing or everything. Password hashes may
be written inline (they are not secrets in the strict sense) or held outside by ``{"$env": NAME}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.config import Config, resolve_secrets
from hub.errors import ConfigError
from hub.privacy.tiers import Role

DEFAULT_PURPOSE = "administration"
DEFAULT_DECIDE_ROLES = ("admin", "dpo", "operator", "marketing")  # roles that may accept or reject review pairs


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    role: Role
    password_hash: str = field(repr=False)


@dataclass(frozen=True)
class ConsoleSettings:
    users: dict[str, ConsoleUser] = field(default_factory=dict)
    enabled: bool = False
    purpose: str = DEFAULT_PURPOSE
    max_age_minutes: int = 480
    secure_cookie: bool = False
    session_secret: str | None = field(default=None, repr=False)  # None: derived from the store's keys
    max_failures: int = 5
    lockout_minutes: int = 15
    failure_delay_ms: int = 500
    decide_roles: tuple[str, ...] = DEFAULT_DECIDE_ROLES


def console_settings(config: Config) -> ConsoleSettings:
    """The console settings of ``config``, password hashes and the session secret resolved."""
    raw: dict[str, Any] = config.console or {}
    file = str(config.file)
    roles = config.privacy.roles
    users = {}
    for name, body in (raw.get("users") or {}).items():
        where = f"console.users.{name}"
        if body["role"] not in roles:
            raise ConfigError(f"unknown role '{body['role']}'", file=file, path=f"{where}.role",
                              fix="one of: " + ", ".join(sorted(roles)) + " (or define it under privacy.roles)")
        password_hash = resolve_secrets(body["password_hash"], base_dir=config.base_dir, file=file,
                                        where=f"{where}.password_hash")
        if not str(password_hash).startswith("scrypt$"):
            raise ConfigError("is not a password hash", file=file, path=f"{where}.password_hash",
                              fix="use the output of `custhub console hash-password`")
        users[name] = ConsoleUser(name, roles[body["role"]], str(password_hash))
    session = raw.get("session") or {}
    login = raw.get("login") or {}
    secret = session.get("secret")
    if secret is not None:
        secret = resolve_secrets(secret, base_dir=config.base_dir, file=file, where="console.session.secret")
    return ConsoleSettings(
        users=users, enabled=raw.get("enabled", bool(users)), purpose=raw.get("purpose", DEFAULT_PURPOSE),
        max_age_minutes=session.get("max_age_minutes", 480), secure_cookie=session.get("secure_cookie", False),
        session_secret=secret, max_failures=login.get("max_failures", 5),
        lockout_minutes=login.get("lockout_minutes", 15), failure_delay_ms=login.get("failure_delay_ms", 500),
        decide_roles=tuple(raw.get("decide_roles", DEFAULT_DECIDE_ROLES)))
