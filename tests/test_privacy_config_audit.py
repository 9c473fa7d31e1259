"""Config changes are audited (value-free, naming the changed sections); the impact assessment is
flagged stale when what the record of processing depends on changes (T36); an audit checkpoint is
exported after ``custhub run`` when one is due; the log filter is on for every CLI process."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import yaml

from hub.privacy import audit
from hub.privacy.logfilter import PiiLogFilter
from hub.store import Store
from tests.helpers import copy_example, run_cli


def setup(tmp_path: Path, **privacy) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    path = copy_example(tmp_path, url)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["privacy"] = {"audit": {"checkpoint_file": str(tmp_path / "cp.jsonl"), "checkpoint_every": 1}, **privacy}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path, url


def edit(path: Path, change) -> None:  # noqa: ANN001
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def entries(url: str, action: str) -> list:
    store = Store.open(url)
    with store.reading() as conn:
        found = list(reversed(audit.show(conn, action=action, limit=1000)))
    store.close()
    return found


def test_config_changes_are_audited_by_section_without_values(tmp_path):
    path, url = setup(tmp_path)
    assert run_cli("--config", str(path), "run", "crm_export") == 0
    first, = entries(url, "config_change")
    assert set(first.fields) == {"version", "store", "cleaning", "connections", "server", "destinations", "privacy"}
    assert all(s.startswith("config:") for s in first.subjects)
    assert run_cli("--config", str(path), "run", "crm_export") == 0
    assert len(entries(url, "config_change")) == 1  # unchanged: no new entry

    edit(path, lambda d: d["destinations"]["contacts_file"]["config"].update(path="elsewhere/secret-name.csv"))
    assert run_cli("--config", str(path), "run", "crm_export") == 0
    second = entries(url, "config_change")[-1]
    assert second.fields == ("destinations",)
    assert "secret-name" not in json.dumps(second.__dict__, default=str)

    edit(path, lambda d: d["connections"]["crm_export"].update(description="Old CRM"))
    edit(path, lambda d: d["privacy"].update(region="CN"))
    assert run_cli("--config", str(path), "sync", "--dry-run") == 0  # sync notes it too
    assert entries(url, "config_change")[-1].fields == ("connections", "privacy")


def test_impact_assessment_goes_stale_when_processing_changes(tmp_path, capsys):
    path, url = setup(tmp_path)
    assert run_cli("--config", str(path), "privacy", "report") == 0
    assert "NOT ACKNOWLEDGED" in capsys.readouterr().err
    assert run_cli("--config", str(path), "privacy", "acknowledge-pipia", "--reference", "PIPIA-2026-01") == 0
    capsys.readouterr()
    assert run_cli("--config", str(path), "privacy", "report") == 0
    assert "impact assessment: current" in capsys.readouterr().err
    edit(path, lambda d: d["connections"]["crm_export"].update(description="wording only"))
    assert run_cli("--config", str(path), "privacy", "report") == 0
    assert "impact assessment: current" in capsys.readouterr().err  # a description is not processing

    def abroad(d: dict) -> None:
        d["destinations"]["contacts_file"]["purpose"] = "marketing_email"
        d["privacy"]["recipients"] = {"contacts_file": {"region": "US", "relationship": "independent_handler"}}

    edit(path, abroad)
    out = tmp_path / "ropa.json"
    assert run_cli("--config", str(path), "privacy", "report", "--format", "json", "--out", str(out)) == 0
    err = capsys.readouterr().err
    assert "STALE" in err and "recipients" in err and "PIPIA-2026-01" in err
    ropa = json.loads(out.read_text("utf-8"))
    assert ropa["impact_assessment"]["stale"] and "recipients" in ropa["impact_assessment"]["changed"]
    assert any("STALE" in f for f in ropa["findings"])
    assert run_cli("--config", str(path), "privacy", "acknowledge-pipia") == 0
    assert run_cli("--config", str(path), "privacy", "report") == 0
    assert "current" in capsys.readouterr().err
    ack, again = entries(url, "pipia_ack")
    assert ack.request_id == "PIPIA-2026-01" and again.request_id is None


def test_run_exports_an_audit_checkpoint_when_due(tmp_path, capsys):
    path, url = setup(tmp_path)
    assert run_cli("--config", str(path), "run", "crm_export") == 0
    lines = (tmp_path / "cp.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] >= 1  # the config_change entry is covered
    assert run_cli("--config", str(path), "audit", "verify") == 0
    assert "1 checkpoint(s) checked" in capsys.readouterr().out


def test_cli_installs_the_pii_log_filter(tmp_path, capsys):
    path, _ = setup(tmp_path)
    assert run_cli("--config", str(path), "privacy", "roles") == 0
    root = logging.getLogger()
    assert any(isinstance(f, PiiLogFilter) for f in root.filters)
    late = logging.getLogger("airbyte.late")  # a handler added after the CLI started (as airbyte-cdk does)
    stream = __import__("io").StringIO()
    handler = logging.StreamHandler(stream)
    late.addHandler(handler)
    try:
        late.warning("could not parse %s for %s", "13912345678", "nana@example.cn")
    finally:
        late.removeHandler(handler)
    text = stream.getvalue()
    assert "13912345678" not in text and "nana@example.cn" not in text and "139****5678" in text
