"""Weibo followers: a stub, deliberately NOT registered as a source (not in ``DEFAULT_PLUGINS``).

Weibo's open API gives a third-party app almost nothing about an account's followers (details and
sources in ``docs/connectors/weibo.md``):

* ``2/friendships/followers.json`` answers only for the user who authorised the app, and at most
  30% of their followers, capped at a few hundred; the sibling relationship APIs return only users
  who authorised the same app themselves.
* The full follower lists (``c.api.weibo.com/2/friendships/followers/biz.json``,
  ``.../followers/all/ids.json``) are commercial APIs ("商业接口") that need a business contract
  with Weibo, and even they give ids, screen names and coarse demographics: no e-mail or phone.
* There is no API for lead forms.

A connector that read the open API would import a small, arbitrary sample of followers with no
contact data, so none ships. This module keeps the name taken and says why when someone wires it
up by hand; a company holding a commercial-API contract can build a real source on
``hub.sources.api_source`` over the ``biz`` endpoint (cursor ``max_time`` + ``cursor_uid``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hub.errors import ConnectorError
from hub.protocol import CheckResult, Message, StreamInfo, StreamSelection

__all__ = ["WEIBO_FOLLOWERS_STUB", "WeiboFollowersStub"]

REASON = ("the Weibo open API does not give third-party apps an account's followers (at most 30% of the "
          "authorising user's own, capped, without contact data; full lists need Weibo's commercial API): "
          "see docs/connectors/weibo.md")


class WeiboFollowersStub:
    """Stands for a Weibo followers source that cannot be built on the open API; every operation says why."""

    name = "weibo"
    description = "Weibo followers: NOT AVAILABLE (stub; see docs/connectors/weibo.md)"

    def spec(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "properties": {}}

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        return CheckResult(False, REASON)

    def discover(self, config: Mapping[str, Any]) -> list[StreamInfo]:
        raise ConnectorError(REASON)

    def read(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
             state: Mapping[str, dict[str, Any]]) -> Iterator[Message]:
        raise ConnectorError(REASON)


WEIBO_FOLLOWERS_STUB = WeiboFollowersStub()
