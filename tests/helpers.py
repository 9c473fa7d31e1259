"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy
import yaml

from hub import paths
from hub.cli import main

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> int:
    """Run the custhub CLI in-process; returns its exit code."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def run_cli_subprocess(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=kwargs.pop("cwd", REPO), **kwargs)


def copy_example(tmp_path: Path, store_url: str) -> Path:
    """The example config and its samples copied into tmp_path, pointing at ``store_url``."""
    example = paths.example_config()
    shutil.copytree(example.parent / "samples", tmp_path / "samples")
    data = yaml.safe_load(example.read_text("utf-8"))
    data["store"]["url"] = store_url
    target = tmp_path / "custhub.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def table_rows(store_url: str, sql: str) -> list[tuple]:
    engine = sqlalchemy.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def quarantine_reasons(store_url: str) -> dict[tuple[str, str], list[str]]:
    rows = table_rows(store_url, "SELECT connection, source_pk, reasons FROM quarantine WHERE status = 'open'")
    return {(c, pk): json.loads(r) for c, pk, r in rows}
