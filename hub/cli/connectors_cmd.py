"""``custhub connectors list|install``: source connectors, including published Airbyte sources."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hub import plugins
from hub.cli.common import console
from hub.errors import ConfigError

app = typer.Typer(no_args_is_help=True, help="Source connectors and published Airbyte sources.")
AIRBYTE_PREFIX = "airbyte:"


@app.command("list")
def list_connectors() -> None:
    """List the registered source connectors."""
    table = Table("source", "description", title="sources")
    for name in plugins.registry().names("source"):
        table.add_row(name, getattr(plugins.registry().entries["source"][name].obj, "description", ""))
    console.print(table)


@app.command("install")
def install(name: Annotated[str, typer.Argument(help="airbyte:<package>, e.g. airbyte:source-faker")],
            pip: Annotated[str | None, typer.Option("--pip", help="pip requirement to install instead, "
                                                    "e.g. 'airbyte-source-faker==7.2.1' or a path")] = None,
            force: Annotated[bool, typer.Option("--force", help="Reinstall.")] = False) -> None:
    """Install a published Airbyte source into its own virtual environment."""
    from connectors.airbyte import package_name
    from hub.sources.venv_installer import install_connector

    if not name.startswith(AIRBYTE_PREFIX):
        raise ConfigError(f"'{name}' is not a published Airbyte source",
                          fix="name it airbyte:<package>, e.g. airbyte:source-faker")
    package = package_name(name)
    with console.status(f"installing {package} ...") as status:
        def show(line: str) -> None:
            status.update(f"installing {package}: {line.strip()[:70]}")

        executable = install_connector(package, pip, force=force, on_line=show)
    console.print(f"installed {name}: {executable}")
