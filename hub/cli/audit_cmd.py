"""``custhub audit verify|show|checkpoint``: the tamper-evident audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import ConfigOption, console, err_console, get_config, open_store
from hub.config import Config
from hub.errors import ConfigError
from hub.privacy import audit
from hub.privacy.runtime import activate

app = typer.Typer(no_args_is_help=True, help="The audit log: who read, exported or erased what, and when.")

CheckpointOption = Annotated[Path | None, typer.Option(
    "--checkpoint-file", help="Checkpoint file (default: privacy.audit.checkpoint_file).", show_default=False)]


def checkpoint_path(cfg: Config, explicit: Path | None) -> Path:
    return explicit or (cfg.base_dir / cfg.privacy.audit_checkpoint_file)


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} must be an ISO date or time, e.g. 2026-05-01 or 2026-05-01T08:00+08:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("verify")
def verify(ctx: typer.Context, checkpoint_file: CheckpointOption = None, config: ConfigOption = None) -> None:
    """Recompute the HMAC chain; name the exact edited or deleted entry; compare with the checkpoints."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir)
    path = checkpoint_path(cfg, checkpoint_file)
    with store.reading() as conn:
        result = audit.verify(conn, runtime.audit_key, path)
    if not path.is_file():
        err_console.print(f"warning: no checkpoint file at {path}: a cut-off tail cannot be detected "
                          "(run `custhub audit checkpoint` regularly)", highlight=False)
    for problem in result.problems:
        console.print(f"[red]✗[/red] {problem}", highlight=False)
    console.print(f"{result.entries:,} entries, head seq {result.head_seq}, "
                  f"{result.checkpoints_checked} checkpoint(s) checked: "
                  + ("[green]ok[/green]" if result.ok else f"[red]{len(result.problems)} problem(s)[/red]"))
    if not result.ok:
        raise typer.Exit(1)


@app.command("show")
def show(ctx: typer.Context,
         actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
         subject: Annotated[str | None, typer.Option(help="Only entries about this subject, e.g. profile:12.")] = None,
         action: Annotated[str | None, typer.Option(help="Only this action (read, export, erase, ...).")] = None,
         since: Annotated[str | None, typer.Option(help="From this time (ISO).")] = None,
         until: Annotated[str | None, typer.Option(help="Before this time (ISO).")] = None,
         limit: Annotated[int, typer.Option(min=1, help="Entries to show.")] = 100,
         config: ConfigOption = None) -> None:
    """Entries, newest first: who accessed whose data, for what purpose, which fields, how many rows."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    with store.reading() as conn:
        entries = audit.show(conn, actor=actor, subject=subject, action=action, since=_when(since, "--since"),
                             until=_when(until, "--until"), limit=limit)
    table = Table("seq", "at", "actor", "role", "purpose", "action", "subjects", "fields", "rows", "outcome",
                  title="audit log")
    for e in entries:
        table.add_row(str(e.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.role, e.purpose, e.action,
                      " ".join(e.subjects), " ".join(e.fields), str(e.row_count), e.outcome)
    console.print(table)


@app.command("checkpoint")
def checkpoint(ctx: typer.Context, checkpoint_file: CheckpointOption = None, config: ConfigOption = None) -> None:
    """Append the log's current head to the checkpoint file, outside the database."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir)
    path = checkpoint_path(cfg, checkpoint_file)
    head = audit.export_checkpoint(store.engine, runtime.audit_key, path)
    console.print("the audit log is empty" if head is None else f"checkpoint at seq {head[0]} written to {path}")
