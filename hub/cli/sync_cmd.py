"""``custhub sync DESTINATION [--dry-run]`` and ``custhub runs list|show``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import desc, func, select

from hub.cli.common import ConfigOption, console, get_config, note_config, open_store
from hub.errors import ConfigError
from hub.store.schema import runs
from hub.sync import sync_destination
from hub.sync.runner import SyncResult
from hub.sync.sealing import open_reason
from hub.sync.tables import sync_results

EXIT_FAILED, EXIT_PARTIAL = 1, 3
STYLE = {"succeeded": "green", "partial": "yellow", "failed": "red", "running": "cyan", "skipped": "yellow",
         "synced": "green", "rejected": "red", "dead": "red", "retry": "yellow"}
runs_app = typer.Typer(no_args_is_help=True, help="Run history with per-row results.")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.add_typer(runs_app, name="runs")


def sync(ctx: typer.Context,
         destinations: Annotated[list[str] | None, typer.Argument(help="Destinations (default: all enabled).")] = None,
         dry_run: Annotated[bool, typer.Option("--dry-run", help="Print planned creates, updates and deletes; "
                                                                 "send nothing.")] = False,
         config: ConfigOption = None) -> None:
    """Send what changed since the last sync to each destination."""
    cfg = get_config(ctx, config)
    names = destinations or [n for n, d in sorted(cfg.destinations.items()) if d.enabled]
    if not names:
        raise ConfigError("no destinations configured", file=str(cfg.file), path="destinations",
                          fix="add one, e.g. a file destination (see docs/sync.md)")
    store = open_store(cfg)
    note_config(store, cfg)  # a changed config is audited before anything is sent with it
    results: list[SyncResult] = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal or dry_run) as progress:
        for name in names:
            task = progress.add_task(name, total=None)
            results.append(sync_destination(
                cfg, store, name, dry_run=dry_run,
                progress=lambda done, total, t=task: progress.update(t, completed=done, total=total)))
    _print(results, dry_run)
    statuses = {r.status for r in results}
    if "failed" in statuses:
        raise typer.Exit(EXIT_FAILED)
    if "partial" in statuses:
        raise typer.Exit(EXIT_PARTIAL)


def _print(results: list[SyncResult], dry_run: bool) -> None:
    if dry_run:
        table = Table("destination", "profiles", "create", "update", "delete", "opt-out", "unchanged", "skipped",
                      "queued", title="custhub sync --dry-run (nothing sent)")
        for r in results:
            p = r.plan
            table.add_row(r.destination, f"{p.profiles:,}", f"{p.creates:,}", f"{p.updates:,}", f"{p.deletes:,}",
                          f"{p.opt_outs:,}", f"{p.unchanged:,}", f"{p.skipped:,}",
                          f"{p.still_queued + p.requeued:,}")
    else:
        table = Table("destination", "run", "status", "profiles", "unchanged", "created", "updated", "deleted",
                      "rejected", "dead", "deferred", title="custhub sync")
        for r in results:
            p, d = r.plan, r.delivery
            style = STYLE.get(r.status, "")
            table.add_row(r.destination, str(r.run_id or "-"), f"[{style}]{r.status}[/{style}]", f"{p.profiles:,}",
                          f"{p.unchanged:,}", f"{d.created:,}", f"{d.updated:,}", f"{d.deleted:,}",
                          f"{d.rejected:,}", f"{d.dead:,}", f"{d.deferred + d.failed:,}")
    console.print(table)
    for r in results:
        for note in r.plan.notes:
            console.print(f"{r.destination}: {note}", highlight=False)
        if r.error and r.error not in r.plan.notes and "; ".join(r.plan.notes) != r.error:
            console.print(f"{r.destination}: {r.error}", highlight=False)
        if r.transfers_this_year is not None:
            console.print(f"{r.destination}: {r.transfers_this_year:,} people sent abroad ({r.abroad}) this year "
                          "(PIPL cross-border counter)", highlight=False)
        for reason, count in sorted(r.plan.blocked.items()):
            console.print(f"{r.destination}: {count:,} profile(s) not sent: consent {reason}", highlight=False)
        if r.delivery.rejected or r.delivery.dead:
            console.print(f"{r.destination}: see `custhub runs show {r.run_id}` for per-row reasons")


@runs_app.command("list")
def list_runs(ctx: typer.Context, target: Annotated[str | None, typer.Argument(help="Only this target.")] = None,
              limit: Annotated[int, typer.Option(help="Runs to show.")] = 20, config: ConfigOption = None) -> None:
    """The latest runs of connections and destinations."""
    store = open_store(get_config(ctx, config))
    query = select(runs).order_by(desc(runs.c.id)).limit(limit)
    if target:
        query = query.where(runs.c.target == target)
    table = Table("run", "kind", "target", "status", "started", "finished", "read", "new", "updated", "problems",
                  title="runs")
    with store.reading() as conn:
        for r in conn.execute(query).mappings():
            style = STYLE.get(r["status"], "")
            table.add_row(str(r["id"]), r["kind"], r["target"], f"[{style}]{r['status']}[/{style}]",
                          _when(r["started_at"]), _when(r["finished_at"]), f"{r['records_read']:,}",
                          f"{r['records_inserted']:,}", f"{r['records_updated']:,}", f"{r['records_quarantined']:,}")
    console.print(table)


@runs_app.command("show")
def show(ctx: typer.Context, run_id: Annotated[int, typer.Argument(help="Run id.")],
         limit: Annotated[int, typer.Option(help="Rows to list (problems first).")] = 50,
         config: ConfigOption = None) -> None:
    """One run: its counts and, for a sync run, the result of every row (problems first)."""
    store = open_store(get_config(ctx, config))
    sr = sync_results.c
    with store.reading() as conn:
        run = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if run is None:
            raise ConfigError(f"no run {run_id}", fix="`custhub runs list` shows the runs")
        by_status = conn.execute(select(sr.status, sr.kind, func.count()).where(sr.run_id == run_id)
                                 .group_by(sr.status, sr.kind).order_by(sr.status, sr.kind)).all()
        problems_first = (sr.status == "synced", sr.id)
        rows = conn.execute(select(sr.profile_id, sr.kind, sr.status, sr.external_id, sr.code, sr.reason, sr.outbox_id)
                            .where(sr.run_id == run_id).order_by(*problems_first).limit(limit)).all()
    style = STYLE.get(run["status"], "")
    console.print(f"run {run_id}: {run['kind']} {run['target']} [{style}]{run['status']}[/{style}] "
                  f"started {_when(run['started_at'])} finished {_when(run['finished_at'])}", highlight=False)
    console.print(f"profiles {run['records_read']:,}, unchanged {run['records_unchanged']:,}, created "
                  f"{run['records_inserted']:,}, updated {run['records_updated']:,}, rejected or dead "
                  f"{run['records_quarantined']:,}", highlight=False)
    if run["error"]:
        console.print(f"note: {run['error']}", highlight=False)
    if by_status:
        summary = Table("status", "kind", "rows", title="row results")
        for status, kind, count in by_status:
            summary.add_row(status, kind, f"{count:,}")
        console.print(summary)
        table = Table("profile", "kind", "status", "external id", "code", "reason", title=f"rows (first {limit})")
        for r in rows:
            st = STYLE.get(r.status, "")
            table.add_row(r.profile_id, r.kind, f"[{st}]{r.status}[/{st}]", r.external_id or "", r.code or "",
                          open_reason(run_id, r.outbox_id, r.reason) or "")
        console.print(table)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""
