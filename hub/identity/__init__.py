"""Identity resolution: stored source records -> golden profiles.

    from hub.identity import resolve_identities
    summary = resolve_identities(store, config.identity)          # new and changed records
    summary = resolve_identities(store, config.identity, full=True)

Modules, one job each: ``settings`` (config), ``keys`` (normalised match keys and ``key_digest``,
the one function every stored key goes through), ``features`` (what a record offers for matching),
``compare`` (field comparison levels), ``model`` (Fellegi-Sunter weights by EM), ``linker``
(blocking, identifier links, scoring), ``graph`` (clustering with guards), ``assign`` (stable
profile ids), ``golden`` (survivorship), ``storage`` (tables I/O), ``resolver`` (full and
incremental runs), ``review`` (review queue and decisions), ``explain`` (profile show, unmerge),
``export`` (links and profiles), ``seed`` (store canonical records directly), ``parallel`` (features
and golden profiles of a large run on worker processes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.identity.keys import key_digest
    from hub.identity.resolver import ResolveSummary, resolve_identities
    from hub.identity.settings import IdentitySettings, KeyRule

__all__ = ["IdentitySettings", "KeyRule", "ResolveSummary", "key_digest", "resolve_identities"]
_WHERE = {"IdentitySettings": "settings", "KeyRule": "settings", "ResolveSummary": "resolver",
          "resolve_identities": "resolver", "key_digest": "keys"}


def __getattr__(name: str) -> Any:  # imported lazily: the CLI should not load numpy to print --help
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"hub.identity.{_WHERE[name]}"), name)
    raise AttributeError(name)
