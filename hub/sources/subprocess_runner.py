"""Run a published Airbyte source as a subprocess speaking the Airbyte protocol.

The PyAirbyte pattern: config, catalog and state go to temp files (mode 0600, deleted afterwards);
``<exe> read --config f --catalog f --state f`` prints one JSON message per line on stdout, which is
translated into ``hub.protocol`` messages; stderr goes to ``<connector dir>/stderr.log``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub import validation
from hub.errors import ConfigError, ConnectorError
from hub.protocol import (
    GLOBAL_STATE_KEY,
    CheckResult,
    ConfigUpdate,
    Log,
    Message,
    Record,
    State,
    StreamFailure,
    StreamInfo,
    StreamSelection,
)
from hub.sources import venv_installer

TERMINATE_GRACE_SECONDS = 10
_STDERR_LOG_MAX_BYTES = 5_000_000
_INSTALL_KEYS = ("executable", "pip")


class ExternalAirbyteSource:
    """A published Airbyte source (``airbyte:<package>``), run from its own venv or an explicit executable."""

    # Its spec comes from the installed package, so a config is checked against it at run time.
    spec_is_static = False

    def __init__(self, package: str, *, executable: str | Path | None = None,
                 pip_spec: str | None = None) -> None:
        self.home = venv_installer.connector_dir(package)
        self.package = package
        self.name = f"airbyte:{package}"
        self.description = f"Published Airbyte source {package}, run as a subprocess in its own venv"
        self.explicit_executable = Path(executable).expanduser() if executable else None
        self.pip_spec = pip_spec
        self._spec: dict[str, Any] | None = None

    def configured(self, install: Mapping[str, Any]) -> ExternalAirbyteSource:
        """A copy that runs ``install["executable"]`` as-is and/or installs from ``install["pip"]``."""
        unknown = sorted(set(install) - set(_INSTALL_KEYS))
        if unknown:
            raise ConfigError("unknown key", file=f"{self.name} install", path=unknown[0],
                              fix=validation.did_you_mean(unknown[0], _INSTALL_KEYS)
                              or "allowed keys: " + ", ".join(_INSTALL_KEYS))
        return ExternalAirbyteSource(self.package, executable=install.get("executable"),
                                     pip_spec=install.get("pip"))

    def install(self, *, force: bool = False, on_line: Any = None) -> Path:
        """Install the package (from ``pip_spec`` when set) into its venv; see ``install_connector``."""
        return venv_installer.install_connector(self.package, self.pip_spec, force=force, on_line=on_line)

    def executable(self) -> Path:
        """The protocol-speaking executable to run; raises ConnectorError when there is none."""
        if self.explicit_executable is not None:
            if not self.explicit_executable.is_file():
                raise ConnectorError(f"{self.name}: executable {self.explicit_executable} not found "
                                     "(fix install.executable in the connection)")
            return self.explicit_executable
        executable = venv_installer.installed_executable(self.package)
        if executable is None:
            raise ConnectorError(f"{self.name} is not installed "
                                 f"(run `custhub connectors install {self.name}`)")
        info = venv_installer.installed_info(self.package) or {}
        if self.pip_spec and info.get("pip_spec") != self.pip_spec:
            raise ConnectorError(f"{self.name} is installed from '{info.get('pip_spec')}' but the connection "
                                 f"asks for '{self.pip_spec}' (run `custhub connectors install {self.name}`)")
        return executable

    # -- the four protocol operations -------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """The connector's ``connectionSpecification`` (cached in the connector dir per executable)."""
        if self._spec is None:
            self._spec = self._cached_spec()
        return self._spec.get("connectionSpecification") or {}

    def check(self, config: Mapping[str, Any]) -> CheckResult:
        self._validate(config)
        try:
            with closing(self._run(["check"], config=config)) as messages:
                for message in messages:
                    if message.get("type") == "CONNECTION_STATUS":
                        status = message.get("connectionStatus") or {}
                        return CheckResult(status.get("status") == "SUCCEEDED", status.get("message") or "")
        except SourceFailed as exc:
            return CheckResult(False, str(exc))
        return CheckResult(False, f"{self.name} printed no CONNECTION_STATUS message")

    def discover(self, config: Mapping[str, Any]) -> list[StreamInfo]:
        return [stream_info(raw) for raw in self._discover_raw(config)]

    def read(self, config: Mapping[str, Any], streams: Iterable[StreamSelection],
             state: Mapping[str, dict[str, Any]]) -> Iterator[Message]:
        """Read the selected streams from ``state``; closing the iterator stops the subprocess."""
        catalog = configured_catalog(self._discover_raw(config), streams, source=self.name)
        files = {"config": dict(config), "catalog": catalog, "state": list(state.values())}
        with closing(self._run(["read"], **files)) as messages:
            for message in messages:
                translated = translate(message)
                if translated is not None:
                    yield translated

    # -- internals --------------------------------------------------------------------------------

    def _discover_raw(self, config: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._validate(config)
        with closing(self._run(["discover"], config=config)) as messages:
            for message in messages:
                if message.get("type") == "CATALOG":
                    return list((message.get("catalog") or {}).get("streams") or [])
        raise ConnectorError(f"{self.name} printed no CATALOG message on discover (see {self._stderr_path})")

    def _validate(self, config: Mapping[str, Any]) -> None:
        schema = self.spec()
        if schema:
            validation.check(dict(config), schema, file=f"{self.name} config")

    def _cached_spec(self) -> dict[str, Any]:
        executable = self.executable()
        key = {"executable": str(executable), "mtime_ns": executable.stat().st_mtime_ns}
        cache = self.home / "spec.json"
        try:
            cached = json.loads(cache.read_text("utf-8"))
            if cached.get("key") == key:
                return cached["spec"]
        except (OSError, ValueError, AttributeError, KeyError):
            pass
        with closing(self._run(["spec"])) as messages:
            for message in messages:
                if message.get("type") == "SPEC":
                    spec = message.get("spec") or {}
                    tmp = cache.with_suffix(".json.tmp")
                    tmp.write_text(json.dumps({"key": key, "spec": spec}), "utf-8")
                    tmp.replace(cache)
                    return spec
        raise ConnectorError(f"{self.name} printed no SPEC message (is it an Airbyte source?)")

    @property
    def _stderr_path(self) -> Path:
        return self.home / "stderr.log"

    def _run(self, command: list[str], **inputs: Any) -> Iterator[dict[str, Any]]:
        """Run ``<exe> <command> --<input> <file>...`` and yield each stdout line as a message dict.

        Non-JSON lines come back as LOG messages. A non-zero exit that we did not cause raises
        ``SourceFailed`` with the last TRACE error message, else the last stderr line.
        """
        executable = self.executable()
        self.home.mkdir(parents=True, exist_ok=True)
        stderr_log = self._open_stderr_log(command[0])
        last_error: str | None = None
        terminated = False
        with stderr_log, _input_files(inputs) as args:
            start = stderr_log.tell()
            try:
                proc = subprocess.Popen([str(executable), *command, *args], stdout=subprocess.PIPE,
                                        stderr=stderr_log, stdin=subprocess.DEVNULL, text=True,
                                        encoding="utf-8", errors="replace", env=_child_env())
            except OSError as exc:
                raise ConnectorError(f"{self.name}: cannot run {executable}: {exc.strerror or exc} "
                                     "(reinstall it with `custhub connectors install --force`)") from None
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    message = parse_line(line)
                    if message is None:
                        continue
                    if message.get("type") == "TRACE" and (message.get("trace") or {}).get("type") == "ERROR":
                        last_error = ((message["trace"].get("error") or {}).get("message")) or last_error
                    yield message
                proc.wait()
            finally:
                if proc.poll() is None:  # the consumer stopped early, or raised
                    terminated = True
                    _stop(proc)
                if proc.stdout:
                    proc.stdout.close()
            if proc.returncode != 0 and not terminated:
                stderr_log.flush()
                reason = last_error or _last_line(self._stderr_path, start) or f"exit code {proc.returncode}"
                raise SourceFailed(f"{self.name} {command[0]} failed: {reason} "
                                   f"(details in {self._stderr_path})")

    def _open_stderr_log(self, command: str):
        path = self._stderr_path
        if path.exists() and path.stat().st_size > _STDERR_LOG_MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))
        log = path.open("a", encoding="utf-8")
        log.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} {command}\n")
        log.flush()
        return log


