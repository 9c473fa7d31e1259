"""The Typeform source: responses to the configured forms, from the Responses API.

A plugin like any other: it registers ``TYPEFORM_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.typeform_api.api`` (token-cursor paging and exact resume need a small Python
component); it runs in-process on ``airbyte-cdk`` through ``hub.sources.api_source``. Webhook
deliveries of the same forms arrive through ``custhub serve`` and the inbox source instead.
Docs: ``docs/connectors/typeform.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.cdk_runner import api_connector

__all__ = ["TYPEFORM_SOURCE", "register_sources"]

TYPEFORM_SOURCE = api_connector(
    "typeform",
    "Typeform form responses (Responses API; incremental by submitted_at, answers by field ref)",
    Path(__file__).with_name("spec.json"),
    "connectors.typeform_api.api:TypeformApi",
)


@hookimpl
def register_sources(register):
    """Register the Typeform responses source."""
    register(TYPEFORM_SOURCE)
