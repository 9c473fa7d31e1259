"""The file source: customer lists from CSV/TSV, JSON Lines and Excel files, one stream per file.

A plugin like any other: it registers ``FILE_SOURCE`` through ``register_sources``. The source is
built on ``airbyte-cdk`` (``connectors.file.source``), which is imported only when a source is
used, so loading the plugin stays fast. Config: ``spec.json``; behaviour: ``connectors.file.source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.file.estimate import estimated_rows
from connectors.file.settings import spec
from hub import hookimpl
from hub.sources.cdk_runner import CdkSourceConnector

__all__ = ["FILE_SOURCE", "register_sources"]


def _make_source(config: Mapping[str, Any], catalog: Any, state: list[Any]) -> Any:
    from connectors.file.source import FileSource

    return FileSource(config, catalog, state)


FILE_SOURCE = CdkSourceConnector(
    name="file",
    description="CSV, TSV, JSON Lines and Excel (.xlsx) files; UTF-8 or GB18030, incremental by file change",
    spec=spec(),
    make_source=_make_source,
    estimate=estimated_rows,
)


@hookimpl
def register_sources(register):
    """Register the file source."""
    register(FILE_SOURCE)
