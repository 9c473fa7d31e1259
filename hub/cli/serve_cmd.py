"""``custhub serve``: receive form webhooks into the inbox (docs/connectors/webhooks.md)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from hub.cli.common import ConfigOption, console, get_config, open_store


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(ctx: typer.Context,
          host: Annotated[str | None, typer.Option(help="Address to listen on (default: server.host).")] = None,
          port: Annotated[int | None, typer.Option(help="Port to listen on (default: server.port).")] = None,
          config: ConfigOption = None) -> None:
    """Receive form webhooks (Typeform, Facebook Lead Ads, Jotform, generic, WeChat) into the inbox."""
    import uvicorn

    from hub.server import build_app, server_settings

    cfg = get_config(ctx, config)
    settings = server_settings(cfg)
    store = open_store(cfg)
    logging.getLogger("custhub.server").setLevel(logging.INFO)
    listen_host, listen_port = host or settings.host, port or settings.port
    endpoints = ", ".join(f"/hooks/{f.provider}/{f.name}" for f in settings.forms.values()) or "none"
    console.print(f"custhub serve: http://{listen_host}:{listen_port} (forms: {endpoints})", highlight=False)
    # No access log: URLs carry per-form tokens. The app logs its own value-free lines.
    uvicorn.run(build_app(settings, store), host=listen_host, port=listen_port, access_log=False,
                server_header=False, log_level="warning", timeout_graceful_shutdown=5)
