"""The Typeform source: responses to the configured forms, from the Responses API.

A plugin like any other: it registers ``TYPEFORM_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.typeform_api.api`` (token-cursor paging and exact resume need a small Python
component); it runs in-process on ``airbyte-cdk`` through ``hub.sources.api_source``. Webhook
deliveries of the same forms arrive through ``custhub serve`` and the inbox source instead.
Docs: ``docs/connectors/typeform.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["SPEC", "TYPEFORM_SOURCE", "register_sources"]

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("spec.json").read_text("utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.typeform_api.api import TypeformApi
    from hub.sources.api_source import ApiSource

    return ApiSource(SPEC, TypeformApi, config, label="typeform source config")


TYPEFORM_SOURCE = CdkSourceConnector(
    name="typeform",
    description="Typeform form responses (Responses API; incremental by submitted_at, answers by field ref)",
    spec=SPEC,
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the Typeform responses source."""
    register(TYPEFORM_SOURCE)
