"""Compiled speed-ups: the per-record modules of ingest, built with mypyc when custhub is installed.

``NATIVE_MODULES`` are compiled to C extensions by ``build_native.py`` (the build hook), which also
writes ``hub/_native.json``: the list, the Python it was built for, and the SHA-256 of every source
of ``hub`` and ``connectors`` as compiled (compiled code relies on the types of what it imports,
too). An extension module takes precedence over its ``.py`` file, so a source edited after the
build would otherwise be silently ignored. ``install()`` (run by ``import hub``, before any of these
modules loads) compares; unless the build is fresh (or when ``CUSTHUB_PURE_PYTHON`` is set), every
module that is or was on the list loads from its source instead (all of them: compiled modules call
each other directly), and a stale build is reported once. Compiled and source modules give the same results
(tests/test_native.py); the compiled ones are faster (docs/performance.md).

This module imports nothing outside the standard library: the build hook loads it by path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

NATIVE_MODULES: tuple[str, ...] = (
    "connectors.file.formats",
    "connectors.file.keyed",
    "hub.cleaning.emails",
    "hub.cleaning.fields",
    "hub.cleaning.names",
    "hub.cleaning.phones",
    "hub.cleaning.record",
    "hub.cleaning.scripts",
    "hub.cleaning.text",
    "hub.ingest.processor",
    "hub.mapping.engine",
    "hub.mapping.names",
)
PACKAGES = ("hub", "connectors")
MANIFEST = "_native.json"
PURE_ENV = "CUSTHUB_PURE_PYTHON"
ROOT = Path(__file__).resolve().parent.parent  # the folder holding the hub package

log = logging.getLogger("custhub")


@dataclass(frozen=True)
class NativeStatus:
    compiled: bool  # the compiled modules are the ones in use
    reason: str  # why not, or what is in use

    def __str__(self) -> str:
        return self.reason


def source_path(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes(root: Path = ROOT) -> dict[str, str]:
    """SHA-256 of every source of the two packages, by relative path (~10 ms). All of them, not only
    the compiled ones: compiled code also relies on the types of the modules it imports."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for package in PACKAGES for path in sorted((root / package).rglob("*.py"))}


def manifest_for(root: Path = ROOT) -> dict[str, Any]:
    """What the build hook records, from the sources as they are before compiling."""
    return {"modules": list(NATIVE_MODULES), "python": sys.implementation.cache_tag,
            "sources": source_hashes(root)}


def _read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((root / "hub" / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    ok = (isinstance(manifest, dict) and isinstance(manifest.get("modules"), list)
          and isinstance(manifest.get("sources"), dict))
    return manifest if ok else None


def check(root: Path = ROOT, environ: Any = os.environ) -> NativeStatus:
    """Whether the compiled modules under ``root`` can be used, and why not."""
    if environ.get(PURE_ENV):
        return NativeStatus(False, f"{PURE_ENV} is set: running as Python")
    if not (root / "hub" / MANIFEST).exists():
        return NativeStatus(False, "not compiled (installed without mypyc): running as Python")
    manifest = _read_manifest(root)
    if manifest is None:
        return NativeStatus(False, f"hub/{MANIFEST} is unreadable: running as Python")
    stale = "running as Python (slower); reinstall custhub (pip install -e .) to compile again"
    if sorted(manifest["modules"]) != sorted(NATIVE_MODULES):
        return NativeStatus(False, f"the list of compiled modules changed since the build: {stale}")
    if manifest.get("python") != sys.implementation.cache_tag:
        return NativeStatus(False, f"compiled for another Python ({manifest.get('python')}): {stale}")
    built, current = manifest["sources"], source_hashes(root)
    changed = sorted(path for path in built.keys() | current.keys() if built.get(path) != current.get(path))
    if changed:
        return NativeStatus(False, f"{changed[0]} changed since the modules were compiled: {stale}")
    return NativeStatus(True, f"compiled ({len(NATIVE_MODULES)} modules)")


class _SourceFinder:
    """Loads the listed modules from their ``.py`` files, ahead of their compiled twins."""

    def __init__(self, modules: frozenset[str], root: Path) -> None:
        self.modules, self.root = modules, root

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name not in self.modules:
            return None
        return importlib.util.spec_from_file_location(name, source_path(name, self.root))


STATUS = NativeStatus(False, "not checked")


def install() -> NativeStatus:
    """Decide, once per process, which build of the compiled modules is loaded: unless the build is
    fresh, every module that is or was on the list loads from its source."""
    global STATUS
    if STATUS.reason != "not checked":
        return STATUS
    STATUS = check()
    if not STATUS.compiled:
        manifest = _read_manifest(ROOT) or {}
        listed = {name for name in manifest.get("modules", ()) if isinstance(name, str)}
        sys.meta_path.insert(0, _SourceFinder(frozenset(NATIVE_MODULES) | listed, ROOT))
        if "since the" in STATUS.reason or "another Python" in STATUS.reason:
            log.warning("custhub: %s", STATUS.reason)
    return STATUS


def loaded_builds() -> dict[str, str]:
    """``{module: "compiled" | "source"}`` for the listed modules loaded in this process."""
    builds = {}
    for name in NATIVE_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            builds[name] = "source" if str(getattr(module, "__file__", "")).endswith(".py") else "compiled"
    return builds
