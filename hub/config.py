"""Load, check and resolve the custhub YAML configuration.

The file is validated against ``config/custhub.schema.json`` with secrets masked, then each
connection's ``config`` against its connector's spec. Secrets (``{"$env": NAME}`` or
``{"$file": PATH}``) stay unresolved until a connection is used, so ``custhub check`` can say which
connections lack credentials without failing the whole file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hub import paths, plugins, validation
from hub.errors import ConfigError, ConnectorError
from hub.identity.settings import IdentitySettings, parse_identity
from hub.privacy.settings import PrivacySettings, parse_privacy
from hub.protocol import StreamSelection
from hub.quality.settings import QualitySettings, parse_quality
from hub.segments.settings import SegmentSettings, parse_segments


def default_workers() -> int:
    """Processes that map and clean large reads: one per core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))

DEFAULT_CONFIG_NAME = "custhub.yaml"
MASK = "********"


@dataclass(frozen=True)
class SecretRef:
    """A reference to a secret held outside the config file."""

    kind: str  # "$env" or "$file"
    target: str
    path: str  # where it sits in the config, for error messages


@dataclass(frozen=True)
class StreamConfig:
    name: str
    mapping: str
    sync_mode: str = "incremental"
    cursor_field: tuple[str, ...] = ()
    primary_key: tuple[tuple[str, ...], ...] = ()

    def selection(self) -> StreamSelection:
        return StreamSelection(self.name, self.sync_mode, self.cursor_field, self.primary_key)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Connection:
    name: str
    source: str
    streams: dict[str, StreamConfig]
    config: dict[str, Any] = field(default_factory=dict)
    install: dict[str, str] = field(default_factory=dict)
    schedule: dict[str, Any] | None = None
    enabled: bool = True
    description: str = ""


@dataclass(frozen=True)
class Destination:
    name: str
    connector: str
    config: dict[str, Any] = field(default_factory=dict)
    mapping: str | None = None
    mode: str = "upsert"
    purpose: str | None = None
    after: tuple[str, ...] = ()
    schedule: dict[str, Any] | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Config:
    file: Path
    store_url: str
    default_region: str
    batch_size: int
    workers: int
    mappings_dirs: tuple[Path, ...]
    connections: dict[str, Connection]
    destinations: dict[str, Destination]
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    # SHA-256 of each top-level section as loaded (canonical JSON): what config-change auditing compares.
    section_digests: dict[str, str] = field(default_factory=dict)
    console: dict[str, Any] = field(default_factory=dict)  # raw section, parsed by hub.console.settings
    quality: QualitySettings = field(default_factory=QualitySettings)
    segments: SegmentSettings = field(default_factory=SegmentSettings)

    @property
    def base_dir(self) -> Path:
        return self.file.parent

    def connection(self, name: str) -> Connection:
        if name not in self.connections:
            hint = validation.did_you_mean(name, self.connections) or (
                "known: " + ", ".join(sorted(self.connections)))
            raise ConfigError(f"no connection named '{name}'", file=str(self.file), fix=hint)
        return self.connections[name]

    def resolve(self, value: Any) -> Any:
        """``value`` with every secret reference replaced by the secret itself."""
        return resolve_secrets(value, base_dir=self.base_dir, file=str(self.file))


@cache
def config_schema() -> dict[str, Any]:
    return json.loads((paths.bundled_dir("config") / "custhub.schema.json").read_text("utf-8"))