class SourceFailed(ConnectorError):
    """The source process exited with an error it (or its stderr) explained."""


def parse_line(line: str) -> dict[str, Any] | None:
    """One stdout line as a message dict; a non-JSON line becomes a LOG message, a blank line None."""
    text = line.strip()
    if not text:
        return None
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    if not isinstance(message, dict) or "type" not in message:
        return {"type": "LOG", "log": {"level": "INFO", "message": text}}
    return message


def translate(message: Mapping[str, Any]) -> Message | None:
    """An Airbyte protocol message as a ``hub.protocol`` message, or None for ones the hub ignores."""
    kind = message.get("type")
    if kind == "RECORD":
        record = message.get("record") or {}
        return Record(record.get("stream", ""), record.get("data") or {})
    if kind == "STATE":
        state = message.get("state") or {}
        if state.get("type") == "STREAM":
            return State(((state.get("stream") or {}).get("stream_descriptor") or {}).get("name", ""), state)
        return State(GLOBAL_STATE_KEY, state)  # GLOBAL, or LEGACY (no type, just "data")
    if kind == "TRACE":
        trace = message.get("trace") or {}
        if trace.get("type") != "ERROR":
            return None
        error = trace.get("error") or {}
        stream = (error.get("stream_descriptor") or {}).get("name")
        return StreamFailure(stream, error.get("message") or "the source reported an error",
                             error.get("failure_type") or "system_error")
    if kind == "CONTROL":
        control = message.get("control") or {}
        if control.get("type") == "CONNECTOR_CONFIG":
            return ConfigUpdate(((control.get("connectorConfig") or {}).get("config")) or {})
        return None
    if kind == "LOG":
        log = message.get("log") or {}
        return Log(str(log.get("level", "INFO")), str(log.get("message", "")))
    return None


