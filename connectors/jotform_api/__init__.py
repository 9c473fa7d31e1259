"""The Jotform source: submissions to the configured forms, from the submissions API.

A plugin like any other: it registers ``JOTFORM_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.jotform_api.api`` (the ``limit-left`` daily budget and exact resume need a small
Python component); it runs in-process on ``airbyte-cdk`` through ``hub.sources.api_source``. Webhook
deliveries of the same forms arrive through ``custhub serve`` and the inbox source instead.
Docs: ``docs/connectors/jotform.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["SPEC", "JOTFORM_SOURCE", "register_sources"]

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("spec.json").read_text("utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.jotform_api.api import JotformApi
    from hub.sources.api_source import ApiSource

    return ApiSource(SPEC, JotformApi, config, label="jotform source config")


JOTFORM_SOURCE = CdkSourceConnector(
    name="jotform",
    description="Jotform form submissions (submissions API; incremental by created_at, daily limit-left budget)",
    spec=SPEC,
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the Jotform submissions source."""
    register(JOTFORM_SOURCE)
