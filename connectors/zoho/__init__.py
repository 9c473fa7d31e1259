"""The Zoho CRM source: Leads and Contacts, incremental by ``Modified_Time``.

A plugin like any other: it registers ``ZOHO_SOURCE`` through ``register_sources``. The HTTP side
is ``connectors.zoho.api`` (a small Python component: Zoho's token endpoint answers errors with
HTTP 200, which a declarative manifest cannot tell from success); it runs in-process on
``airbyte-cdk`` through ``hub.sources.api_source``. Docs: ``docs/connectors/zoho.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["SPEC", "ZOHO_SOURCE", "register_sources"]

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("spec.json").read_text("utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.zoho.api import ZohoApi
    from hub.sources.api_source import ApiSource

    return ApiSource(SPEC, ZohoApi, config, label="zoho source config")


ZOHO_SOURCE = CdkSourceConnector(
    name="zoho",
    description="Zoho CRM Leads and Contacts (OAuth refresh token; incremental by Modified_Time)",
    spec=SPEC,
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the Zoho CRM source."""
    register(ZOHO_SOURCE)
