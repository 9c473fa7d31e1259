"""schemathesis' own CLI against a real ``custhub serve``, from the server's ``/openapi.json``.

schemathesis cannot share the project's environment (it needs pyrate-limiter>=4, airbyte-cdk pins <3.2),
so it is installed into its own venv in the persistent test cache (``CUSTHUB_TEST_CACHE``, default
``~/.cache/custhub-tests``; only the first run downloads). Checks: no 500, only documented statuses and
content types, responses matching their schemas, every request answered within the timeout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.webhook_server import ServerProcess
from tests.webhook_support import SECRETS, write_config

SPEC = "schemathesis==4.32.5"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def schemathesis_cli() -> Path:
    cache = Path(os.environ.get("CUSTHUB_TEST_CACHE") or Path.home() / ".cache" / "custhub-tests")
    venv = cache / "tools" / SPEC.replace("==", "-")
    cli = venv / "bin" / "schemathesis"
    if not cli.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", SPEC], capture_output=True, text=True)
        if install.returncode != 0:
            unreachable = any(s in install.stderr for s in ("Could not find a version", "NewConnectionError",
                                                             "Temporary failure in name resolution"))
            if unreachable and os.environ.get("CI") != "true":
                pytest.skip(f"the package registry cannot be reached to install {SPEC}")
            pytest.fail(f"installing {SPEC} failed: {install.stderr[-2000:]}")
    return cli


def test_schemathesis_finds_no_server_error_against_the_live_server(schemathesis_cli, tmp_path, monkeypatch):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    server = ServerProcess(config, tmp_path / "server.log")
    server.start()
    try:
        run = subprocess.run([str(schemathesis_cli), "run", f"{server.url}/openapi.json", "--checks", CHECKS,
                              "--max-examples", "20", "--request-timeout", "5", "--no-color"],
                             capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        server.stop()
    report = run.stdout[-4000:]
    print(report)
    assert run.returncode == 0, report
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) >= 8, report  # every form's operations, the handshakes, /healthz
    assert re.search(r"(\d+) generated, \1 passed", report), report
