"""The HubSpot source: CRM contacts, incremental by ``lastmodifieddate``.

Entirely declarative: ``manifest.yaml`` (search API, ``after`` paging, windows of ``window``
length, 429 by ``policyName``) run in-process by ``hub.sources.declarative``.
Docs: ``docs/connectors/hubspot.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.declarative import DeclarativeSourceConnector

__all__ = ["HUBSPOT_SOURCE", "register_sources"]

HUBSPOT_SOURCE = DeclarativeSourceConnector("hubspot", Path(__file__).with_name("manifest.yaml"))


@hookimpl
def register_sources(register):
    """Register the HubSpot source."""
    register(HUBSPOT_SOURCE)
