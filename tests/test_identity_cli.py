"""The identity commands end to end on the example config: run (ingest + resolve), resolve,
export, profiles show, review list."""

from __future__ import annotations

import json

from tests.helpers import copy_example, run_cli, table_rows


def test_run_resolves_after_ingest_and_the_commands_explain_it(store_url, tmp_path, capsys):
    config = copy_example(tmp_path, store_url)
    assert run_cli("--config", str(config), "run") == 0
    out = capsys.readouterr().out
    assert "resolve (full" in out
    assert "zhang.wei" not in out and "张伟" not in out  # summaries carry counts, never customer values
    stored = table_rows(store_url, "SELECT COUNT(*) FROM source_records")[0][0]
    assert table_rows(store_url, "SELECT COUNT(*) FROM identity_members")[0][0] == stored
    profiles = table_rows(store_url, "SELECT COUNT(*) FROM identity_profiles WHERE status = 'active'")[0][0]
    assert 0 < profiles < stored  # the samples hold the same people on several channels

    links = tmp_path / "links.jsonl"
    assert run_cli("--config", str(config), "export", "links", "--format", "jsonl", "-o", str(links)) == 0
    rows = [json.loads(line) for line in links.read_text("utf-8").splitlines()]
    assert len(rows) == stored and set(rows[0]) == {"connection", "stream", "source_pk", "profile_id"}
    assert all(r["profile_id"] for r in rows)

    biggest = table_rows(store_url, "SELECT profile_id FROM identity_members GROUP BY profile_id "
                                    "ORDER BY COUNT(*) DESC, profile_id LIMIT 1")[0][0]
    capsys.readouterr()
    assert run_cli("--config", str(config), "profiles", "show", str(biggest), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == biggest and len(shown["members"]) >= 2
    assert shown["links"] and all("evidence" in link for link in shown["links"])
    assert all(entry["sources"] for entry in shown["golden"]["fields"].values())

    assert run_cli("--config", str(config), "resolve") == 0
    assert "0 new or changed" in capsys.readouterr().out
    assert run_cli("--config", str(config), "resolve", "--full") == 0
    assert run_cli("--config", str(config), "review", "list") == 0
    assert run_cli("--config", str(config), "export", "profiles", "--format", "csv", "-o",
                   str(tmp_path / "p.csv")) == 0
    assert (tmp_path / "p.csv").read_text("utf-8-sig").startswith("profile_id,member_count,name")


def test_unknown_profile_is_one_clear_error(store_url, tmp_path, capsys):
    config = copy_example(tmp_path, store_url)
    assert run_cli("--config", str(config), "profiles", "show", "999") != 0
    assert "no profile 999" in capsys.readouterr().err
