"""Destination connectors: Zoho CRM, HubSpot, 纷享销客 FxiaoKe, a SQL table and a CSV/JSONL file.

A plugin like any other: each destination registers through ``register_destinations``. HTTP
details live in one module per CRM; ``common`` holds what they share.
"""

from __future__ import annotations

from connectors.destinations.files import FileDestination
from connectors.destinations.fxiaoke import FxiaoKeDestination
from connectors.destinations.hubspot import HubSpotDestination
from connectors.destinations.sql import SqlDestination
from connectors.destinations.zoho import ZohoDestination
from hub import hookimpl

DESTINATIONS = (FileDestination(), SqlDestination(), ZohoDestination(), HubSpotDestination(), FxiaoKeDestination())


@hookimpl
def register_destinations(register):
    """Register the built-in destinations."""
    for destination in DESTINATIONS:
        register(destination)