def find_config(explicit: str | Path | None = None) -> Path:
    """``--config`` if given, else ``./custhub.yaml``, else the bundled example."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("config file not found", file=str(path),
                              fix="check the path, or run `custhub init` to write one")
        return path
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.is_file() else paths.example_config()


def load_config(explicit: str | Path | None = None) -> Config:
    path = find_config(explicit)
    raw = read_yaml(path)
    return parse_config(raw, path)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text", file=str(path), fix="save the file as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem}", file=str(path), path=where,
                          fix="check indentation and quoting") from None


def _privacy(raw: Any, path: Path) -> PrivacySettings:
    settings = parse_privacy(raw)
    if path.resolve() == paths.example_config().resolve():
        # The bundled example keeps its store in the working directory: its generated KEK goes there
        # too, never into the installed package.
        settings = dataclasses.replace(settings, auto_kek_dir=str(Path.cwd()))
    return settings


def parse_config(raw: Any, path: Path) -> Config:
    file = str(path)
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", file=file, path="(top level)",
                          fix="start from `custhub init`")
    validation.check(raw, config_schema(), file=file)  # secret references are allowed where declared
    masked = mask_secrets(raw)  # a connector's spec sees a mask where a secret will go
    store_url = os.environ.get("CUSTHUB_STORE_URL") or raw["store"]["url"]
    if isinstance(store_url, dict):
        store_url = resolve_secrets(store_url, base_dir=path.parent, file=file, where="store.url")
    dirs = [(path.parent / d).resolve() for d in raw.get("mappings_dirs", [])]
    connections = {name: _connection(name, body, masked["connections"][name], file)
                   for name, body in raw["connections"].items()}
    destinations = {name: _destination(name, body) for name, body in (raw.get("destinations") or {}).items()}
    _check_destination_order(destinations, connections, file)
    config = Config(
        file=path.resolve(), store_url=store_url,
        default_region=(raw.get("cleaning") or {}).get("default_region", "CN"),
        batch_size=(raw.get("ingest") or {}).get("batch_size", 2000),
        workers=(raw.get("ingest") or {}).get("workers") or default_workers(),
        mappings_dirs=(*dirs, paths.bundled_dir("mappings")),
        connections=connections, destinations=destinations,
        identity=parse_identity(raw.get("identity"), file=file),
        privacy=_privacy(raw.get("privacy"), path),
        section_digests=section_digests(raw), console=raw.get("console") or {},
        quality=parse_quality(raw.get("quality"), file=file, connections=connections),
        segments=parse_segments(raw.get("segments"), file=file))
    _check_mappings(config)
    return config


def section_digests(raw: dict[str, Any]) -> dict[str, str]:
    """A digest of each top-level section (secret references included, never secret values)."""
    return {name: hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode())
            .hexdigest() for name, body in raw.items()}


def _connection(name: str, body: dict[str, Any], masked: dict[str, Any], file: str) -> Connection:
    where = f"connections.{name}"
    try:
        connector = plugins.source(body["source"])
    except ConnectorError:
        known = plugins.registry().names("source")
        fix = validation.did_you_mean(body["source"], known) or (
            "known sources: " + ", ".join(known) + "; published Airbyte sources as airbyte:<package>")
        raise ConfigError(f"unknown source '{body['source']}'", file=file, path=f"{where}.source",
                          fix=fix) from None
    spec = connector.spec() if getattr(connector, "spec_is_static", True) else {}
    if spec:
        validation.check(masked.get("config", {}), spec, file=file, prefix=(*where.split("."), "config"))
    streams = {
        stream: StreamConfig(
            name=stream, mapping=s["mapping"], sync_mode=s.get("sync_mode", "incremental"),
            cursor_field=tuple(s.get("cursor_field", ())),
            primary_key=tuple(tuple(k) for k in s.get("primary_key", ())))
        for stream, s in body["streams"].items()}
    return Connection(name=name, source=body["source"], streams=streams, config=body.get("config", {}),
                      install=body.get("install", {}), schedule=body.get("schedule"),
                      enabled=body.get("enabled", True), description=body.get("description", ""))


def _destination(name: str, body: dict[str, Any]) -> Destination:
    return Destination(name=name, connector=body["connector"], config=body.get("config", {}),
                       mapping=body.get("mapping"), mode=body.get("mode", "upsert"),
                       purpose=body.get("purpose"), after=tuple(body.get("after", ())),
                       schedule=body.get("schedule"), enabled=body.get("enabled", True))


def _check_destination_order(destinations: dict[str, Destination], connections: dict[str, Connection],
                             file: str) -> None:
    for dest in destinations.values():
        for i, upstream in enumerate(dest.after):
            if upstream not in connections:
                raise ConfigError(f"unknown connection '{upstream}'", file=file,
                                  path=f"destinations.{dest.name}.after[{i}]",
                                  fix=validation.did_you_mean(upstream, connections) or "name a connection")


def _check_mappings(config: Config) -> None:
    from hub.mapping import find_mapping, load_mapping

    for conn in config.connections.values():
        for stream in conn.streams.values():
            where = f"connections.{conn.name}.streams.{stream.name}.mapping"
            mapping_file = find_mapping(stream.mapping, config.mappings_dirs)
            if mapping_file is None:
                raise ConfigError(f"mapping '{stream.mapping}' not found", file=str(config.file), path=where,
                                  fix="add mappings/" + stream.mapping + ".yaml or fix the name")
            load_mapping(mapping_file)


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret reference replaced by a mask string."""
    if isinstance(value, dict):
        if _is_secret(value):
            return MASK
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def secret_refs(value: Any, where: str = "") -> list[SecretRef]:
    """Every secret reference in ``value`` with its config path."""
    if isinstance(value, dict):
        if _is_secret(value):
            kind, target = next(iter(value.items()))
            return [SecretRef(kind, target, where)]
        return [r for k, v in value.items() for r in secret_refs(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in secret_refs(v, f"{where}[{i}]")]
    return []


def resolve_secrets(value: Any, *, base_dir: Path, file: str, where: str = "") -> Any:
    if isinstance(value, dict):
        if _is_secret(value):
            return _read_secret(value, base_dir=base_dir, file=file, where=where)
        return {k: resolve_secrets(v, base_dir=base_dir, file=file, where=f"{where}.{k}" if where else k)
                for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, base_dir=base_dir, file=file, where=f"{where}[{i}]")
                for i, v in enumerate(value)]
    return value


def missing_secrets(value: Any, *, base_dir: Path) -> list[SecretRef]:
    """The secret references in ``value`` that cannot be resolved now."""
    missing = []
    for ref in secret_refs(value):
        if ref.kind == "$env" and not os.environ.get(ref.target):
            missing.append(ref)
        elif ref.kind == "$file" and not (base_dir / ref.target).is_file():
            missing.append(ref)
    return missing


def _is_secret(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in ("$env", "$file")


def _read_secret(ref: dict[str, str], *, base_dir: Path, file: str, where: str) -> str:
    kind, target = next(iter(ref.items()))
    if kind == "$env":
        secret = os.environ.get(target)
        if not secret:
            raise ConfigError(f"environment variable {target} is not set", file=file, path=where,
                              fix=f"export {target}=... before running custhub")
        return secret
    secret_path = base_dir / target
    try:
        return secret_path.read_text("utf-8").strip()
    except OSError:
        raise ConfigError(f"secret file {target} cannot be read", file=file, path=where,
                          fix="create the file or fix the path (relative to the config file)") from None
