"""Hook specifications of custhub. Every hook receives a ``register`` callback owned by the core."""

import pluggy

NAME = "custhub"
hookspec = pluggy.HookspecMarker(NAME)
hookimpl = pluggy.HookimplMarker(NAME)


@hookspec
def register_sources(register):
    """Register source connectors: call ``register(connector)`` with a ``hub.connectors.SourceConnector``."""


@hookspec
def register_destinations(register):
    """Register destination connectors: call ``register(connector)`` with a destination object."""


@hookspec
def register_transforms(register):
    """Register mapping transforms: call ``register(name, function, params_schema)``."""
