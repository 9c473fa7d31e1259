"""Ingest: read a connection's source, map, clean and store its records with their state.

The names below load on first use, so that ingest's worker processes, which import only
``hub.ingest.workers``, do not import the whole pipeline (config, sources) at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"RunResult": "hub.ingest.pipeline", "run_connection": "hub.ingest.pipeline",
            "RetryResult": "hub.ingest.retry", "retry_quarantined": "hub.ingest.retry"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hub.ingest' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
