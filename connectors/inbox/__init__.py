"""The inbox source: form webhooks received by ``custhub serve``, read back from the store's inbox.

A plugin like any other: it registers ``INBOX_SOURCE`` through ``register_sources``. Streams are
``<provider>.<form>`` (``typeform.spring_survey``, ``facebook.lead_ads`` ...); the state of a
stream is the id of the last inbox event committed, so ``custhub run`` stores each event once.
Built on ``airbyte-cdk`` (``connectors.inbox.source``), imported only when the source is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["INBOX_SOURCE", "register_sources"]


@cache
def spec() -> dict[str, Any]:
    return json.loads(Path(__file__).with_name("spec.json").read_text(encoding="utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.inbox.source import InboxSource

    return InboxSource(config, catalog, state)


INBOX_SOURCE = CdkSourceConnector(
    name="inbox",
    description="Form webhooks received by `custhub serve` (Typeform, Facebook Lead Ads, Jotform, generic, WeChat)",
    spec=spec(),
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the inbox source."""
    register(INBOX_SOURCE)
