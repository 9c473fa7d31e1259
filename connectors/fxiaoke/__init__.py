"""The 纷享销客 FxiaoKe source: CRM contacts and accounts, incremental by ``last_modified_time``.

A plugin like any other: it registers ``FXIAOKE_SOURCE`` through ``register_sources``. The HTTP
side is ``connectors.fxiaoke.api`` plus ``connectors.fxiaoke.token`` (a small Python component:
the token goes in the JSON body, errors come as ``errorCode`` inside HTTP 200 and deep paging
needs keyset filters, none of which a declarative manifest can say); it runs in-process on
``airbyte-cdk`` through ``hub.sources.api_source``. Docs: ``docs/connectors/fxiaoke.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.cdk_runner import api_connector

__all__ = ["FXIAOKE_SOURCE", "register_sources"]

FXIAOKE_SOURCE = api_connector(
    "fxiaoke",
    "纷享销客 FxiaoKe CRM contacts and accounts (corpAccessToken; incremental by last_modified_time)",
    Path(__file__).with_name("spec.json"),
    "connectors.fxiaoke.api:FxiaokeApi",
)


@hookimpl
def register_sources(register):
    """Register the FxiaoKe source."""
    register(FXIAOKE_SOURCE)
