"""The 纷享销客 FxiaoKe source: CRM contacts and accounts, incremental by ``last_modified_time``.

A plugin like any other: it registers ``FXIAOKE_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.fxiaoke.api`` plus ``connectors.fxiaoke.token`` (a small Python component:
the token goes in the JSON body, errors come as ``errorCode`` inside HTTP 200 and deep paging
needs keyset filters, none of which a declarative manifest can say); it runs in-process on
``airbyte-cdk`` through ``hub.sources.api_source``. Docs: ``docs/connectors/fxiaoke.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["FXIAOKE_SOURCE", "SPEC", "register_sources"]

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("spec.json").read_text("utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.fxiaoke.api import FxiaokeApi
    from hub.sources.api_source import ApiSource

    return ApiSource(SPEC, FxiaokeApi, config, label="fxiaoke source config")


FXIAOKE_SOURCE = CdkSourceConnector(
    name="fxiaoke",
    description="纷享销客 FxiaoKe CRM contacts and accounts (corpAccessToken; incremental by last_modified_time)",
    spec=SPEC,
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the FxiaoKe source."""
    register(FXIAOKE_SOURCE)
