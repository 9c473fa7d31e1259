"""The one plugin manager of custhub and the typed facade over its hooks.

In-tree plugins are listed in ``DEFAULT_PLUGINS`` and registered explicitly; third-party plugins
load lazily from the ``custhub`` entry-point group (never inside the test suite, and not when
``CUSTHUB_LOAD_PLUGINS=0``). Nothing outside this module calls ``pm.hook`` directly.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from hub import hookspecs
from hub.errors import ConnectorError

DEFAULT_PLUGINS: tuple[str, ...] = (
    "hub.mapping.builtin_transforms",
    "connectors.file",
    "connectors.airbyte",
    "connectors.wechat",
    "connectors.eventbrite",
    "connectors.typeform_api",
    "connectors.jotform_api",
    "connectors.inbox",
    "connectors.destinations",
    "connectors.zoho",
    "connectors.hubspot",
    "connectors.fxiaoke",
)

pm = pluggy.PluginManager(hookspecs.NAME)
pm.add_hookspecs(hookspecs)
_loaded = False


def load_plugins() -> None:
    """Register the in-tree plugins and, outside tests, the entry-point plugins. Idempotent."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        if pm.get_plugin(module_name) is None:
            pm.register(importlib.import_module(module_name), name=module_name)
    if not hasattr(sys, "_called_from_test") and os.environ.get("CUSTHUB_LOAD_PLUGINS", "1") != "0":
        pm.load_setuptools_entrypoints(hookspecs.NAME)
    pm.check_pending()


@dataclass(frozen=True)
class Registration:
    """Something a plugin registered, and where it came from."""

    kind: str
    name: str
    obj: Any
    plugin: str
    origin: str


@dataclass
class Registry:
    """Everything the loaded plugins registered, keyed by kind and name."""

    entries: dict[str, dict[str, Registration]] = field(default_factory=dict)

    def add(self, kind: str, name: str, obj: Any, plugin: str) -> None:
        table = self.entries.setdefault(kind, {})
        if name in table:
            raise ConnectorError(
                f"{kind} '{name}' is registered twice: by plugin '{table[name].plugin}' and by '{plugin}' "
                "(uninstall or block one of them)")
        table[name] = Registration(kind, name, obj, plugin, _origin_of(plugin))

    def get(self, kind: str, name: str) -> Any:
        table = self.entries.get(kind, {})
        if name in table:
            return table[name].obj
        family = name.split(":", 1)[0] + ":*" if ":" in name else None
        if family and family in table:
            return table[family].obj.for_name(name)
        known = ", ".join(sorted(table)) or "none"
        raise ConnectorError(f"unknown {kind} '{name}' (known: {known}; `custhub plugins` lists them)")

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries.get(kind, {}))

    def all(self) -> list[Registration]:
        return [reg for table in self.entries.values() for reg in table.values()]


def _origin_of(plugin_name: str) -> str:
    plugin = pm.get_plugin(plugin_name)
    for plugin_obj, dist in pm.list_plugin_distinfo():
        if plugin_obj is plugin:
            return f"{dist.project_name} {dist.version} (entry point)"
    module_file = getattr(plugin, "__file__", None)
    return f"built-in ({module_file})" if module_file else "built-in"


def _collect(hook_name: str, kind: str, registry: Registry) -> None:
    """Call one ``register_*`` hook plugin by plugin, so each registration is attributed."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
        if kind == "transform":
            def register(name: str, function: Callable[..., Any], params_schema: dict | None = None,
                         _plugin: str = plugin_name) -> None:
                registry.add(kind, name, (function, params_schema or {}), _plugin)
        else:
            def register(connector: Any, _plugin: str = plugin_name) -> None:
                registry.add(kind, connector.name, connector, _plugin)
        impl.function(**{arg: register for arg in impl.argnames})


_registry: Registry | None = None


def registry() -> Registry:
    """The registry of every connector and transform, built once from the loaded plugins."""
    global _registry
    if _registry is None:
        load_plugins()
        built = Registry()
        _collect("register_sources", "source", built)
        _collect("register_destinations", "destination", built)
        _collect("register_transforms", "transform", built)
        _registry = built
    return _registry


def reset_registry() -> None:
    """Forget the built registry, e.g. after a test registered or unregistered a plugin."""
    global _registry
    _registry = None


def source(name: str) -> Any:
    """The source connector registered as ``name`` (``airbyte:<package>`` for published sources)."""
    return registry().get("source", name)


def destination(name: str) -> Any:
    return registry().get("destination", name)


def transforms() -> dict[str, Any]:
    """Registered mapping transforms: name -> (function, params_schema)."""
    return {name: reg.obj for name, reg in registry().entries.get("transform", {}).items()}

