"""``custhub plugins``: what is loaded and from where."""

from __future__ import annotations

import typer
from rich.table import Table

from hub import plugins
from hub.cli.common import console


def register(app: typer.Typer) -> None:
    app.command("plugins")(list_plugins)


def list_plugins() -> None:
    """List loaded plugins, what each registered, and where it comes from."""
    registry = plugins.registry()
    table = Table("plugin", "registers", "from", title="custhub plugins")
    by_plugin: dict[str, list[str]] = {}
    origins: dict[str, str] = {}
    for reg in registry.all():
        by_plugin.setdefault(reg.plugin, []).append(f"{reg.kind}:{reg.name}")
        origins[reg.plugin] = reg.origin
    for name in sorted(by_plugin):
        table.add_row(name, "\n".join(sorted(by_plugin[name])), origins[name])
    console.print(table)
