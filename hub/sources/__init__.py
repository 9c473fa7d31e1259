"""Running sources: in-process ``airbyte-cdk`` sources and published Airbyte sources as subprocesses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub import plugins

if TYPE_CHECKING:
    from hub.config import Connection
    from hub.connectors import SourceConnector


def source_for(connection: Connection) -> SourceConnector:
    """The source connector of ``connection``, with its install settings applied where it has any."""
    connector = plugins.source(connection.source)
    if connection.install and hasattr(connector, "configured"):
        connector = connector.configured(connection.install)
    return connector
