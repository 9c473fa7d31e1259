"""``custhub privacy report|roles``: records of processing and who may see what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import ConfigOption, console, get_config
from hub.errors import ConfigError
from hub.privacy.ropa import build_ropa, render_json, render_markdown
from hub.privacy.tiers import TIERS

app = typer.Typer(no_args_is_help=True, help="Privacy: records of processing, roles and tiers.")


@app.command("report")
def report(ctx: typer.Context,
           fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
           out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
           config: ConfigOption = None) -> None:
    """The record of processing activities, generated from the config (GDPR Art. 30, PIPL Art. 55)."""
    if fmt not in ("md", "json"):
        raise ConfigError("--format must be md or json")
    ropa = build_ropa(get_config(ctx, config))
    text = render_markdown(ropa) if fmt == "md" else render_json(ropa) + "\n"
    if out:
        out.write_text(text, "utf-8")
        console.print(f"wrote {out}")
    else:
        typer.echo(text, nl=False)


@app.command("roles")
def roles(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Each role and the tiers it sees unmasked."""
    cfg = get_config(ctx, config)
    table = Table("role", *TIERS, title="roles")
    for role in sorted(cfg.privacy.roles.values(), key=lambda r: r.name):
        table.add_row(role.name, *("unmasked" if t in role.unmask else "masked" for t in TIERS))
    console.print(table)
