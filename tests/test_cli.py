"""The CLI around ingest: init, status, quarantine list/show/retry, plugins, check, errors."""

from __future__ import annotations

import shutil

import yaml

from hub import paths
from tests.helpers import copy_example, quarantine_reasons, run_cli, table_rows


def test_init_writes_a_config_that_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli("init") == 0
    assert (tmp_path / "custhub.yaml").is_file()
    assert run_cli("init") == 2  # refuses to overwrite
    assert "already exists (pass --force to overwrite it)" in capsys.readouterr().err
    assert run_cli("run", "crm_export") == 0  # ./custhub.yaml is the default config
    assert table_rows(f"sqlite:///{tmp_path / 'custhub.db'}", "SELECT count(*) FROM source_records") == [(7,)]


def test_quarantine_retry_after_a_mapping_fix_stores_exactly_once(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    mappings = tmp_path / "my-mappings"
    shutil.copytree(paths.bundled_dir("mappings"), mappings)
    data = yaml.safe_load(config.read_text("utf-8"))
    data["mappings_dirs"] = ["my-mappings"]
    config.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")

    assert run_cli("--config", str(config), "run", "expo_2026_signups") == 0
    bad = quarantine_reasons(url)
    assert set(bad) == {("expo_2026_signups", "6"), ("expo_2026_signups", "8")}

    # "Fix" the mapping: stop importing the e-mail column, which made row 6 fail.
    mapping = mappings / "exhibition_signup.yaml"
    spec = yaml.safe_load(mapping.read_text("utf-8"))
    del spec["fields"]["person.emails[]"]
    mapping.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")

    assert run_cli("--config", str(config), "quarantine", "retry") == 1  # row 8 still fails (its phone)
    assert "resolved 1, still failing 1" in capsys.readouterr().out
    assert set(quarantine_reasons(url)) == {("expo_2026_signups", "8")}
    assert table_rows(url, "SELECT count(*) FROM source_records WHERE source_pk = '6'") == [(1,)]

    assert run_cli("--config", str(config), "quarantine", "retry") == 1  # retrying again adds nothing
    assert table_rows(url, "SELECT count(*) FROM source_records") == [(11,)]
    assert table_rows(url, "SELECT status, count(*) FROM quarantine GROUP BY 1 ORDER BY 1") == [
        ("open", 1), ("resolved", 1)]


def test_quarantine_show_masks_values_unless_asked(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    assert run_cli("--config", str(config), "run", "website_forms") == 0
    (row_id,), = table_rows(url, "SELECT id FROM quarantine WHERE source_pk = 'wf-1008'")
    capsys.readouterr()
    assert run_cli("--config", str(config), "quarantine", "show", str(row_id)) == 0
    out = capsys.readouterr().out
    assert "person.emails[0].address" in out and "not-an-email" not in out
    assert run_cli("--config", str(config), "quarantine", "show", str(row_id), "--unmask") == 2  # operator role
    assert run_cli("--config", str(config), "quarantine", "show", str(row_id), "--unmask", "--as-role", "dpo") == 2
    config.write_text(config.read_text("utf-8") + "\nprivacy: {cli_role: admin}\n", "utf-8")
    capsys.readouterr()
    assert run_cli("--config", str(config), "quarantine", "show", str(row_id), "--unmask") == 0
    assert "not-an-email" in capsys.readouterr().out


def test_status_shows_runs_and_state(tmp_path, capsys):
    config = copy_example(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    assert run_cli("--config", str(config), "run") == 0
    capsys.readouterr()
    assert run_cli("--config", str(config), "status") == 0
    out = capsys.readouterr().out
    for name in ("website_forms", "expo_2026_signups", "wechat_official_account", "crm_export"):
        assert name in out
    assert "succeeded" in out and '"done": true' in out


def test_check_reports_each_connection(tmp_path, capsys):
    config = copy_example(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    (tmp_path / "samples" / "crm_contacts.xlsx").unlink()
    assert run_cli("--config", str(config), "check") == 1
    out = capsys.readouterr().out
    assert "crm_contacts.xlsx" in out and "ok" in out


def test_unknown_connection_is_one_line_error(tmp_path, capsys):
    config = copy_example(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    assert run_cli("--config", str(config), "run", "crm_exprot") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "no connection named 'crm_exprot' (did you mean 'crm_export'?)" in err


def test_failed_stream_does_not_roll_back_the_others(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    data = yaml.safe_load(config.read_text("utf-8"))
    files = data["connections"]["expo_2026_signups"]["config"]["files"]
    files.append({"path": "samples/broken.csv", "stream": "broken", "primary_key": ["id"]})
    data["connections"]["expo_2026_signups"]["streams"]["broken"] = {"mapping": "exhibition_signup"}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    (tmp_path / "samples" / "broken.csv").write_bytes(b"id,name\n1,\xff\xfe\xfa\n")
    assert run_cli("--config", str(config), "run", "expo_2026_signups") == 3  # partial
    assert table_rows(url, "SELECT stream, count(*) FROM source_records GROUP BY 1") == [("signups", 10)]
    (status, error), = table_rows(url, "SELECT status, error FROM runs WHERE kind = 'ingest'")
    assert status == "partial" and error.startswith("broken: ") and "broken.csv" in error
