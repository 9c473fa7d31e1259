"""One sync run of one destination: lock, plan (diff into the outbox), dispatch, record the run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import desc, select

from hub import plugins, validation
from hub.config import Config, mask_secrets
from hub.errors import ConfigError, CusthubError
from hub.schedule import locks
from hub.store import Store
from hub.store.runs import StreamCounts, finish_run, start_run, utcnow
from hub.store.schema import runs
from hub.sync.breaker import breaker_for
from hub.sync.dispatcher import Delivery, dispatch
from hub.sync.outmap import load_outmap
from hub.sync.planner import Plan, SyncTarget, plan_sync
from hub.sync.profiles import iter_profiles
from hub.sync.retry import RetryPolicy

log = logging.getLogger("custhub.sync")


@dataclass
class SyncResult:
    destination: str
    status: str  # succeeded | partial | failed | skipped | dry_run
    run_id: int | None = None
    plan: Plan = field(default_factory=Plan)
    delivery: Delivery = field(default_factory=Delivery)
    error: str | None = None


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
    target = sync_target(config, name)
    dest = config.destinations[name]
    connector = plugins.destination(dest.connector)
    if dry_run:
        with store.reading() as conn:
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
    result = SyncResult(target.name, "running", run_id)
    try:
        with store.transaction() as conn:
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
                                       max_attempts=target.max_attempts, progress=advance)
        finally:
            writer.close()
        d = result.delivery
        result.status = "partial" if (d.stopped or d.rejected or d.dead or d.failed) else "succeeded"
        result.error = d.stopped or ("; ".join(result.plan.notes) or None)
    except CusthubError as exc:
        result.status, result.error = "failed", str(exc)
    except BaseException as exc:
        result.status, result.error = "failed", f"internal error ({type(exc).__name__})"
        raise
    finally:
        _record(store, result)
    return result


def _record(store: Store, result: SyncResult) -> None:
    p, d = result.plan, result.delivery
    counts = StreamCounts(read=p.profiles, inserted=d.created, updated=d.updated + d.deleted,
                          unchanged=p.unchanged, quarantined=d.rejected + d.dead)
    with store.transaction() as conn:
        finish_run(conn, result.run_id, result.status, counts, result.error)
