"""Compiled speed-ups: the per-record modules of ingest, built with mypyc when custhub is installed.

``NATIVE_MODULES`` are compiled to C extensions by ``build_native.py`` (the build hook), which also
writes ``hub/_native.json``: the SHA-256 of each module's source as it was compiled. An extension
module takes precedence over its ``.py`` file, so a source edited after the build would otherwise be
silently ignored. ``install()`` (run by ``import hub``, before any of these modules loads) compares
the hashes; if any source changed, or ``CUSTHUB_PURE_PYTHON`` is set, every module of the list is
loaded from its source instead (all of them: compiled modules call each other directly), and a
changed source is reported once. Compiled and source modules give the same results
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


def source_hashes(modules: tuple[str, ...] = NATIVE_MODULES, root: Path = ROOT) -> dict[str, str]:
    return {name: hashlib.sha256(source_path(name, root).read_bytes()).hexdigest() for name in modules}


def check(root: Path = ROOT, environ: Any = os.environ) -> NativeStatus:
    """Whether the compiled modules under ``root`` can be used, and why not."""
    manifest = root / "hub" / MANIFEST
    if not manifest.exists():
        return NativeStatus(False, "not compiled (installed without mypyc): running as Python")
    if environ.get(PURE_ENV):
        return NativeStatus(False, f"{PURE_ENV} is set: running as Python")
    try:
        built = json.loads(manifest.read_text("utf-8"))["modules"]
        current = source_hashes(NATIVE_MODULES, root)
    except (OSError, ValueError, KeyError, TypeError):
        return NativeStatus(False, f"hub/{MANIFEST} is unreadable: running as Python")
    changed = [name for name in NATIVE_MODULES if built.get(name) != current[name]]
    if changed:
        return NativeStatus(False, f"{source_path(changed[0], Path())} changed since it was compiled: running "
                                   "as Python (slower); reinstall custhub (pip install -e .) to compile it again")
    return NativeStatus(True, f"compiled ({len(NATIVE_MODULES)} modules)")


class _SourceFinder:
    """Loads the listed modules from their ``.py`` files, ahead of their compiled twins."""

    def __init__(self, modules: tuple[str, ...], root: Path) -> None:
        self.modules, self.root = frozenset(modules), root

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name not in self.modules:
            return None
        return importlib.util.spec_from_file_location(name, source_path(name, self.root))


STATUS = NativeStatus(False, "not checked")


def install() -> NativeStatus:
    """Decide, once per process, which build of ``NATIVE_MODULES`` is loaded."""
    global STATUS
    if STATUS.reason != "not checked":
        return STATUS
    STATUS = check()
    if not STATUS.compiled and (ROOT / "hub" / MANIFEST).exists():
        sys.meta_path.insert(0, _SourceFinder(NATIVE_MODULES, ROOT))
        if "changed since" in STATUS.reason:
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
