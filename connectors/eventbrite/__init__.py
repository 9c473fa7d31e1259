"""The Eventbrite source: attendees of the configured events, with check-in status and answers.

A plugin like any other: it registers ``EVENTBRITE_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.eventbrite.api`` (exact resume inside a continuation-paged event and the
restart on an expired token need a small Python component); it runs in-process on ``airbyte-cdk``
through ``hub.sources.api_source``. Docs: ``docs/connectors/eventbrite.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["SPEC", "EVENTBRITE_SOURCE", "register_sources"]

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("spec.json").read_text("utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.eventbrite.api import EventbriteApi
    from hub.sources.api_source import ApiSource

    return ApiSource(SPEC, EventbriteApi, config, label="eventbrite source config")


EVENTBRITE_SOURCE = CdkSourceConnector(
    name="eventbrite",
    description="Eventbrite event attendees (profile, ticket, check-in, answers to custom questions)",
    spec=SPEC,
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the Eventbrite attendees source."""
    register(EVENTBRITE_SOURCE)
