"""``custhub plugins``: what is loaded and from where."""

from __future__ import annotations

import typer
from rich.table import Table

from hub import native, plugins
from hub.cli.common import console


def register(app: typer.Typer) -> None:
    app.command("plugins")(list_plugins)


def list_plugins() -> None:
    """List loaded plugins, what each registered, and where it comes from; and whether custhub's own
    per-record modules run compiled."""
    registry = plugins.registry()
    # The speed of ingest depends on it (docs/performance.md): say which build is in use, and why.
    table = Table("plugin", "registers", "from", title="custhub plugins", caption=f"core modules: {native.STATUS}")
    by_plugin: dict[str, list[str]] = {}
    origins: dict[str, str] = {}
    for reg in registry.all():
        by_plugin.setdefault(reg.plugin, []).append(f"{reg.kind}:{reg.name}")
        origins[reg.plugin] = reg.origin
    for name in sorted(by_plugin):
        table.add_row(name, "\n".join(sorted(by_plugin[name])), origins[name])
    console.print(table)
