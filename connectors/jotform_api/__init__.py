"""The Jotform source: submissions to the configured forms, from the submissions API.

A plugin like any other: it registers ``JOTFORM_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.jotform_api.api`` (the ``limit-left`` daily budget and exact resume need a small
Python component); it runs in-process on ``airbyte-cdk`` through ``hub.sources.api_source``. Webhook
deliveries of the same forms arrive through ``custhub serve`` and the inbox source instead.
Docs: ``docs/connectors/jotform.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.cdk_runner import api_connector

__all__ = ["JOTFORM_SOURCE", "register_sources"]

JOTFORM_SOURCE = api_connector(
    "jotform",
    "Jotform form submissions (submissions API; incremental by created_at, daily limit-left budget)",
    Path(__file__).with_name("spec.json"),
    "connectors.jotform_api.api:JotformApi",
)


@hookimpl
def register_sources(register):
    """Register the Jotform submissions source."""
    register(JOTFORM_SOURCE)
