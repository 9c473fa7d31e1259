"""Helpers shared by the sync tests: configs with destinations, a recording destination plugin."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from hub import hookimpl, plugins
from hub.config import Config, parse_config
from hub.store import Store
from hub.sync.destination import OutRow, RowResult

OUTMAP = {"name": "out_test", "key": "custhub_id", "fields": {
    "name": {"from": ["person.name.full"], "on_missing": "clear"},
    "email": "person.emails[0].address",
    "phone": "person.phones[0].number"},
    "on_withdrawal": {"opt_out": True}}


def make_config(tmp_path: Path, store_url: str, destinations: dict[str, Any],
                outmap: dict[str, Any] | None = None, connections: dict[str, Any] | None = None,
                privacy: dict[str, Any] | None = None) -> Config:
    out = tmp_path / "maps" / "outbound"
    out.mkdir(parents=True, exist_ok=True)
    mapping = outmap or OUTMAP
    (out / f"{mapping['name']}.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True), "utf-8")
    raw = {"version": 1, "store": {"url": store_url}, "mappings_dirs": ["maps"],
           "connections": connections or {}, "destinations": destinations}
    if privacy:
        raw["privacy"] = privacy
    path = tmp_path / "custhub.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return parse_config(raw, path)


class Recorder:
    """A destination that records every batch; ``reject`` maps profile id -> error code."""

    name = "recorder"
    description = "records batches (tests)"

    def __init__(self) -> None:
        self.batches: list[list[OutRow]] = []
        self.reject: dict[str, str] = {}
        self.held: dict[str, dict[str, Any]] = {}
        self.batch_size = 50

    def spec(self) -> dict[str, Any]:
        return {"type": "object"}

    def open(self, config: Any, *, key_field: str) -> Recorder:
        self.batch_size = int(config.get("batch_size", 50))
        return self

    def write(self, rows: list[OutRow]) -> list[RowResult]:
        self.batches.append(list(rows))
        out = []
        for row in rows:
            if row.profile_id in self.reject:
                out.append(RowResult.rejected(self.reject[row.profile_id], "MANDATORY_NOT_FOUND on field name"))
            elif row.op == "delete":
                self.held.pop(row.profile_id, None)
                out.append(RowResult.ok(row.external_id))
            else:
                self.held[row.profile_id] = {**self.held.get(row.profile_id, {}), **row.payload}
                out.append(RowResult.ok("ext-" + row.profile_id))
        return out

    def close(self) -> None:
        pass

    @property
    def rows(self) -> list[OutRow]:
        return [r for b in self.batches for r in b]


@contextmanager
def registered(*destinations: Any):
    """Register test destinations as a plugin; unregistered in ``finally``."""

    class Plugin:
        @staticmethod
        @hookimpl
        def register_destinations(register):
            for d in destinations:
                register(d)

    plugins.load_plugins()
    plugin = Plugin()
    plugins.pm.register(plugin, name="test-destinations")
    plugins.reset_registry()
    try:
        yield
    finally:
        plugins.pm.unregister(plugin)
        plugins.reset_registry()


def open_store(url: str) -> Store:
    return Store.open(url)
