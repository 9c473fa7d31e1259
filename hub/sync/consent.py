"""The consent gate: a destination with a ``purpose`` gets only profiles whose consent is granted now.

A profile's consents for the purpose are read from its canonical ``consents`` list. Entries dated in
the future do not count yet; the latest remaining entry decides; a granted entry past its
``expires_at`` is no longer granted. No entry at all means not granted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None


def consent_granted(record: dict[str, Any], purpose: str, now: datetime) -> bool:
    """Whether ``record`` holds consent for ``purpose`` at ``now`` (an aware datetime)."""
    candidates = []
    for index, entry in enumerate(record.get("consents") or ()):
        if entry.get("purpose") != purpose:
            continue
        at = _when(entry.get("at"))
        if at is not None and at > now:
            continue  # not valid yet
        candidates.append((at or _EPOCH, index, entry))
    latest = max(candidates, key=lambda c: (c[0], c[1]), default=None)
    if latest is None or latest[2].get("status") != "granted":
        return False
    expires = _when(latest[2].get("expires_at"))
    return expires is None or expires > now
