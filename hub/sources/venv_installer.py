"""Install a published Airbyte source into its own virtual environment.

Published sources pin their own ``airbyte-cdk`` (``airbyte-source-faker`` 7.2.1 needs CDK 6.x), so
they never share custhub's environment. Each package gets ``<custhub_home>/connectors/<package>/``::

    venv/            the virtual environment (``python -m venv`` with the running interpreter)
    installed.json   {package, pip_spec, executable, version, installed_at}
    install.log      pip's output of the last install

``uv pip install`` is used when ``uv`` is on PATH, else the venv's own pip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub import paths
from hub.errors import ConnectorError

_PACKAGE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_UNREACHABLE_MARKERS = (
    "NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
    "Name or service not known", "Network is unreachable", "ConnectTimeoutError", "Connection refused",
    "ProxyError", "Could not fetch URL", "nodename nor servname", "Failed to fetch", "dns error",
    "error sending request", "Read timed out",
)
_TAIL_LINES = 20

# Run inside the connector's venv: the installed version and console scripts of one distribution.
_PROBE = """
import json, sys
from importlib import metadata
dist = metadata.distribution(sys.argv[1])
scripts = sorted(ep.name for ep in dist.entry_points if ep.group == "console_scripts")
print(json.dumps({"version": dist.version, "scripts": scripts}))
"""


class InstallError(ConnectorError):
    """Installing a connector failed. ``output_tail`` holds the last lines of the installer's output;
    ``unreachable`` is true when the package registry could not be reached."""

    def __init__(self, message: str, *, output_tail: list[str], unreachable: bool) -> None:
        self.output_tail, self.unreachable = output_tail, unreachable
        super().__init__(message)


def connector_dir(package: str) -> Path:
    """The folder holding ``package``'s venv, install record and logs (not created here)."""
    if not _PACKAGE_NAME.match(package):
        raise ConnectorError(f"'{package}' is not a valid package name "
                             "(use the PyPI name, e.g. airbyte:airbyte-source-faker)")
    return paths.custhub_home() / "connectors" / package


