"""Failpoints for crash tests: ``CUSTHUB_FAILPOINT=sync.after_send`` kills the process there.

``name`` kills at the first hit, ``name:N`` at the N-th. The kill is SIGKILL: no cleanup runs, as
in a real crash. Unset (always, outside tests), a failpoint costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def _armed() -> dict[str, int]:
    spec = os.environ.get("CUSTHUB_FAILPOINT", "")
    armed = {}
    for item in filter(None, spec.split(",")):
        name, _, nth = item.partition(":")
        armed[name.strip()] = int(nth or 1)
    return armed


_ARMED = _armed()


def failpoint(name: str) -> None:
    if name not in _ARMED:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= _ARMED[name]:
        os.kill(os.getpid(), signal.SIGKILL)
