"""One module per webhook provider. Each ``receive(delivery)`` checks, reads, verifies and parses a
delivery into inbox events, or raises ``Refused``; ``verify_get`` answers a provider's GET
handshake where it has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from hub.server.settings import FormSettings, ServerSettings


@dataclass
class Delivery:
    request: Request
    form: FormSettings
    settings: ServerSettings
    url_token: str | None = None
