"""T25/T26 at the command line: masking by role in quarantine show, profiles show and exports;
``--unmask`` only for a role that may see the tier; every unmasked read and every export audited
with field names and row counts, never values; CSV/XLSX exports safe from formula injection."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from hub.privacy import audit
from hub.privacy.access import MASK_ALL, Viewer, choose_role, cli_viewer
from hub.privacy.exports import protect_row
from hub.privacy.settings import parse_privacy
from hub.store import Store
from tests.helpers import copy_example, run_cli, table_rows

CSV_HEADER = ("submission_id,first_name,last_name,email,phone,company,job_title,country,message,"
              "submitted_at,consent_marketing")


def example(tmp_path: Path, privacy: dict | None = None, extra_rows: list[str] | None = None) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    path = copy_example(tmp_path, url)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["privacy"] = privacy or {"cli_roles": ["admin", "marketing"]}
    if extra_rows:
        (tmp_path / "extra.csv").write_text("\n".join([CSV_HEADER, *extra_rows]) + "\n", "utf-8")
        data["connections"]["extra"] = {"source": "file", "config": {"files": [
            {"path": str(tmp_path / "extra.csv"), "stream": "contact_form", "primary_key": ["submission_id"]}]},
            "streams": {"contact_form": {"mapping": "webform_contact"}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return str(path), url


def audit_rows(url: str) -> list[dict]:
    store = Store.open(url)
    with store.reading() as conn:
        entries = audit.show(conn, limit=1000)
    store.close()
    return [e.__dict__ for e in reversed(entries) if e.action not in ("config_change", "key_init")]


def test_role_choice_and_unmask_refusal():
    settings = parse_privacy({"cli_roles": ["admin"], "roles": {"support": {"unmask": ["general"]}}})
    assert choose_role(settings, None).name == "operator"
    assert choose_role(settings, "admin").name == "admin"
    with pytest.raises(Exception, match="not allowed"):
        choose_role(parse_privacy(None), "admin")  # admin is never a default choice
    assert "admin" not in parse_privacy(None).cli_role_choices()
    assert "marketing" in parse_privacy(None).cli_role_choices()
    with pytest.raises(Exception, match="--unmask is refused"):
        cli_viewer(settings, as_role=None, unmask=True, purpose="x")  # operator sees general data only
    viewer = cli_viewer(settings, as_role="admin", unmask=False, purpose="x")
    assert viewer.effective is MASK_ALL  # without --unmask even admin reads masked values


@pytest.mark.parametrize("role", ["operator", "marketing", "admin", "webhook", "nobody"])
def test_masking_by_role_and_tier_in_export_rows(role):
    """T26: a value is in clear only with --unmask and a role allowed its tier; unknown roles see nothing."""
    settings = parse_privacy({"cli_roles": ["admin", "webhook", "operator", "marketing"],
                              "roles": {"nobody": {"unmask": []}}})
    row = {"profile_id": 7, "name": "欧阳娜娜", "email": "nana@example.cn", "phone": "+8613912345678",
           "employer": "星光传媒", "city": "深圳", "source_pk": "oOpenid123456"}
    viewer = Viewer("t", settings.roles[role], settings.roles, unmask=True, purpose="t")
    out = protect_row(row, viewer)
    sees = settings.roles[role].unmask
    assert (out["email"] == row["email"]) == ("highly_confidential" in sees)
    assert (out["phone"] == row["phone"]) == ("highly_confidential" in sees)
    assert (out["employer"] == row["employer"]) == ("confidential" in sees)
    assert (out["source_pk"] == row["source_pk"]) == ("confidential" in sees)
    if "highly_confidential" not in sees:
        assert out["email"] == "n***@example.cn" and out["phone"] == "+86139****5678" and out["name"] == "欧**娜"
    assert out["profile_id"] == 7
    expected = {"person.emails[].address", "person.phones[].number", "person.name.full"} if \
        "highly_confidential" in sees else set()
    assert expected <= viewer.seen_fields


def test_quarantine_show_masks_unless_an_allowed_role_unmasks_and_audits_it(tmp_path, capsys):
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run", "website_forms") == 0
    (row_id,), = table_rows(url, "SELECT id FROM quarantine WHERE source_pk = 'wf-1008'")
    capsys.readouterr()
    assert run_cli("--config", config, "quarantine", "show", str(row_id)) == 0
    out = capsys.readouterr().out
    assert "person.emails[0].address" in out and "not-an-email" not in out
    assert audit_rows(url) == []  # a masked read is not an unmasked read
    assert run_cli("--config", config, "quarantine", "show", str(row_id), "--unmask") == 2
    assert "--unmask is refused" in capsys.readouterr().err
    assert run_cli("--config", config, "quarantine", "show", str(row_id), "--as-role", "dpo", "--unmask") == 2
    assert "not allowed" in capsys.readouterr().err
    assert run_cli("--config", config, "quarantine", "show", str(row_id), "--as-role", "admin", "--unmask",
                   "--purpose", "fix_mapping") == 0
    assert "not-an-email" in capsys.readouterr().out
    (entry,) = audit_rows(url)
    assert (entry["action"], entry["role"], entry["purpose"], entry["subjects"], entry["fields"],
            entry["row_count"]) == ("unmask", "admin", "fix_mapping", (f"quarantine:{row_id}",),
                                    ("quarantine.raw",), 1)
    assert "not-an-email" not in json.dumps(table_rows(url, "SELECT * FROM privacy_audit_log"), default=str)


def test_profiles_show_masks_by_tier_and_audits_the_fields_seen(tmp_path, capsys):
    config, url = example(tmp_path)
    assert run_cli("--config", config, "run") == 0
    profile = table_rows(url, "SELECT profile_id FROM identity_members GROUP BY profile_id "
                              "ORDER BY COUNT(*) DESC, profile_id LIMIT 1")[0][0]
    capsys.readouterr()
    assert run_cli("--config", config, "profiles", "show", str(profile), "--json") == 0
    masked = json.loads(capsys.readouterr().out)
    email = masked["golden"]["emails"][0]["value"]["address"]
    assert "***@" in email and masked["golden"]["fields"]["employer"]["value"] == "***"
    assert masked["members"][0]["source_pk"] == "***"
    assert audit_rows(url) == []
    assert run_cli("--config", config, "profiles", "show", str(profile), "--json", "--as-role", "marketing",
                   "--unmask") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["golden"]["fields"]["employer"]["value"] not in ("***", None)  # confidential: seen
    assert "***@" in shown["golden"]["emails"][0]["value"]["address"]  # highly confidential: still masked
    (entry,) = audit_rows(url)
    assert entry["action"] == "unmask" and entry["subjects"] == (f"profile:{profile}",) and entry["row_count"] == 1
    assert "person.employer" in entry["fields"] and "person.emails[].address" not in entry["fields"]
    assert "provenance.source_pk" in entry["fields"]


def test_exports_are_masked_pseudonymised_formula_safe_and_audited(tmp_path, capsys):
    attack = "=HYPERLINK(\"http://evil.example\",\"x\")"
    config, url = example(tmp_path, extra_rows=[
        f"X-1,Eve,Mallory,eve@evil.example,+86 139 0000 1111,\"{attack.replace(chr(34), chr(34) * 2)}\",CTO,CN,"
        "hi,2026-03-02T09:15:00+00:00,true"])
    assert run_cli("--config", config, "run") == 0
    profiles = table_rows(url, "SELECT COUNT(*) FROM identity_profiles WHERE status = 'active'")[0][0]
    records = table_rows(url, "SELECT COUNT(*) FROM source_records")[0][0]
    capsys.readouterr()

    assert run_cli("--config", config, "export", "profiles", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert len(rows) == profiles
    assert all(not r["email"] or "***@" in r["email"] for r in rows)
    assert all(not r["phone"] or r["phone"].startswith("'+") and "****" in r["phone"] for r in rows)

    xlsx = tmp_path / "p.xlsx"
    assert run_cli("--config", config, "export", "profiles", "--format", "xlsx", "-o", str(xlsx),
                   "--as-role", "admin", "--unmask") == 0
    sheet = load_workbook(xlsx).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "'" + attack in values and attack not in values  # formula neutralised, value in clear for admin
    assert "eve@evil.example" in values

    out_a, out_b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run_cli("--config", config, "export", "links", "-o", str(out_a), "--pseudonymise") == 0
    assert run_cli("--config", config, "export", "links", "-o", str(out_b), "--pseudonymise") == 0
    a = list(csv.DictReader(out_a.open(encoding="utf-8-sig")))
    b = list(csv.DictReader(out_b.open(encoding="utf-8-sig")))
    assert len(a) == records and all(r["profile_id"].startswith("psn_") and r["source_pk"].startswith("psn_")
                                     for r in a)
    members = table_rows(url, "SELECT COUNT(DISTINCT profile_id) FROM identity_members")[0][0]
    assert len({r["profile_id"] for r in a}) == members  # one pseudonym per person within an export
    assert not {r["profile_id"] for r in a} & {r["profile_id"] for r in b}  # not linkable across exports
    assert "wf-1001" not in out_a.read_text("utf-8-sig")

    exports = [e for e in audit_rows(url) if e["action"] == "export"]
    assert [(e["role"], e["row_count"]) for e in exports] == [
        ("operator", profiles), ("admin", profiles), ("operator", records), ("operator", records)]
    assert "person.emails[].address" in exports[1]["fields"] and exports[0]["fields"] == ()
    dump = json.dumps(table_rows(url, "SELECT * FROM privacy_audit_log"), default=str)
    assert "eve@evil.example" not in dump and "Mallory" not in dump and "HYPERLINK" not in dump
