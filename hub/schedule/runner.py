"""What a scheduled job does: ingest a connection (then the syncs that wait for it), or sync a destination."""

from __future__ import annotations

import logging

from hub.config import Config
from hub.schedule import locks
from hub.schedule.scheduler import Runner
from hub.store import Store

log = logging.getLogger("custhub.schedule")


def dependents(config: Config, connection: str) -> list[str]:
    """Enabled destinations whose ``after`` lists ``connection``."""
    return sorted(n for n, d in config.destinations.items() if d.enabled and connection in d.after)


def job_runner(config: Config, store: Store, owner: str) -> Runner:
    """Run jobs for the scheduler whose lease owner is ``owner`` (kept alive during long ingests)."""
    from hub.ingest import run_connection
    from hub.sync import sync_destination

    def run(job_id: str) -> str:
        kind, name = job_id.split(":", 1)
        if kind == "destination":
            return sync_destination(config, store, name).status
        heartbeat = locks.Heartbeat(store, job_id, owner)
        result = run_connection(config, store, name, progress=heartbeat)
        status = result.status
        log.info("job %s: ingest %s", job_id, status)
        from hub.quality.runner import after_ingest  # segments, then quality with thresholds (docs/quality.md)

        after_ingest(store, config, {name: result.run_id})
        if status == "failed":
            return status
        for destination in dependents(config, name):
            result = sync_destination(config, store, destination)
            log.info("job %s: triggered sync of %s: %s", job_id, destination, result.status)
        return status

    return run