def installed_info(package: str) -> dict[str, Any] | None:
    """The ``installed.json`` record of ``package``, or None when it is not installed."""
    try:
        info = json.loads((connector_dir(package) / "installed.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("executable") else None


def installed_executable(package: str) -> Path | None:
    """The console script of the installed ``package``, or None when it is not (or no longer) installed."""
    info = installed_info(package)
    if info is None:
        return None
    executable = Path(info["executable"])
    return executable if executable.is_file() else None


def install_connector(package: str, pip_spec: str | None = None, *, force: bool = False,
                      on_line: Callable[[str], None] | None = None) -> Path:
    """Install ``pip_spec or package`` into the package's own venv and return its console script.

    Idempotent: an install with the same ``pip_spec`` is kept unless ``force``. ``on_line`` receives
    each line of the installer's output (for a progress display).
    """
    spec = pip_spec or package
    home = connector_dir(package)
    info = installed_info(package)
    existing = installed_executable(package)
    if info and existing and info.get("pip_spec") == spec and not force:
        return existing

    home.mkdir(parents=True, exist_ok=True)
    (home / "installed.json").unlink(missing_ok=True)  # the venv is rebuilt: the old record is void
    venv = home / "venv"
    uv = shutil.which("uv")
    log_path = home / "install.log"
    with log_path.open("w", encoding="utf-8") as log:
        def emit(line: str) -> None:
            log.write(line + "\n")
            if on_line:
                on_line(line)

        venv_cmd = [sys.executable, "-m", "venv", "--clear", *(["--without-pip"] if uv else []), str(venv)]
        _run_logged(venv_cmd, emit, package=package, spec=spec, step="create the virtual environment",
                    log_path=log_path)
        python = _venv_python(venv)
        if uv:
            install_cmd = [uv, "pip", "install", "--python", str(python), spec]
        else:
            install_cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check",
                           "--no-input", spec]
        _run_logged(install_cmd, emit, package=package, spec=spec, step="install", log_path=log_path)
        version, scripts = _probe(python, package, log_path)
        emit(f"installed {package} {version}; console scripts: {', '.join(scripts) or 'none'}")

    executable = _find_executable(venv, package, scripts)
    record = {"package": package, "pip_spec": spec, "executable": str(executable), "version": version,
              "installed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = home / "installed.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    tmp.replace(home / "installed.json")
    return executable


def script_name(package: str) -> str:
    """The console script a package is expected to install: ``airbyte-source-faker`` -> ``source-faker``."""
    return package.removeprefix("airbyte-")


def pick_script(package: str, scripts: Iterable[str]) -> str | None:
    """The distribution's console script that runs the connector, or None when there is no candidate."""
    scripts = sorted(scripts)
    guess = script_name(package)
    if guess in scripts:
        return guess
    sources = [s for s in scripts if s.startswith(("source-", "destination-"))]
    return (sources or scripts or [None])[0]


def _find_executable(venv: Path, package: str, scripts: list[str]) -> Path:
    bin_dir = _bin_dir(venv)
    for name in (script_name(package), pick_script(package, scripts)):
        if name:
            for candidate in (bin_dir / name, bin_dir / f"{name}.exe"):
                if candidate.is_file():
                    return candidate
    raise ConnectorError(
        f"{package} installed but provides no console script to run "
        f"(expected '{script_name(package)}'; is it an Airbyte source package?)")


def _run_logged(cmd: list[str], emit: Callable[[str], None], *, package: str, spec: str, step: str,
                log_path: Path) -> None:
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    network_trouble = False
    emit("$ " + " ".join(cmd))
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, encoding="utf-8", errors="replace",
                                env=_clean_env())
    except OSError as exc:
        raise ConnectorError(f"could not {step} {package}: {exc.strerror or exc} "
                             f"(check that {cmd[0]} exists and is executable)") from None
    assert proc.stdout is not None
    with proc:
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            network_trouble = network_trouble or _mentions_network_failure(line)
            emit(line)
    if proc.returncode != 0:
        lines = [line for line in tail if line.strip()]
        summary = _summary(lines)
        unreachable = registry_unreachable(summary, network_trouble)
        raise InstallError(_failure_message(package, spec, step, summary, lines, unreachable, log_path),
                           output_tail=lines, unreachable=unreachable)


def registry_unreachable(summary: str, network_trouble: bool) -> bool:
    """Whether an install failed because the package registry could not be reached.

    True when the final error is itself a connection error, or when the installer found no
    distribution at all after connection errors (pip's offline failure).
    """
    if _mentions_network_failure(summary):
        return True
    not_found = ("No matching distribution", "Could not find a version", "not found in the package registry",
                 "No solution found")
    return network_trouble and any(text in summary for text in not_found)


def _mentions_network_failure(line: str) -> bool:
    return any(marker in line for marker in _UNREACHABLE_MARKERS)


def _summary(lines: list[str]) -> str:
    errors = [line.strip() for line in lines if line.lstrip().lower().startswith(("error", "×", "x "))]
    return (errors or [line.strip() for line in lines] or ["no output"])[-1][:300]


def _failure_message(package: str, spec: str, step: str, summary: str, lines: list[str], unreachable: bool,
                     log_path: Path) -> str:
    if unreachable:
        fix = "the package registry cannot be reached: check the network, proxy or PIP_INDEX_URL"
    elif "No matching distribution" in summary or "Could not find a version" in " ".join(lines):
        fix = f"check the package name and version, e.g. `pip index versions {package}`"
    else:
        fix = f"see {log_path}"
    return f"could not {step} {package} from '{spec}': {summary} ({fix})"


def _probe(python: Path, package: str, log_path: Path) -> tuple[str, list[str]]:
    result = subprocess.run([str(python), "-c", _PROBE, package], capture_output=True, text=True,
                            env=_clean_env(), check=False)
    if result.returncode != 0:
        raise ConnectorError(f"installed {package} but cannot read its metadata "
                             f"(is '{package}' the distribution's name? see {log_path})")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["version"], list(data["scripts"])


def _venv_python(venv: Path) -> Path:
    return _bin_dir(venv) / ("python.exe" if os.name == "nt" else "python")


def _bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def _clean_env() -> dict[str, str]:
    """Our environment without what would make a child use custhub's own Python packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env
