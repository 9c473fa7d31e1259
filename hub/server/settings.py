"""The ``server`` section of the config, with each form's secrets resolved and checked.

The config file as a whole is validated by ``hub.config``; this module reads the ``server``
section of the same file and fails closed: a form without the secret its provider needs is a
config error when the server starts, never an open endpoint.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config import Config, read_yaml, resolve_secrets
from hub.errors import ConfigError
from hub.privacy.settings import PrivacySettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB
DEFAULT_TOLERANCE = 300  # seconds

# provider -> secrets a form of that provider must have (alternatives in a tuple)
REQUIRED_SECRETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "typeform": (("secret",),),
    "facebook": (("app_secret",), ("verify_token",)),
    "jotform": (("token",),),
    "generic": (("secret", "token"),),
    "wechat": (("token",), ("encoding_aes_key",)),
}
SECRET_KEYS = ("secret", "token", "app_secret", "verify_token", "encoding_aes_key")


@dataclass(frozen=True)
class FormSettings:
    """One webhook endpoint: ``/hooks/<provider>/<name>``."""

    name: str
    provider: str
    secrets: dict[str, bytes] = field(default_factory=dict, repr=False)
    app_id: str | None = None
    honeypot: str | None = None

    def secret(self, key: str) -> bytes | None:
        return self.secrets.get(key)


@dataclass(frozen=True)
class ServerSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY
    timestamp_tolerance: int = DEFAULT_TOLERANCE
    forms: dict[str, FormSettings] = field(default_factory=dict)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)  # keys for sealing inbox payloads
    base_dir: Path = field(default_factory=Path.cwd)  # where a ``$file`` KEK is found


def server_settings(config: Config) -> ServerSettings:
    """The server section of ``config``'s file, secrets resolved."""
    raw = (read_yaml(config.file) or {}).get("server") or {}
    return parse_server_settings(raw, config)


def parse_server_settings(raw: dict[str, Any], config: Config) -> ServerSettings:
    forms = {name: _form(name, body, config) for name, body in (raw.get("forms") or {}).items()}
    return ServerSettings(
        host=raw.get("host", DEFAULT_HOST), port=raw.get("port", DEFAULT_PORT),
        max_body_bytes=raw.get("max_body_bytes", DEFAULT_MAX_BODY),
        timestamp_tolerance=raw.get("timestamp_tolerance", DEFAULT_TOLERANCE), forms=forms,
        privacy=config.privacy, base_dir=config.base_dir)


def _form(name: str, body: dict[str, Any], config: Config) -> FormSettings:
    where = f"server.forms.{name}"
    provider = body["provider"]
    secrets = {key: resolve_secrets(body[key], base_dir=config.base_dir, file=str(config.file),
                                    where=f"{where}.{key}").encode("utf-8")
               for key in SECRET_KEYS if key in body}
    for alternatives in REQUIRED_SECRETS[provider]:
        if not any(key in secrets for key in alternatives):
            raise ConfigError(f"a {provider} form needs '{' or '.join(alternatives)}'", file=str(config.file),
                              path=where, fix=f"add {alternatives[0]}: {{\"$env\": NAME}}")
    if provider == "wechat":
        _check_aes_key(secrets["encoding_aes_key"], file=str(config.file), where=f"{where}.encoding_aes_key")
        if not body.get("app_id"):
            raise ConfigError("a wechat form needs 'app_id'", file=str(config.file), path=where,
                              fix="add app_id: the Official Account's appid (wx...)")
    if body.get("honeypot") and provider != "generic":
        raise ConfigError("'honeypot' applies to generic forms only", file=str(config.file),
                          path=f"{where}.honeypot", fix="remove it")
    return FormSettings(name=name, provider=provider, secrets=secrets, app_id=body.get("app_id"),
                        honeypot=body.get("honeypot"))


def _check_aes_key(key: bytes, *, file: str, where: str) -> None:
    try:
        ok = len(key) == 43 and len(base64.b64decode(key + b"=", validate=True)) == 32
    except binascii.Error:
        ok = False
    if not ok:
        raise ConfigError("EncodingAESKey must be 43 characters of base64", file=file, path=where,
                          fix="copy it from the Official Account's server configuration")
