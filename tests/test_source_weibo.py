"""Weibo: a clearly named stub that stays out of the registry (docs/connectors/weibo.md says why)."""

from __future__ import annotations

import pytest

from connectors import weibo
from hub import plugins
from hub.connectors import SourceConnector
from hub.errors import ConnectorError
from hub.protocol import StreamSelection


def test_the_stub_is_not_registered():
    assert "connectors.weibo" not in plugins.DEFAULT_PLUGINS
    assert not hasattr(weibo, "register_sources")
    assert "weibo" not in plugins.registry().names("source")
    with pytest.raises(ConnectorError, match="unknown source 'weibo'"):
        plugins.source("weibo")


def test_the_stub_says_why_instead_of_pretending():
    stub = weibo.WEIBO_FOLLOWERS_STUB
    assert isinstance(stub, SourceConnector)
    result = stub.check({})
    assert not result.ok and "docs/connectors/weibo.md" in result.message and "\n" not in result.message
    with pytest.raises(ConnectorError, match="commercial API"):
        stub.discover({})
    with pytest.raises(ConnectorError, match="commercial API"):
        list(stub.read({}, [StreamSelection("followers")], {}))