def stream_info(raw: Mapping[str, Any]) -> StreamInfo:
    """A discovered AirbyteStream as a ``StreamInfo``."""
    return StreamInfo(
        name=raw["name"],
        json_schema=raw.get("json_schema") or {},
        supported_sync_modes=tuple(raw.get("supported_sync_modes") or ("full_refresh",)),
        source_defined_primary_key=tuple(tuple(key) for key in raw.get("source_defined_primary_key") or ()),
        default_cursor_field=tuple(raw.get("default_cursor_field") or ()),
    )


def configured_catalog(discovered: list[dict[str, Any]], selections: Iterable[StreamSelection], *,
                       source: str) -> dict[str, Any]:
    """The ConfiguredAirbyteCatalog JSON for ``selections`` of the ``discovered`` streams."""
    by_name = {raw["name"]: raw for raw in discovered}
    configured = []
    for selection in selections:
        raw = by_name.get(selection.name)
        if raw is None:
            raise ConfigError(f"unknown stream '{selection.name}'", file=f"{source} streams",
                              fix=validation.did_you_mean(selection.name, by_name)
                              or "streams: " + ", ".join(sorted(by_name)))
        info = stream_info(raw)
        incremental = selection.sync_mode == "incremental" and "incremental" in info.supported_sync_modes
        primary_key = selection.primary_key or info.source_defined_primary_key
        entry: dict[str, Any] = {
            "stream": raw,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append_dedup" if incremental else "overwrite",
            "primary_key": [list(key) for key in primary_key],
        }
        if incremental:
            entry["cursor_field"] = list(selection.cursor_field or info.default_cursor_field)
        configured.append(entry)
    return {"streams": configured}


@contextmanager
def _input_files(inputs: Mapping[str, Any]) -> Iterator[list[str]]:
    """Write each input as JSON to a 0600 file in a private temp dir; yield ``--name path`` args."""
    folder = tempfile.mkdtemp(prefix="custhub-airbyte-")
    try:
        args: list[str] = []
        for name, value in inputs.items():
            path = os.path.join(folder, f"{name}.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(value, handle)
            args += [f"--{name}", path]
        yield args
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=TERMINATE_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _last_line(path: Path, offset: int) -> str | None:
    """The last non-blank line written to ``path`` after ``offset`` (truncated)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("--- ")]
    return lines[-1][:300] if lines else None


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
