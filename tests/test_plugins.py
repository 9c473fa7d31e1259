"""The plugin manager, registration, attribution and hook documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub import hookimpl, plugins
from hub.errors import ConnectorError

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


class FakeSource:
    name = "test-fake"
    description = "a source registered by a test"

    def spec(self):
        return {}


class DuplicateFile(FakeSource):
    name = "file"


def test_every_hook_is_documented():
    text = DOCS.read_text("utf-8")
    hooks = [name for name in dir(plugins.pm.hook) if name.startswith("register_")]
    assert hooks
    for name in hooks:
        assert re.search(rf"^### {name}\(register\)$", text, re.M), f"{name} is not documented in {DOCS}"


def test_in_tree_plugins_register_like_third_party_ones():
    registry = plugins.registry()
    assert "file" in registry.names("source")
    assert "airbyte:*" in registry.names("source")
    origin = registry.entries["source"]["file"].origin
    assert origin.startswith("built-in (") and "connectors" in origin


def test_third_party_plugin_registers_and_is_attributed():
    class Plugin:
        @hookimpl
        def register_sources(self, register):
            register(FakeSource())

    plugins.pm.register(Plugin(), name="test-plugin")
    plugins.reset_registry()
    try:
        assert plugins.source("test-fake").description == "a source registered by a test"
        assert plugins.registry().entries["source"]["test-fake"].plugin == "test-plugin"
    finally:
        plugins.pm.unregister(name="test-plugin")
        plugins.reset_registry()


def test_duplicate_names_are_refused_naming_both_plugins():
    class Plugin:
        @hookimpl
        def register_sources(self, register):
            register(DuplicateFile())

    plugins.pm.register(Plugin(), name="test-dup")
    plugins.reset_registry()
    try:
        with pytest.raises(ConnectorError, match="source 'file' is registered twice: by plugin .* and by"):
            plugins.registry()
    finally:
        plugins.pm.unregister(name="test-dup")
        plugins.reset_registry()


def test_unknown_source_lists_known_ones():
    with pytest.raises(ConnectorError, match=r"unknown source 'nope' \(known: .*file"):
        plugins.source("nope")


def test_misspelt_hookimpl_fails_loudly():
    class Plugin:
        @hookimpl
        def register_sourcez(self, register):
            pass

    plugins.pm.register(Plugin(), name="test-typo")
    try:
        with pytest.raises(Exception, match="unknown hook 'register_sourcez'"):
            plugins.pm.check_pending()
    finally:
        plugins.pm.unregister(name="test-typo")
