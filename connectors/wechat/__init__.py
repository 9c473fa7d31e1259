"""The WeChat Official Account source: the account's followers (openid, unionid, subscribe time, tags).

A plugin like any other: it registers ``WECHAT_SOURCE`` through ``register_sources``. The HTTP side
is ``connectors.wechat.api`` (errors arrive as errcodes inside HTTP 200 bodies and the token must be
shared process-wide, which a declarative manifest cannot express); it runs in-process on
``airbyte-cdk`` through ``hub.sources.api_source``. Docs: ``docs/connectors/wechat.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["SPEC", "WECHAT_SOURCE", "register_sources"]

SPEC: dict[str, Any] = json.loads(Path(__file__).with_name("spec.json").read_text("utf-8"))


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.wechat.api import WeChatApi
    from hub.sources.api_source import ApiSource

    return ApiSource(SPEC, WeChatApi, config, label="wechat source config")


WECHAT_SOURCE = CdkSourceConnector(
    name="wechat",
    description="WeChat Official Account followers (openid, unionid, subscribe time, tags, remark)",
    spec=SPEC,
    make_source=_make_source,
)


@hookimpl
def register_sources(register):
    """Register the WeChat followers source."""
    register(WECHAT_SOURCE)
