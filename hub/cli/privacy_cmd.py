"""``custhub privacy report|roles|acknowledge-pipia|export|erase|purge``: records of processing,
who may see what, and the rights of data subjects (access, erasure) and retention."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import ConfigOption, console, err_console, get_config, open_store
from hub.errors import ConfigError
from hub.privacy.access import cli_actor
from hub.privacy.fingerprint import acknowledge_pipia, pipia_status
from hub.privacy.ropa import build_ropa, render_json, render_markdown
from hub.privacy.tiers import TIERS

app = typer.Typer(no_args_is_help=True, help="Privacy: records of processing, roles, access and erasure requests, "
                                               "retention.")


@app.command("report")
def report(ctx: typer.Context,
           fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
           out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
           config: ConfigOption = None) -> None:
    """The record of processing activities, generated from the config (GDPR Art. 30, PIPL Art. 55)."""
    if fmt not in ("md", "json"):
        raise ConfigError("--format must be md or json")
    cfg = get_config(ctx, config)
    ropa = build_ropa(cfg)
    store = open_store(cfg)
    with store.reading() as conn:
        status = pipia_status(conn, ropa)
    store.close()
    ropa["impact_assessment"] = {"stale": status.stale, "changed": status.changed,
                                 "acknowledged_seq": status.acknowledged.seq if status.acknowledged else None}
    if status.stale:
        ropa["findings"].append(status.line())
    text = render_markdown(ropa) if fmt == "md" else render_json(ropa) + "\n"
    if out:
        out.write_text(text, "utf-8")
        console.print(f"wrote {out}")
    else:
        typer.echo(text, nl=False)
    err_console.print(status.line(), highlight=False)


@app.command("acknowledge-pipia")
def acknowledge(ctx: typer.Context,
                reference: Annotated[str | None, typer.Option(
                    help="The impact assessment document's id (letters, digits, . : @ _ -).")] = None,
                config: ConfigOption = None) -> None:
    """Record that the impact assessment was reviewed against the current record of processing (audited)."""
    cfg = get_config(ctx, config)
    store = open_store(cfg)
    ropa = build_ropa(cfg)
    with store.transaction() as conn:
        seq = acknowledge_pipia(conn, ropa, actor=cli_actor(), role=cfg.privacy.cli_role, reference=reference)
    store.close()
    console.print(f"impact assessment acknowledged (audit entry {seq}); `custhub privacy report` flags it stale "
                  "when sources, fields, recipients, purposes, retention or the controller change", highlight=False)


@app.command("roles")
def roles(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Each role and the tiers it sees unmasked."""
    cfg = get_config(ctx, config)
    table = Table("role", *TIERS, title="roles")
    for role in sorted(cfg.privacy.roles.values(), key=lambda r: r.name):
        table.add_row(role.name, *("unmasked" if t in role.unmask else "masked" for t in TIERS))
    console.print(table)


from hub.cli import subject_cmd  # noqa: E402  (export, erase and purge live in their own module)

subject_cmd.register(app)
