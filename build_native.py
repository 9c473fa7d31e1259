"""Hatchling build hook: compile ``hub.native.NATIVE_MODULES`` with mypyc when custhub is installed.

The extension modules are built in place, beside their sources, so an editable install
(``pip install -e .``) uses them too; a regular wheel carries them as well. ``hub/_native.json``
(``hub.native.manifest_for``: the list, the Python, the hash of every source) lets
``hub.native.install`` spot a source edited since. The build never fails for want of a compiler:
it then installs pure Python and says so.
Set ``CUSTHUB_PURE_PYTHON=1`` to skip compiling.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MYPY_ARGS = ("--ignore-missing-imports", "--follow-imports=silent", "--cache-dir=build/native/mypy-cache")


def _native_module(root: Path) -> Any:
    """``hub/native.py`` loaded by path (custhub's dependencies are not installed at build time)."""
    spec = importlib.util.spec_from_file_location("_custhub_native", root / "hub" / "native.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def remove_artifacts(root: Path, native: Any) -> None:
    """Extension modules and the manifest of an earlier build: they would shadow edited sources,
    including those of modules taken off the list since."""
    (root / "hub" / native.MANIFEST).unlink(missing_ok=True)
    for package in native.PACKAGES:
        for built in (root / package).rglob("*"):
            if _is_extension(built) and built.with_name(built.name.split(".")[0] + ".py").exists():
                built.unlink()
    for shared in root.glob("*__mypyc.*"):
        if _is_extension(shared):
            shared.unlink()


def _is_extension(path: Path) -> bool:
    return path.is_file() and any(path.name.endswith(suffix) for suffix in EXTENSION_SUFFIXES)


def compile_modules(root: Path, native: Any) -> list[Path]:
    """Build the extension modules in place; returns their files."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    paths = [str(native.source_path(name, Path())) for name in native.NATIVE_MODULES]
    here = os.getcwd()
    os.chdir(root)
    try:
        extensions = mypycify([*MYPY_ARGS, *paths], opt_level="3", target_dir="build/native")
        command = Distribution({"name": "custhub-native", "ext_modules": extensions}).get_command_obj("build_ext")
        command.inplace = True
        command.build_temp = "build/native/temp"
        command.ensure_finalized()
        command.run()
        return [root / command.get_ext_fullpath(ext.name) for ext in extensions]
    finally:
        os.chdir(here)


class NativeBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        native = _native_module(root)
        remove_artifacts(root, native)
        if os.environ.get(native.PURE_ENV):
            print(f"custhub: {native.PURE_ENV} is set: installing pure Python", file=sys.stderr)
            return
        manifest_data = native.manifest_for(root)  # the sources as they go into the compiler
        try:
            built = compile_modules(root, native)
        except (Exception, SystemExit) as error:  # mypyc exits on a type error
            remove_artifacts(root, native)
            print(f"custhub: WARNING: compiling the speed-ups failed ({type(error).__name__}: {error}); "
                  "installing pure Python, which ingests more slowly", file=sys.stderr)
            return
        manifest = root / "hub" / native.MANIFEST
        manifest.write_text(json.dumps(manifest_data, indent=1), "utf-8")
        print(f"custhub: compiled {len(native.NATIVE_MODULES)} modules with mypyc", file=sys.stderr)
        if version != "editable":  # an editable install finds them in place
            for path in [*built, manifest]:
                build_data["force_include"][str(path)] = str(path.relative_to(root))
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
