"""``custhub quarantine list|show|retry``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import desc, select

from hub.cli.common import AsRoleOption, ConfigOption, PurposeOption, UnmaskOption, console, get_config, open_store
from hub.errors import ConfigError
from hub.ingest import retry_quarantined
from hub.privacy.access import cli_viewer
from hub.privacy.views import present_raw
from hub.store.records import open_quarantine_raw
from hub.store.schema import quarantine

app = typer.Typer(no_args_is_help=True, help="Records that failed mapping or cleaning, with their reasons.")


@app.command("list")
def list_rows(ctx: typer.Context,
              connection: Annotated[str | None, typer.Argument(help="Only this connection.")] = None,
              status: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
              limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
              config: ConfigOption = None) -> None:
    """List quarantined records (newest first) with their reasons."""
    if status not in ("open", "resolved", "all"):
        raise ConfigError("--status must be open, resolved or all")
    store = open_store(get_config(ctx, config))
    query = select(quarantine).order_by(desc(quarantine.c.id)).limit(limit)
    if connection:
        query = query.where(quarantine.c.connection == connection)
    if status != "all":
        query = query.where(quarantine.c.status == status)
    table = Table("id", "connection", "stream", "stage", "status", "reasons", title="quarantine")
    with store.reading() as conn:
        for row in conn.execute(query).mappings():
            table.add_row(str(row["id"]), row["connection"], row["stream"], row["stage"], row["status"],
                          "\n".join(json.loads(row["reasons"])))
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, row_id: Annotated[int, typer.Argument(metavar="ID")],
         unmask: UnmaskOption = False, as_role: AsRoleOption = None,
         purpose: PurposeOption = "data_quality", config: ConfigOption = None) -> None:
    """Show one quarantined record: its reasons and its fields (masked unless --unmask and your role allows)."""
    cfg = get_config(ctx, config)
    viewer = cli_viewer(cfg.privacy, as_role=as_role, unmask=unmask, purpose=purpose)
    store = open_store(cfg)
    with store.reading() as conn:
        row = conn.execute(select(quarantine).where(quarantine.c.id == row_id)).mappings().first()
    if row is None:
        raise ConfigError(f"no quarantine row {row_id}", fix="see `custhub quarantine list`")
    raw = open_quarantine_raw(row["connection"], row["stream"], row["source_pk"], row["raw"])
    shown = present_raw(raw, viewer, table="quarantine")
    with store.transaction() as conn:
        viewer.audit(conn, action="unmask", subjects=[f"quarantine:{row_id}"])
    seen = f"{row['first_seen_at']:%Y-%m-%d %H:%M}"
    console.print(f"[bold]#{row['id']}[/bold] {row['connection']}/{row['stream']} "
                  f"stage={row['stage']} status={row['status']} first seen {seen}")
    for reason in json.loads(row["reasons"]):
        console.print(f"  [red]✗[/red] {reason}", highlight=False)
    table = Table("field", "value")
    for key, value in (shown.items() if isinstance(shown, dict) else [("(payload)", shown)]):
        table.add_row(str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    console.print(table, highlight=False)


@app.command("retry")
def retry(ctx: typer.Context,
          ids: Annotated[list[int] | None,
                         typer.Argument(help="Rows to retry (default: every open row).")] = None,
          connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
          config: ConfigOption = None) -> None:
    """Re-run open quarantined records through the current mapping and cleaning."""
    cfg = get_config(ctx, config)
    result = retry_quarantined(cfg, open_store(cfg), connection=connection, ids=ids)
    console.print(f"resolved {result.resolved:,}, still failing {result.still_bad:,}"
                  + (f", skipped {result.skipped:,} (connection or stream no longer configured)"
                     if result.skipped else ""))
    if result.still_bad:
        raise typer.Exit(1)
