"""``custhub run`` and ``custhub status``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import desc, func, select

from hub.cli.common import ConfigOption, console, get_config, note_config, open_store
from hub.config import Config
from hub.ingest import RunResult, run_connection
from hub.protocol import state_blob
from hub.store import Store
from hub.store.schema import quarantine, runs, source_records, stream_state

EXIT_FAILED, EXIT_PARTIAL = 1, 3
STATUS_STYLE = {"succeeded": "green", "partial": "yellow", "failed": "red", "running": "cyan",
                "interrupted": "red", "deferred": "yellow"}


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("status")(status)


class RateColumn(ProgressColumn):
    """Records per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} records/s" if speed else "", style="progress.data.speed")


def run(ctx: typer.Context,
        connections: Annotated[list[str] | None,
                               typer.Argument(help="Connections to run (default: all enabled).")] = None,
        full_refresh: Annotated[bool, typer.Option("--full-refresh",
                                                   help="Ignore saved state; read everything.")] = False,
        config: ConfigOption = None) -> None:
    """Read, map, clean and store the records of each connection."""
    cfg = get_config(ctx, config)
    names = connections or [n for n, c in sorted(cfg.connections.items()) if c.enabled]
    for name in names:
        cfg.connection(name)  # unknown names fail before anything runs
    store = open_store(cfg)
    note_config(store, cfg)
    results: list[RunResult] = []
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,} records"), RateColumn(), TimeElapsedColumn(),
                  console=console, transient=False, disable=not console.is_terminal) as progress:
        for name in names:
            task = progress.add_task(name, total=None)
            result = run_connection(cfg, store, name, full_refresh=full_refresh,
                                    progress=lambda n, t=task: progress.advance(t, n))
            progress.update(task, total=progress.tasks[task].completed)
            results.append(result)
    _print_results(results)
    if cfg.identity.resolve_after_ingest:  # link what was stored into golden profiles
        from hub.cli.identity_cmd import print_summary
        from hub.identity.resolver import resolve_identities

        print_summary(resolve_identities(store, cfg.identity))
    from hub.cli.quality_cmd import after_run  # segments, then quality metrics and thresholds

    after_run(store, cfg, {r.connection: r.run_id for r in results})
    after_run_privacy(store, cfg)
    statuses = {r.status for r in results}
    if "failed" in statuses:
        raise typer.Exit(EXIT_FAILED)
    if "partial" in statuses:
        raise typer.Exit(EXIT_PARTIAL)


def after_run_privacy(store: Store, cfg: Config) -> None:
    """The retention purge when ``privacy.purge_after_run``; an audit checkpoint when one is due."""
    from hub.privacy import audit
    from hub.privacy.runtime import current

    if cfg.privacy.purge_after_run:
        from hub.cli.subject_cmd import run_purge

        result = run_purge(store, cfg)
        if result.total:
            console.print("retention purge: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts.items()) if v),
                          highlight=False)
    audit.checkpoint_if_due(store.engine, current().audit_key, cfg.base_dir / cfg.privacy.audit_checkpoint_file,
                            cfg.privacy.audit_checkpoint_every)


def _print_results(results: list[RunResult]) -> None:
    table = Table("connection", "stream", "status", "read", "new", "updated", "unchanged", "quarantined",
                  title="custhub run")
    for result in results:
        for stream, c in result.streams.items():
            style = STATUS_STYLE.get(c.status, "")
            table.add_row(result.connection, stream, f"[{style}]{c.status}[/{style}]", f"{c.read:,}",
                          f"{c.inserted:,}", f"{c.updated:,}", f"{c.unchanged:,}", f"{c.quarantined:,}")
    console.print(table)
    for result in results:
        if result.error:
            console.print(f"[red]{result.connection}[/red] (run {result.run_id}): {result.error}",
                          highlight=False)
        quarantined = result.totals.quarantined
        if quarantined:
            console.print(f"{result.connection}: {quarantined:,} record(s) quarantined; see "
                          f"`custhub quarantine list {result.connection}`")


def status(ctx: typer.Context, config: ConfigOption = None,
           limit: Annotated[int, typer.Option(help="Runs to show per connection.")] = 1) -> None:
    """Last runs, stored counts and saved state of every connection."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    runs_table = Table("connection", "run", "status", "started", "finished", "read", "new", "updated",
                       "quarantined", "error", title="runs")
    streams_table = Table("connection", "stream", "stored", "open quarantine", "state", title="streams")
    with store.reading() as conn:
        for name in sorted(cfg.connections):
            rows = conn.execute(select(runs).where(runs.c.target == name, runs.c.kind == "ingest")
                                .order_by(desc(runs.c.id)).limit(limit)).mappings().all()
            if not rows:
                runs_table.add_row(name, "-", "never run", "", "", "", "", "", "", "")
            for row in rows:
                style = STATUS_STYLE.get(row["status"], "")
                runs_table.add_row(
                    name, str(row["id"]), f"[{style}]{row['status']}[/{style}]", _when(row["started_at"]),
                    _when(row["finished_at"]), f"{row['records_read']:,}", f"{row['records_inserted']:,}",
                    f"{row['records_updated']:,}", f"{row['records_quarantined']:,}", row["error"] or "")
            for stream in cfg.connections[name].streams:
                stored = conn.execute(select(func.count()).select_from(source_records).where(
                    source_records.c.connection == name, source_records.c.stream == stream)).scalar_one()
                open_q = conn.execute(select(func.count()).select_from(quarantine).where(
                    quarantine.c.connection == name, quarantine.c.stream == stream,
                    quarantine.c.status == "open")).scalar_one()
                state = conn.execute(select(stream_state.c.state).where(
                    stream_state.c.connection == name, stream_state.c.stream == stream)).scalar_one_or_none()
                summary = json.dumps(state_blob(json.loads(state)), ensure_ascii=False) if state else "-"
                streams_table.add_row(name, stream, f"{stored:,}", f"{open_q:,}", _short(summary))
    console.print(runs_table)
    console.print(streams_table)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
