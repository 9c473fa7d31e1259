"""Where custhub finds its bundled files (config schema, example config, sample data, mappings).

From a source checkout these are the repository's own ``config/`` and ``mappings/`` folders; from an
installed wheel they are packaged under ``hub/_bundled``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def bundled_dir(name: str) -> Path:
    """The bundled ``config`` or ``mappings`` folder."""
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE_DIR / "_bundled" / name


def example_config() -> Path:
    return bundled_dir("config") / "custhub.example.yaml"


def custhub_home() -> Path:
    """Per-user working folder (installed Airbyte connectors); ``CUSTHUB_HOME`` overrides it."""
    env = os.environ.get("CUSTHUB_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "custhub"
