"""The Eventbrite source: attendees of the configured events, with check-in status and answers.

A plugin like any other: it registers ``EVENTBRITE_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.eventbrite.api`` (exact resume inside a continuation-paged event and the
restart on an expired token need a small Python component); it runs in-process on ``airbyte-cdk``
through ``hub.sources.api_source``. Docs: ``docs/connectors/eventbrite.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.cdk_runner import api_connector

__all__ = ["EVENTBRITE_SOURCE", "register_sources"]

EVENTBRITE_SOURCE = api_connector(
    "eventbrite",
    "Eventbrite event attendees (profile, ticket, check-in, answers to custom questions)",
    Path(__file__).with_name("spec.json"),
    "connectors.eventbrite.api:EventbriteApi",
)


@hookimpl
def register_sources(register):
    """Register the Eventbrite attendees source."""
    register(EVENTBRITE_SOURCE)
