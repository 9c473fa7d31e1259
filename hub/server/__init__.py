"""``custhub serve``: the HTTP server that receives form webhooks into the inbox.

``build_app`` makes the ASGI app (``hub.server.app``); ``server_settings`` reads the ``server``
section of the config (``hub.server.settings``). Provider checks live in ``hub.server.providers``,
signature maths in ``hub.server.signatures``. See docs/connectors/webhooks.md.
"""

from hub.server.app import build_app
from hub.server.settings import FormSettings, ServerSettings, server_settings

__all__ = ["FormSettings", "ServerSettings", "build_app", "server_settings"]
