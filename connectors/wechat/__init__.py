"""The WeChat Official Account source: the account's followers (openid, unionid, subscribe time, tags).

A plugin like any other: it registers ``WECHAT_SOURCE`` through ``register_sources``. The HTTP side
is ``connectors.wechat.api`` (errors arrive as errcodes inside HTTP 200 bodies and the token must be
shared process-wide, which a declarative manifest cannot express); it runs in-process on
``airbyte-cdk`` through ``hub.sources.api_source``. Docs: ``docs/connectors/wechat.md``.
"""

from __future__ import annotations

from pathlib import Path

from hub import hookimpl
from hub.sources.cdk_runner import api_connector

__all__ = ["WECHAT_SOURCE", "register_sources"]

WECHAT_SOURCE = api_connector(
    "wechat",
    "WeChat Official Account followers (openid, unionid, subscribe time, tags, remark)",
    Path(__file__).with_name("spec.json"),
    "connectors.wechat.api:WeChatApi",
)


@hookimpl
def register_sources(register):
    """Register the WeChat followers source."""
    register(WECHAT_SOURCE)
