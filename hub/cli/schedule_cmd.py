"""``custhub schedule``: run every scheduled connection and destination on its cron or interval."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from hub.cli.common import ConfigOption, console, get_config, note_config, open_store
from hub.schedule import locks
from hub.schedule.jobs import jobs_from_config
from hub.schedule.runner import job_runner
from hub.schedule.scheduler import Scheduler
from hub.sync.tables import schedule_jobs


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)


def schedule(ctx: typer.Context,
             once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit.")] = False,
             list_jobs: Annotated[bool, typer.Option("--list", help="Show the jobs and their next runs.")] = False,
             config: ConfigOption = None) -> None:
    """Run connections and destinations on their schedules until stopped (Ctrl-C)."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    note_config(store, cfg)  # a changed config is audited before scheduled runs use it
    jobs = jobs_from_config(cfg)
    owner = locks.new_owner()
    scheduler = Scheduler(store, jobs, job_runner(cfg, store, owner), owner=owner)
    scheduler.sync_jobs()
    if list_jobs:
        table = Table("job", "schedule", "next run (UTC)", "last run", "last status", title="schedule")
        with store.reading() as conn:
            rows = {r.job_id: r for r in conn.execute(select(schedule_jobs))}
        for job in jobs:
            r = rows.get(job.id)
            table.add_row(job.id, job.fingerprint, _when(r.next_run_at if r else None),
                          _when(r.last_run_at if r else None), (r.last_status if r else None) or "")
        console.print(table)
        return
    if once:
        for job_id, when, status in scheduler.tick():
            console.print(f"{job_id} (due {when:%Y-%m-%d %H:%M:%S}): {status}", highlight=False)
        return
    console.print(f"custhub schedule: {len(jobs)} job(s); Ctrl-C to stop", highlight=False)
    try:
        scheduler.run_forever()
    except KeyboardInterrupt:
        scheduler.stopping.set()


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""
