"""``custhub init`` and ``custhub check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from hub import paths
from hub.cli.common import ConfigOption, console, get_config, open_store
from hub.config import DEFAULT_CONFIG_NAME, missing_secrets, read_yaml
from hub.errors import ConfigError, CusthubError
from hub.ingest.pipeline import source_config
from hub.sources import source_for

STARTER_HEADER = """\
# custhub configuration, written by `custhub init`.
# Reference: docs/configuration.md. Secrets: {"$env": NAME} or {"$file": path}, never inline.
# It starts from the bundled example: sample files for every channel family, read offline.
"""


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("check")(check)


def init(path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path(DEFAULT_CONFIG_NAME),
         force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False) -> None:
    """Write a starter config (the bundled example, with its sample files) to PATH."""
    if path.exists() and not force:
        raise ConfigError("already exists", file=str(path), fix="pass --force to overwrite it")
    example = paths.example_config()
    data = read_yaml(example)
    for connection in data.get("connections", {}).values():
        for entry in (connection.get("config") or {}).get("files", []):
            entry["path"] = str((example.parent / entry["path"]).resolve())
    data["store"] = {"url": "sqlite:///custhub.db"}
    path.write_text(STARTER_HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    console.print(f"wrote {path}; next: [bold]custhub check[/bold], then [bold]custhub run[/bold]")


def check(ctx: typer.Context,
          connections: Annotated[list[str] | None,
                                 typer.Argument(help="Connections to check (default: all).")] = None,
          config: ConfigOption = None) -> None:
    """Check the config and that each connection can reach its source."""
    cfg = get_config(ctx, config)
    names = connections or sorted(cfg.connections)
    table = Table("connection", "source", "result", title=f"custhub check ({cfg.file.name})")
    failures = 0
    store = open_store(cfg)
    for name in names:
        conn = cfg.connection(name)
        missing = missing_secrets(conn.config, base_dir=cfg.base_dir)
        if missing:
            needs = ", ".join(f"{r.target} ({'environment variable' if r.kind == '$env' else 'file'})"
                              for r in missing)
            if not conn.enabled and not connections:  # a disabled connection waiting for its secrets
                table.add_row(name, conn.source, f"[yellow]disabled; missing credentials:[/yellow] {needs}")
                continue
            table.add_row(name, conn.source, f"[yellow]missing credentials:[/yellow] {needs}")
            failures += 1
            continue
        try:
            source = source_for(conn)
            result = source.check(source_config(cfg, store, conn, source.spec()))
        except CusthubError as exc:
            table.add_row(name, conn.source, f"[red]failed:[/red] {exc}")
            failures += 1
            continue
        if result.ok:
            table.add_row(name, conn.source, "[green]ok[/green]")
        else:
            table.add_row(name, conn.source, f"[red]failed:[/red] {result.message}")
            failures += 1
    console.print(table)
    if failures:
        raise typer.Exit(1)
