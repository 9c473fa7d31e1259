"""Config fingerprints kept in the audit log: config changes and the impact assessment's staleness.

The audit log is the tamper-evident place where custhub remembers what it last saw: a
``config_change`` entry lists, as subjects, one keyed digest per top-level config section
(``config:connections.3fa9…``) and, as fields, the sections that changed since the entry before.
A ``pipia_ack`` entry records the digests of the parts of the record of processing (sources with
their fields, recipients, purposes, retention, controller, region) that the personal information
protection impact assessment (PIPL Art. 55/56) was last reviewed against. Digests are keyed
(``PrivacyRuntime.content_hash``), so they say nothing about the config's contents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from hub.privacy import audit
from hub.privacy.runtime import current
from hub.privacy.tables import privacy_audit_log

if TYPE_CHECKING:
    from hub.config import Config

PIPIA_PARTS = ("controller", "region", "purposes", "sources", "recipients", "retention")


def _keyed(name: str, digest: str) -> str:
    return current().content_hash(f"custhub-config|{name}|{digest}".encode())[:16]


def _subjects(parts: dict[str, str]) -> list[str]:
    return [f"config:{name}.{value}" for name, value in sorted(parts.items())]


def _parts(subjects: list[str]) -> dict[str, str]:
    out = {}
    for subject in subjects:
        name, _, value = subject.removeprefix("config:").rpartition(".")
        out[name] = value
    return out


@dataclass(frozen=True)
class Recorded:
    seq: int
    at: datetime
    actor: str
    parts: dict[str, str]
    request_id: str | None


def last_recorded(conn: Connection, action: str) -> Recorded | None:
    """The parts recorded by the newest ``action`` entry (``config_change`` or ``pipia_ack``)."""
    t = privacy_audit_log.c
    row = conn.execute(select(t.seq, t.at, t.actor, t.subjects, t.request_id).where(t.action == action)
                       .order_by(t.seq.desc()).limit(1)).first()
    if row is None:
        return None
    return Recorded(row.seq, row.at, row.actor, _parts(json.loads(row.subjects)), row.request_id)


def changed_parts(old: dict[str, str] | None, new: dict[str, str]) -> list[str]:
    if old is None:
        return sorted(new)
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def config_parts(config: Config) -> dict[str, str]:
    return {name: _keyed(name, digest) for name, digest in config.section_digests.items()}


def record_config_change(conn: Connection, config: Config, *, actor: str, role: str) -> list[str]:
    """Audit a change of the loaded config since the last one recorded; the changed section names.

    The first call on a store records every section (``fields`` lists them all). No change: no entry.
    """
    parts = config_parts(config)
    if not parts:
        return []
    last = last_recorded(conn, "config_change")
    changed = changed_parts(last.parts if last else None, parts)
    if changed:
        audit.record(conn, actor=actor, role=role, purpose="configuration", action="config_change",
                     subjects=_subjects(parts), fields=changed)
    return changed


# ----------------------------------------------------------------------------- impact assessment

def _digest(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def ropa_parts(ropa: dict[str, Any]) -> dict[str, str]:
    """Keyed digests of the parts of the record of processing that the impact assessment depends on."""
    view = dict(ropa)
    view["sources"] = [{k: v for k, v in s.items() if k != "description"} for s in ropa.get("sources", [])]
    return {name: _keyed(f"ropa.{name}", _digest(view.get(name))) for name in PIPIA_PARTS}


@dataclass(frozen=True)
class PipiaStatus:
    stale: bool
    changed: list[str]  # parts changed since the acknowledgement (all of them when never acknowledged)
    acknowledged: Recorded | None

    def line(self) -> str:
        if self.acknowledged is None:
            return ("impact assessment: NOT ACKNOWLEDGED - review it, then run "
                    "`custhub privacy acknowledge-pipia --reference <document id>`")
        ack = self.acknowledged
        who = f"by {ack.actor} on {ack.at:%Y-%m-%d}" + (f" ({ack.request_id})" if ack.request_id else "")
        if not self.stale:
            return f"impact assessment: current (acknowledged {who})"
        return (f"impact assessment: STALE - changed since it was acknowledged {who}: {', '.join(self.changed)}; "
                "review it, then run `custhub privacy acknowledge-pipia --reference <document id>`")


def pipia_status(conn: Connection, ropa: dict[str, Any]) -> PipiaStatus:
    last = last_recorded(conn, "pipia_ack")
    changed = changed_parts(last.parts if last else None, ropa_parts(ropa))
    return PipiaStatus(stale=bool(changed), changed=changed, acknowledged=last)


def acknowledge_pipia(conn: Connection, ropa: dict[str, Any], *, actor: str, role: str,
                      reference: str | None = None) -> int:
    """Record that the impact assessment was reviewed against the current record of processing."""
    return audit.record(conn, actor=actor, role=role, purpose="impact_assessment", action="pipia_ack",
                        subjects=_subjects(ropa_parts(ropa)), request_id=reference)
