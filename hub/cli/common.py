"""What every CLI command shares: the console, the config option, opening the store."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.config import Config, load_config
from hub.privacy.runtime import ensure_active
from hub.store import Store

# Piped output (logs, tests, cron mail) gets wide tables instead of ellipses.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: ./custhub.yaml, then the bundled example).",
                 show_default=False),
]


def get_config(ctx: typer.Context, config: Path | None) -> Config:
    """The config named on this command, else on ``custhub --config``, else the default."""
    chosen = config or (ctx.find_root().obj or {}).get("config")
    return load_config(chosen)


def open_store(config: Config) -> Store:
    """The migrated store, with the privacy layer (keys, blind indexes, audit) active for it."""
    store = Store.open(config.store_url)
    ensure_active(store.engine, config.privacy, config.base_dir)
    return store


AsRoleOption = Annotated[str | None, typer.Option(
    "--as-role", help="Act as this role (default: privacy.cli_role); see `custhub privacy roles`.",
    show_default=False)]
UnmaskOption = Annotated[bool, typer.Option(
    "--unmask", help="Show values in clear where your role may see them (audited).")]
PurposeOption = Annotated[str, typer.Option("--purpose", help="Why you need the data (recorded in the audit log).")]


def note_config(store: Store, config: Config) -> None:
    """Audit a changed config (value-free: the names of the changed sections) before processing with it."""
    from hub.privacy.access import cli_actor
    from hub.privacy.fingerprint import record_config_change

    with store.transaction() as conn:
        record_config_change(conn, config, actor=cli_actor(), role=config.privacy.cli_role)
