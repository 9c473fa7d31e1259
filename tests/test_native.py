"""The compiled build of the per-record modules (hub.native): used when fresh, equal to the source.

CI installs custhub with its build hook, so there the modules must be compiled and in use: the suite
and the benchmarks then run what users run. Elsewhere the tests that need a compiled build skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hub import native

REPO = Path(__file__).resolve().parent.parent
BUILD = native.check(REPO, {})
needs_build = pytest.mark.skipif(not BUILD.compiled, reason=f"no fresh compiled build here: {BUILD.reason}")


def _python(code: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={**environ, "PYTHONPATH": str(cwd), **env}, timeout=300)


LOADED = ("import importlib, json, hub.native as n; [importlib.import_module(m) for m in n.NATIVE_MODULES]; "
          "print(json.dumps([n.STATUS.compiled, n.STATUS.reason, n.loaded_builds()]))")


def _loaded(cwd: Path = REPO, **env: str) -> tuple[bool, str, dict[str, str]]:
    done = _python(LOADED, cwd, **env)
    assert done.returncode == 0, done.stderr
    compiled, reason, builds = json.loads(done.stdout)
    assert sorted(builds) == sorted(native.NATIVE_MODULES)
    return compiled, reason, builds


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only CI promises a compiled build")
def test_ci_runs_the_compiled_build():
    assert BUILD.compiled, BUILD.reason  # "not compiled": see the pip install output (pip install -v)
    compiled, reason, builds = _loaded()
    assert compiled, reason
    assert set(builds.values()) == {"compiled"}


@needs_build
def test_a_fresh_build_is_used_and_the_environment_variable_turns_it_off():
    assert _loaded()[2] == dict.fromkeys(native.NATIVE_MODULES, "compiled")
    compiled, reason, builds = _loaded(**{native.PURE_ENV: "1"})
    assert not compiled and native.PURE_ENV in reason
    assert set(builds.values()) == {"source"}


def _copy_build(target: Path) -> None:
    """The two packages with their extension modules, and the shared library beside them."""
    for package in ("hub", "connectors"):
        shutil.copytree(REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    for shared in REPO.glob("*__mypyc.*.so"):
        shutil.copy(shared, target)


@needs_build
def test_an_edited_source_loads_every_module_from_source(tmp_path):
    """An extension module would shadow its edited source: every listed module then loads as Python."""
    _copy_build(tmp_path)
    assert _loaded(tmp_path)[2] == dict.fromkeys(native.NATIVE_MODULES, "compiled")
    edited = tmp_path / "hub" / "cleaning" / "text.py"
    edited.write_text(edited.read_text("utf-8") + "\n# edited after the build\n", "utf-8")
    done = _python(LOADED, tmp_path)
    assert done.returncode == 0, done.stderr
    compiled, reason, builds = json.loads(done.stdout)
    assert not compiled and set(builds.values()) == {"source"}
    assert "hub/cleaning/text.py changed since the modules were compiled" in reason
    assert "hub/cleaning/text.py changed since the modules were compiled" in done.stderr  # said where it is seen


@needs_build
def test_a_missing_manifest_or_a_changed_list_loads_every_module_from_source(tmp_path):
    _copy_build(tmp_path)
    native_py = tmp_path / "hub" / "native.py"
    text = native_py.read_text("utf-8")
    native_py.write_text(text.replace('    "hub.mapping.names",\n', ""), "utf-8")  # taken off the list
    done = _python("import hub.native as n, hub.mapping.names as m; print(n.STATUS.reason, '|', m.__file__)",
                   tmp_path)
    assert "list of compiled modules changed" in done.stdout and done.stdout.strip().endswith("names.py")
    native_py.write_text(text, "utf-8")
    (tmp_path / "hub" / native.MANIFEST).unlink()  # extension modules left without their manifest
    compiled, reason, builds = _loaded(tmp_path)
    assert not compiled and reason.startswith("not compiled")
    assert set(builds.values()) == {"source"}


@needs_build
def test_compiled_and_source_builds_give_the_same_records():
    """Samples, generated sign-ups with bad rows, and awkward values of every type in every mapping."""
    outputs = []
    for env in ({}, {native.PURE_ENV: "1"}):
        environ = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
        done = subprocess.run([sys.executable, "-m", "tests.native_probe"], cwd=REPO, capture_output=True,
                              env={**environ, "PYTHONPATH": str(REPO), **env}, timeout=600)
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(json.loads(done.stdout))
    compiled, source = outputs
    assert set(compiled.pop("builds").values()) == {"compiled"}
    assert set(source.pop("builds").values()) == {"source"}
    assert len(compiled["generated"]) == 2000 and len(compiled["awkward"]) > 2000
    stages = [stage for stage, reasons, _ in compiled["generated"] if reasons]
    assert len(stages) == 2000 // 25  # the bad rows, and only they
    assert {stage for _, outcome in compiled["awkward"] for stage in outcome[:1]} >= {"map", "clean"}
    assert compiled == source


def test_check_reads_the_manifest_against_the_sources(tmp_path):
    for name in native.NATIVE_MODULES:
        path = native.source_path(name, tmp_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n", "utf-8")
    (tmp_path / "hub" / "cli.py").write_text("# not compiled, but compiled code may rely on it\n", "utf-8")
    assert native.check(tmp_path, {}).reason.startswith("not compiled")
    manifest = tmp_path / "hub" / native.MANIFEST

    def write(**changes):
        manifest.write_text(json.dumps({**native.manifest_for(tmp_path), **changes}), "utf-8")

    write()
    assert native.check(tmp_path, {}).compiled
    assert not native.check(tmp_path, {native.PURE_ENV: "1"}).compiled
    (tmp_path / "hub" / "cli.py").write_text("# edited\n", "utf-8")
    assert native.check(tmp_path, {}).reason.startswith("hub/cli.py changed since the modules were compiled")
    write()
    (tmp_path / "connectors" / "new.py").write_text("# added\n", "utf-8")
    assert native.check(tmp_path, {}).reason.startswith("connectors/new.py changed since")
    write(modules=list(native.NATIVE_MODULES[1:]))
    assert "list of compiled modules changed" in native.check(tmp_path, {}).reason
    write(python="cpython-99")
    assert "another Python (cpython-99)" in native.check(tmp_path, {}).reason
    for broken in ("{not json", '{"modules": "x", "sources": {}}', "[]"):
        manifest.write_text(broken, "utf-8")
        assert "unreadable" in native.check(tmp_path, {}).reason


def test_plugins_says_which_build_runs():
    def words(text: str) -> str:
        return " ".join(text.split())  # the caption wraps to the table's width

    done = _python("from hub.cli import main; main(['plugins'])", COLUMNS="200", **{native.PURE_ENV: "1"})
    assert done.returncode == 0, done.stderr
    assert f"core modules: {native.PURE_ENV} is set: running as Python" in words(done.stdout)
    done = _python("from hub.cli import main; main(['plugins'])", COLUMNS="200")
    assert words(f"core modules: {native.check(REPO, {})}") in words(done.stdout)
