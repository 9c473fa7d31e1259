"""``custhub serve``: receive form webhooks into the inbox (docs/connectors/webhooks.md) and serve the
admin console at ``/console`` (docs/console.md); ``custhub console``: its users."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from hub.cli.common import ConfigOption, console, get_config, note_config, open_store
from hub.privacy.logfilter import install_log_filter, install_record_scrubber


def register(app: typer.Typer) -> None:
    from hub.cli.console_cmd import app as console_app

    app.command("serve")(serve)
    app.add_typer(console_app, name="console")


def serve(ctx: typer.Context,
          host: Annotated[str | None, typer.Option(help="Address to listen on (default: server.host).")] = None,
          port: Annotated[int | None, typer.Option(help="Port to listen on (default: server.port).")] = None,
          config: ConfigOption = None) -> None:
    """Receive form webhooks (Typeform, Facebook Lead Ads, Jotform, generic, WeChat) into the inbox."""
    import uvicorn

    from hub.console import console_settings, with_console
    from hub.server import build_app, server_settings

    cfg = get_config(ctx, config)
    settings = server_settings(cfg)
    store = open_store(cfg)
    note_config(store, cfg)
    logging.getLogger("custhub.server").setLevel(logging.INFO)
    for name in ("", "custhub.server", "uvicorn", "uvicorn.error"):  # masked PII in whatever is logged
        install_log_filter(logging.getLogger(name))
    install_record_scrubber()
    listen_host, listen_port = host or settings.host, port or settings.port
    endpoints = ", ".join(f"/hooks/{f.provider}/{f.name}" for f in settings.forms.values()) or "none"
    console.print(f"custhub serve: http://{listen_host}:{listen_port} (forms: {endpoints})", highlight=False)
    # No access log: URLs carry per-form tokens. The app logs its own value-free lines. log_config=None:
    # uvicorn's records go to the CLI's (filtered) handlers instead of handlers of its own.
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    web = with_console(build_app(settings, store), cfg, store)
    if console_settings(cfg).enabled:
        console.print(f"admin console: http://{listen_host}:{listen_port}/console/", highlight=False)
    uvicorn.run(web, host=listen_host, port=listen_port, access_log=False,
                server_header=False, log_config=None, timeout_graceful_shutdown=5)
