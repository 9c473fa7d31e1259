"""The README's main job: the example config end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.helpers import copy_example, quarantine_reasons, run_cli, table_rows

# (connection, stream) -> (read, stored, quarantined) for the bundled sample files.
EXPECTED = {
    ("website_forms", "contact_form"): (12, 10, 2),
    ("expo_2026_signups", "signups"): (12, 10, 2),
    ("wechat_official_account", "followers"): (10, 9, 1),
    ("crm_export", "contacts"): (8, 7, 1),
}


def stored_counts(store_url: str) -> dict[tuple[str, str], int]:
    rows = table_rows(store_url, "SELECT connection, stream, count(*) FROM source_records GROUP BY 1, 2")
    return {(c, s): n for c, s, n in rows}


def test_example_end_to_end(store_url, tmp_path):
    config = copy_example(tmp_path, store_url)
    assert run_cli("--config", str(config), "run") == 0

    assert stored_counts(store_url) == {k: v[1] for k, v in EXPECTED.items()}
    reasons = quarantine_reasons(store_url)
    assert len(reasons) == sum(v[2] for v in EXPECTED.values())
    # each bad row is quarantined with its reason
    assert any("emails[0].address" in r for r in reasons[("website_forms", "wf-1008")])
    assert any("phones[0].number" in r for r in reasons[("website_forms", "wf-1009")])
    assert any("emails[0].address" in r for r in reasons[("expo_2026_signups", "6")])
    assert any("phones[0].number" in r for r in reasons[("expo_2026_signups", "8")])
    assert any("birth_date" in r for r in reasons[("crm_export", "C-0007")])
    missing_pk = [k for k in reasons if k[0] == "wechat_official_account"]
    assert len(missing_pk) == 1 and "primary key" in reasons[missing_pk[0]][0]

    runs = table_rows(store_url, "SELECT target, status, records_read, records_inserted, records_quarantined "
                                 "FROM runs WHERE kind = 'ingest' ORDER BY id")
    assert {(t, s) for t, s, *_ in runs} == {(c, "succeeded") for c, _ in EXPECTED}
    for target, _, read, inserted, quarantined in runs:
        (read_e, stored_e, quarantined_e), = [v for k, v in EXPECTED.items() if k[0] == target]
        assert (read, inserted, quarantined) == (read_e, stored_e, quarantined_e)

    # A second run stores nothing new and duplicates nothing.
    before = table_rows(store_url, "SELECT id, record_hash FROM source_records ORDER BY id")
    assert run_cli("--config", str(config), "run") == 0
    assert table_rows(store_url, "SELECT id, record_hash FROM source_records ORDER BY id") == before
    assert len(quarantine_reasons(store_url)) == sum(v[2] for v in EXPECTED.values())
    second = table_rows(store_url, "SELECT records_inserted, records_updated FROM runs WHERE kind = 'ingest' "
                                   "ORDER BY id DESC LIMIT 4")
    assert all(row == (0, 0) for row in second)


def test_full_refresh_rereads_without_duplicates(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = copy_example(tmp_path, url)
    assert run_cli("--config", str(config), "run", "crm_export") == 0
    assert run_cli("--config", str(config), "run", "crm_export", "--full-refresh") == 0
    rows = table_rows(url, "SELECT records_read, records_inserted, records_unchanged FROM runs "
                            "WHERE kind = 'ingest' ORDER BY id")
    assert rows == [(8, 7, 0), (8, 0, 7)]


@pytest.mark.parametrize("command", [["status"], ["quarantine", "list"], ["plugins"], ["check"]])
def test_commands_run_on_the_example(tmp_path, command):
    config = copy_example(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    assert run_cli("--config", str(config), "run") == 0
    assert run_cli("--config", str(config), *command) == 0
