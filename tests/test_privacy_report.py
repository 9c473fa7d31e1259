"""The privacy config section, the record of processing generated from config (T36), the public API."""

from __future__ import annotations

import importlib
import json

import pytest
import yaml

from hub import privacy
from hub.config import load_config
from hub.errors import ConfigError
from hub.privacy.ropa import build_ropa
from tests.helpers import copy_example, run_cli


def _config(tmp_path, privacy_section=None, extra_destination=None):
    tmp_path = tmp_path / f"c{len(list(tmp_path.iterdir()))}"
    tmp_path.mkdir()
    path = copy_example(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    data = yaml.safe_load(path.read_text("utf-8"))
    if privacy_section is not None:
        data["privacy"] = privacy_section
    if extra_destination:
        data["destinations"].update(extra_destination)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def test_defaults_without_a_privacy_section(tmp_path):
    cfg = load_config(_config(tmp_path))
    assert cfg.privacy.kek is None  # auto: $CUSTHUB_KEK, else .custhub/kek beside the config
    assert cfg.privacy.roles["marketing"].unmask == {"general", "confidential"}
    assert cfg.privacy.retention["audit_log"] == "3y"


def test_privacy_section_is_parsed(tmp_path):
    cfg = load_config(_config(tmp_path, {
        "keys": {"kek": {"$file": "secrets/kek"}}, "region": "CN",
        "roles": {"support": {"unmask": ["general"]}, "marketing": {"unmask": ["general"]}},
        "purposes": {"marketing_email": "Newsletters to people who opted in"},
        "retention": {"raw_payload": "7d"}, "audit": {"checkpoint_file": "/var/lib/custhub/audit.jsonl"}}))
    assert cfg.privacy.kek == {"$file": "secrets/kek"}
    assert cfg.privacy.roles["support"].unmask == {"general"}
    assert cfg.privacy.roles["marketing"].unmask == {"general"}  # config overrides a default role
    assert cfg.privacy.roles["admin"].unmask == {"general", "confidential", "highly_confidential"}
    assert cfg.privacy.retention == {"raw_payload": "7d", "quarantine": "30d", "inactive_profile": "24m",
                                     "audit_log": "3y"}
    assert cfg.privacy.audit_checkpoint_file == "/var/lib/custhub/audit.jsonl"


@pytest.mark.parametrize(("section", "path", "message"), [
    ({"roles": {"support": {"unmask": ["secret"]}}}, "privacy.roles.support.unmask[0]", "must be one of"),
    ({"roles": {"support": {}}}, "privacy.roles.support", "unmask"),
    ({"retention": {"raw_payload": "30 days"}}, "privacy.retention.raw_payload", "e.g. 30d"),
    ({"keys": {"kek": "base64-in-the-config"}}, "privacy.keys.kek", "must be a mapping"),
    ({"audit": {"checkpoint_evry": 5}}, "privacy.audit", "checkpoint_evry"),
    ({"recipients": {"crm": {"region": "usa"}}}, "privacy.recipients.crm.region", "ISO country code"),
])
def test_invalid_privacy_sections_name_the_path(tmp_path, section, path, message):
    with pytest.raises(ConfigError) as err:
        load_config(_config(tmp_path, section))
    assert path in str(err.value) and message in str(err.value)
    assert "base64-in-the-config" not in str(err.value)


def test_report_follows_the_config(tmp_path):
    base = build_ropa(load_config(_config(tmp_path)))
    assert [r["name"] for r in base["recipients"]] == ["contacts_file"]
    crm = {"hubspot_us": {"connector": "file", "config": {"path": "out/x.csv"}, "mapping": "out_crm_file",
                          "purpose": "marketing_email"}}
    abroad = build_ropa(load_config(_config(tmp_path, {
        "controller": {"name": "Acme Ltd", "dpo": "dpo@acme.example"},
        "recipients": {"hubspot_us": {"region": "US", "relationship": "independent_handler", "vendor": "HubSpot"}}},
        crm)))
    hubspot = next(r for r in abroad["recipients"] if r["name"] == "hubspot_us")
    assert hubspot["cross_border"] and hubspot["region"] == "US" and hubspot["vendor"] == "HubSpot"
    assert any("hubspot_us: transfer to US without a transfer mechanism" in f for f in abroad["findings"])
    assert any("hubspot_us: an independent handler" in f for f in abroad["findings"])
    assert "marketing_email" in abroad["purposes"]
    expo = next(s for s in abroad["sources"] if s["name"] == "expo_2026_signups")
    assert "person.phones[].number" in expo["fields_by_tier"]["highly_confidential"]
    assert "person.employer" in expo["fields_by_tier"]["confidential"]
    assert "organization.name" in expo["fields_by_tier"]["general"]


def test_privacy_report_and_roles_cli(tmp_path, capsys):
    config = str(_config(tmp_path, {"retention": {"quarantine": "14d"}}))
    assert run_cli("--config", config, "privacy", "report") == 0
    out = capsys.readouterr().out
    assert "# Record of processing activities" in out and "- quarantine: 14d" in out
    assert "### expo_2026_signups: file" in out and "| contacts_file | file |" in out
    assert run_cli("--config", config, "privacy", "report", "--format", "json", "--out", str(tmp_path / "r.json")) == 0
    assert json.loads((tmp_path / "r.json").read_text())["retention"]["quarantine"] == "14d"
    assert run_cli("--config", config, "privacy", "report", "--format", "pdf") == 2
    assert run_cli("--config", config, "privacy", "roles") == 0
    assert "marketing" in capsys.readouterr().out


def test_public_api_is_importable():
    for module, names in privacy.PUBLIC_API.items():
        mod = importlib.import_module(f"hub.privacy.{module}")
        for name in names:
            assert hasattr(mod, name), f"hub.privacy.{module}.{name}"
            assert name in privacy.__doc__
