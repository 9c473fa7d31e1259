"""The Zoho CRM source: Leads and Contacts, incremental by ``Modified_Time``.

A plugin like any other: it registers ``ZOHO_SOURCE`` through ``register_sources``. The HTTP side
is ``connectors.zoho.api`` (a small Python component: Zoho's token endpoint answers errors with
HTTP 200, which a declarative manifest cannot tell from success); it runs in-process on
``airbyte-cdk`` through ``hub.sources.api_source``. Docs: ``docs/connectors/zoho.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.cdk_runner import api_connector

__all__ = ["ZOHO_SOURCE", "register_sources"]

ZOHO_SOURCE = api_connector(
    "zoho",
    "Zoho CRM Leads and Contacts (OAuth refresh token; incremental by Modified_Time)",
    Path(__file__).with_name("spec.json"),
    "connectors.zoho.api:ZohoApi",
)


@hookimpl
def register_sources(register):
    """Register the Zoho CRM source."""
    register(ZOHO_SOURCE)
