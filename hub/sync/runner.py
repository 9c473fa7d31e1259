"""One sync run of one destination: lock, plan (diff into the outbox), dispatch, record the run.

Every run activates the privacy layer for the store (``ensure_active``), gates profiles by consent
(``hub.sync.consent``), counts the distinct people sent abroad this year (``sync_transfers``, with a
warning at ``cross_border_warn_at``, default 100,000: the 2024 Provisions' exemption limit) and
writes one value-free audit entry (action ``sync``: destination, run, field names, row counts).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import desc, select

from hub import plugins, validation
from hub.config import Config, mask_secrets
from hub.errors import ConfigError, CusthubError
from hub.privacy import audit
from hub.privacy.runtime import current, ensure_active
from hub.schedule import locks
from hub.store import Store
from hub.store.runs import StreamCounts, finish_run, start_run, utcnow
from hub.store.schema import runs
from hub.sync.breaker import breaker_for
from hub.sync.consent import consent_gate, is_cross_border
from hub.sync.dispatcher import Delivery, dispatch, transfers_this_year
from hub.sync.outmap import load_outmap
from hub.sync.planner import Plan, SyncTarget, plan_sync
from hub.sync.profiles import iter_profiles
from hub.sync.retry import RetryPolicy

log = logging.getLogger("custhub.sync")
CROSS_BORDER_WARN_AT = 100_000  # people per year: the 2024 Provisions' exemption limit for non-sensitive PI
ACTOR = "custhub-sync"
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REF = re.compile(r"[A-Za-z0-9_.-]{1,100}")


@dataclass
class SyncResult:
    destination: str
    status: str  # succeeded | partial | failed | skipped | dry_run
    run_id: int | None = None
    plan: Plan = field(default_factory=Plan)
    delivery: Delivery = field(default_factory=Delivery)
    error: str | None = None
    abroad: str | None = None  # the recipient's region when the destination is abroad
    transfers_this_year: int | None = None  # distinct people sent there this calendar year (abroad only)


def sync_target(config: Config, name: str) -> SyncTarget:
    if name not in config.destinations:
        raise ConfigError(f"no destination named '{name}'", file=str(config.file),
                          fix="known: " + (", ".join(sorted(config.destinations)) or "none"))
    dest = config.destinations[name]
    connector = plugins.destination(dest.connector)
    validation.check(mask_secrets(dest.config), connector.spec(), file=str(config.file),
                     prefix=("destinations", name, "config"))
    outmap = load_outmap(dest.mapping or f"out_{name}", config.mappings_dirs, config_file=str(config.file),
                         where=f"destinations.{name}.mapping")
    return SyncTarget(name=name, mode=dest.mode, outmap=outmap, purpose=dest.purpose,
                      max_attempts=int(dest.config.get("max_attempts", 5)) if isinstance(dest.config, dict) else 5)


def upstream_ok(store: Store, connections: list[str]) -> bool:
    """False when the latest ingest run of any of ``connections`` failed or is still running."""
    with store.reading() as conn:
        for name in connections:
            status = conn.execute(select(runs.c.status).where(runs.c.kind == "ingest", runs.c.target == name)
                                  .order_by(desc(runs.c.id)).limit(1)).scalar_one_or_none()
            if status in ("failed", "running"):
                return False
    return True


def sync_destination(config: Config, store: Store, name: str, *, dry_run: bool = False,
                     progress: Callable[[int, int], None] | None = None, policy: RetryPolicy | None = None,
                     now: Callable[[], datetime] = utcnow) -> SyncResult:
    """Sync destination ``name``: diff, outbox, deliver. ``progress(done, total)`` follows delivery."""
    ensure_active(store.engine, config.privacy, config.base_dir)
    target = sync_target(config, name)
    dest = config.destinations[name]
    connector = plugins.destination(dest.connector)
    if dry_run:
        with store.reading() as conn:
            target = SyncTarget(**{**target.__dict__, "gate": consent_gate(conn, config, name)})
            plan = plan_sync(conn, target, iter_profiles(conn), now=now(), run_id=None, write=False)
        return SyncResult(name, "dry_run", plan=plan)
    owner = locks.new_owner()
    if not locks.acquire(store, f"destination:{name}", owner):
        log.warning("destination %s is already syncing elsewhere; this run is skipped", name)
        return SyncResult(name, "skipped", error="already running")
    heartbeat = locks.Heartbeat(store, f"destination:{name}", owner)

    def beat(done: int, total: int) -> None:
        heartbeat()
        if progress:
            progress(done, total)

    try:
        return _run(config, store, target, connector, beat, policy or RetryPolicy(), now)
    finally:
        locks.release(store, f"destination:{name}", owner)


def _run(config: Config, store: Store, target: SyncTarget, connector, progress, policy, now) -> SyncResult:  # noqa: ANN001
    dest = config.destinations[target.name]
    ok = upstream_ok(store, list(dest.after) or sorted(config.connections))
    target = SyncTarget(**{**target.__dict__, "upstream_ok": ok})
    with store.transaction() as conn:
        run_id = start_run(conn, "sync", target.name)
    abroad = config.privacy.recipients[target.name].region if is_cross_border(config, target.name) else None
    result = SyncResult(target.name, "running", run_id, abroad=abroad)
    try:
        with store.transaction() as conn:
            target = SyncTarget(**{**target.__dict__, "gate": consent_gate(conn, config, target.name)})
            result.plan = plan_sync(conn, target, iter_profiles(conn), now=now(), run_id=run_id)
        total = result.plan.to_send + result.plan.still_queued + result.plan.requeued
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        settings = {k: float(v) for k, v in dest.config.items() if k in ("fail_max", "reset_timeout")}
        writer = connector.open(config.resolve(dest.config), key_field=target.outmap.key)
        try:
            result.delivery = dispatch(store, target.name, writer, run_id=run_id, now=now, policy=policy,
                                       breaker=breaker_for(target.name, **settings),
                                       max_attempts=target.max_attempts, progress=advance, cross_border=abroad)
        finally:
            writer.close()
        if abroad:
            _count_transfers(store, dest, result, now())
        d = result.delivery
        result.status = "partial" if (d.stopped or d.rejected or d.dead or d.failed) else "succeeded"
        result.error = d.stopped or ("; ".join(result.plan.notes) or None)
    except CusthubError as exc:
        result.status, result.error = "failed", str(exc)
    except BaseException as exc:
        result.status, result.error = "failed", f"internal error ({type(exc).__name__})"
        raise
    finally:
        _record(config, store, target, result)
    return result


def _count_transfers(store: Store, dest: Any, result: SyncResult, at: datetime) -> None:
    with store.reading() as conn:
        result.transfers_this_year = transfers_this_year(conn, result.destination, at.year)
    limit = int(dest.config.get("cross_border_warn_at", CROSS_BORDER_WARN_AT))
    if result.transfers_this_year >= limit:
        note = (f"{result.transfers_this_year:,} people sent abroad ({result.abroad}) in {at.year}, at or above "
                f"{limit:,}: a standard contract, certification or security assessment may be required (PIPL Art. 38)")
        result.plan.notes.append(note)
        log.warning("destination %s: %s", result.destination, note)


def _record(config: Config, store: Store, target: SyncTarget, result: SyncResult) -> None:
    p, d = result.plan, result.delivery
    counts = StreamCounts(read=p.profiles, inserted=d.created, updated=d.updated + d.deleted,
                          unchanged=p.unchanged, quarantined=d.rejected + d.dead)
    subjects = [f"run:{result.run_id}"]
    if _REF.fullmatch(result.destination):
        subjects.insert(0, f"destination:{result.destination}")
    fields = [f.target for f in target.outmap.fields if _FIELD_NAME.fullmatch(f.target)]
    with store.transaction() as conn:
        finish_run(conn, result.run_id, result.status, counts, result.error)
        audit.record(conn, actor=ACTOR, role="sync_job", purpose=target.purpose or "sync", action="sync",
                     subjects=subjects, fields=fields, row_count=d.synced, outcome=result.status)
    privacy = config.privacy
    audit.checkpoint_if_due(store.engine, current().audit_key, config.base_dir / privacy.audit_checkpoint_file,
                            privacy.audit_checkpoint_every)
