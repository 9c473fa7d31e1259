"""The admin console over HTTP (Starlette TestClient): login, CSRF, lockout, masking by role, the
audit of values shown in clear, profile search, review decisions, run, quality and segment pages."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from starlette.applications import Starlette

from hub.console import build_console, with_console
from hub.console.passwords import hash_password, verify_password
from hub.console.settings import console_settings
from hub.errors import ConfigError
from hub.identity.tables import identity_review
from hub.privacy import audit
from hub.segments.tables import segment_members, segment_state
from hub.server import build_app, server_settings
from hub.store import records, runs
from tests.test_console_support import (
    LI_NA_EMAIL,
    LI_NA_PHONE,
    PASSWORD,
    console_config,
    csrf_of,
    login,
    profile_id_of,
    seeded_store,
    store_evaluation,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def env(tmp_path, store_url):
    config = console_config(tmp_path, store_url, login={"failure_delay_ms": 0, "max_failures": 3})
    store = seeded_store(config)
    app = with_console(build_app(server_settings(config), store), config, store)
    yield config, store, app
    store.close()


def client(app) -> TestClient:  # noqa: ANN001
    return TestClient(app, base_url="http://testserver")


def logged_in(app, name: str) -> TestClient:  # noqa: ANN001
    c = client(app)
    assert login(c, name).status_code == 303
    return c


def unmask_entries(store, actor: str) -> list:  # noqa: ANN001
    with store.reading() as conn:
        return [e for e in audit.show(conn, actor=actor) if e.action == "unmask"]


# ----------------------------------------------------------------------------- login, sessions, CSRF

def test_every_page_needs_a_login(env):
    _, store, app = env
    c = client(app)
    for path in ("/console/", "/console/runs", "/console/quality", "/console/profiles", "/console/review",
                 "/console/segments", f"/console/profiles/{profile_id_of(store, 'a1')}"):
        answer = c.get(path, follow_redirects=False)
        assert answer.status_code == 303 and "/console/login?next=" in answer.headers["location"], path
    assert c.post("/console/review/1/accept", data={"csrf": "x"}).status_code == 401
    assert c.get("/healthz").json() == {"status": "ok"}  # the webhook app is still served beside it


def test_a_wrong_password_is_refused_and_the_right_one_lets_in(env):
    _, _, app = env
    c = client(app)
    answer = login(c, "ada", "wrong password")
    assert answer.status_code == 401 and "Wrong user name or password" in answer.text
    assert login(c, "nobody").status_code == 401
    assert c.get("/console/", follow_redirects=False).status_code == 303
    assert login(c, "ada").headers["location"] == "/console/"
    home = c.get("/console/")
    assert home.status_code == 200 and 'id="whoami">ada <span class="role">admin' in home.text


def test_repeated_failures_lock_the_user_out_even_with_the_right_password(env):
    _, _, app = env
    c = client(app)
    for _ in range(3):
        assert login(c, "mark", "guess").status_code == 401
    answer = login(client(app), "mark")
    assert answer.status_code == 429 and "Too many failed logins" in answer.text
    assert login(client(app), "ada").status_code == 429  # the client address is locked too


def test_forms_without_the_session_csrf_token_are_refused(env):
    _, store, app = env
    page = client(app).get("/console/login")
    c = client(app)
    c.get("/console/login")
    forged = c.post("/console/login", data={"username": "ada", "password": PASSWORD, "csrf": csrf_of(page.text)},
                    follow_redirects=False)  # another session's token
    assert forged.status_code == 403
    c = logged_in(app, "ada")
    with store.reading() as conn:
        item = conn.execute(select(identity_review.c.id)).scalar_one()
    for data in ({}, {"csrf": "forged"}):
        answer = c.post(f"/console/review/{item}/accept", data=data, follow_redirects=False)
        assert answer.status_code == 403 and "did not come from the console" in answer.text
    with store.reading() as conn:
        assert conn.execute(select(identity_review.c.status)).scalar_one() == "open"


def test_logout_ends_the_session_and_next_never_leaves_the_console(env):
    _, _, app = env
    c = client(app)
    page = c.get("/console/login?next=//evil.example/x")
    answer = c.post("/console/login", data={"username": "ada", "password": PASSWORD, "csrf": csrf_of(page.text),
                                            "next": "//evil.example/x"}, follow_redirects=False)
    assert answer.headers["location"] == "/console/"
    home = c.get("/console/")
    assert c.post("/console/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False).status_code == 303
    assert c.get("/console/", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers_and_a_signed_http_only_cookie(env):
    _, _, app = env
    c = client(app)
    page = c.get("/console/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "httponly" in page.headers["set-cookie"].lower() and "samesite=lax" in page.headers["set-cookie"].lower()


# ----------------------------------------------------------------------------- masking and audit

def test_masking_differs_by_role_and_each_view_in_clear_is_audited(env):
    _, store, app = env
    pid = profile_id_of(store, "a1")
    admin = logged_in(app, "ada").get(f"/console/profiles/{pid}").text
    marketing = logged_in(app, "mark").get(f"/console/profiles/{pid}").text
    auditor = logged_in(app, "aud").get(f"/console/profiles/{pid}").text
    # admin: everything; marketing: confidential (employer) but not e-mail/phone/name; auditor: general only
    assert LI_NA_EMAIL in admin and LI_NA_PHONE in admin and "Li Na" in admin and "Acme Trading" in admin
    assert LI_NA_EMAIL not in marketing and "l***@corp.cn" in marketing and "+86139****5678" in marketing
    assert "Acme Trading" in marketing and "L***" in marketing and "Li Na" not in marketing
    assert "Acme Trading" not in auditor and LI_NA_EMAIL not in auditor and "masked for auditor" in auditor
    assert "a1" in admin and "a1" in marketing and "a1" not in auditor  # source keys are confidential
    assert "event_registered" in auditor and "marketing" in auditor  # general fields stay readable

    (entry,) = unmask_entries(store, "console:ada")
    assert entry.role == "admin" and entry.purpose == "administration" and entry.subjects == (f"profile:{pid}",)
    assert entry.row_count == 1
    assert {"person.emails[].address", "person.phones[].number", "person.name.full"} <= set(entry.fields)
    (seen,) = unmask_entries(store, "console:mark")
    assert "person.employer" in seen.fields and "person.emails[].address" not in seen.fields
    assert unmask_entries(store, "console:aud") == []  # nothing shown in clear, nothing to audit
    text = json.dumps([e.fields + e.subjects for e in unmask_entries(store, "console:ada")])
    assert "@" not in text and "Li Na" not in text  # value-free


def test_quarantined_raw_fields_are_masked_unless_the_role_sees_highly_confidential(env):
    _, store, app = env
    raw = json.dumps({"Email": "wang@corp.cn", "Mobile": "13800138000"})
    with store.transaction() as conn:
        run_id = runs.start_run(conn, "ingest", "crm")
        records.write_quarantine(conn, "crm", "contacts", [records.BadRecord("q1", "h1", raw, json.dumps(
            ["person.emails[0].address: not an e-mail address"]), "clean")], run_id, datetime.now(UTC))
        runs.finish_run(conn, run_id, "partial", runs.StreamCounts(read=1, quarantined=1), None)
        row_id = conn.exec_driver_sql("SELECT id FROM quarantine").scalar_one()
    run_page = logged_in(app, "mark").get(f"/console/runs/{run_id}").text
    assert "not an e-mail address" in run_page and f"/console/quarantine/{row_id}" in run_page
    masked = logged_in(app, "mark").get(f"/console/quarantine/{row_id}").text
    assert "wang@corp.cn" not in masked and "w***@corp.cn" in masked and "138****8000" in masked
    clear = logged_in(app, "ada").get(f"/console/quarantine/{row_id}").text
    assert "wang@corp.cn" in clear and "13800138000" in clear
    (entry,) = unmask_entries(store, "console:ada")
    assert entry.subjects == (f"quarantine:{row_id}",) and entry.fields == ("quarantine.raw",)
    assert unmask_entries(store, "console:mark") == []


# ----------------------------------------------------------------------------- search, review

def test_profile_search_is_exact_by_email_phone_or_id(env):
    _, store, app = env
    pid = profile_id_of(store, "a1")
    c = logged_in(app, "mark")
    token = csrf_of(c.get("/console/profiles").text)
    for kind, text in (("email", " LI.NA+news@Corp.cn "), ("phone", "139 1234 5678"), ("phone", LI_NA_PHONE)):
        found = c.post("/console/profiles", data={"csrf": token, "kind": kind, "q": text})
        assert f'href="/console/profiles/{pid}"' in found.text and "no profile found" not in found.text, text
    assert "no profile found" in c.post("/console/profiles", data={"csrf": token, "kind": "email",
                                                                   "q": "li.na@other.cn"}).text
    assert "not a valid phone number" in c.post("/console/profiles", data={"csrf": token, "kind": "phone",
                                                                           "q": "12"}).text
    by_id = c.post("/console/profiles", data={"csrf": token, "kind": "id", "q": str(pid)}, follow_redirects=False)
    assert by_id.headers["location"] == f"/console/profiles/{pid}"


def test_accepting_a_review_pair_merges_the_two_profiles(env):
    _, store, app = env
    before = {profile_id_of(store, "x1"), profile_id_of(store, "x2")}
    assert len(before) == 2
    c = logged_in(app, "mark")
    page = c.get("/console/review")
    assert 'class="accept"' in page.text
    with store.reading() as conn:
        item = conn.execute(select(identity_review.c.id)).scalar_one()
    answer = c.post(f"/console/review/{item}/accept", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303
    merged = profile_id_of(store, "x1")
    assert profile_id_of(store, "x2") == merged and answer.headers["location"].startswith(f"/console/profiles/{merged}")
    profile = c.get(answer.headers["location"]).text
    assert f"Review {item} accepted" in profile and "2 record(s)" in profile
    assert "x1" in profile and "x2" in profile  # both members listed (source keys: marketing sees them)
    assert "nothing open" in c.get("/console/review").text
    again = c.post(f"/console/review/{item}/reject", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 409


def test_an_auditor_may_look_at_the_queue_but_not_decide(env):
    _, store, app = env
    c = logged_in(app, "aud")
    page = c.get("/console/review")
    assert page.status_code == 200 and 'class="accept"' not in page.text
    with store.reading() as conn:
        item = conn.execute(select(identity_review.c.id)).scalar_one()
    assert c.post(f"/console/review/{item}/accept", data={"csrf": csrf_of(page.text)}).status_code == 403
    assert profile_id_of(store, "x1") != profile_id_of(store, "x2")


# ----------------------------------------------------------------------------- status, quality, segments

def test_overview_lists_connections_with_last_run_and_next_scheduled_run(env):
    config, store, app = env
    with store.transaction() as conn:
        run_id = runs.start_run(conn, "ingest", "crm_export")
        runs.finish_run(conn, run_id, "succeeded", runs.StreamCounts(read=3, inserted=3), None)
    home = logged_in(app, "aud").get("/console/").text
    for name in config.connections:
        assert f"?target={name}" in home
    assert f'/console/runs/{run_id}"><span class="badge succeeded">' in home
    scheduled = [n for n, c in config.connections.items() if c.schedule and c.enabled]
    assert scheduled and "if `custhub schedule` starts now" in home
    runs_page = logged_in(app, "aud").get("/console/runs?target=crm_export").text
    assert f"#{run_id}" in runs_page


def test_quality_page_draws_each_metric_over_time_and_says_why_a_run_is_degraded(env):
    config, store, app = env
    name = sorted(config.connections)[0]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with store.transaction() as conn:
        degraded = ["completeness of person.emails 0.40 < 0.60"]
        for i, (share, reasons) in enumerate(((0.9, []), (0.8, []), (0.4, degraded))):
            store_evaluation(conn, name, [("contacts", "completeness", "person.emails", share),
                                          ("*", "freshness", "last_success_hours", 2.0 + i)],
                             reasons, start + timedelta(days=i))
    page = logged_in(app, "aud").get(f"/console/quality?connection={name}").text
    assert page.count('<svg class="chart"') == 2 and "<polyline" in page
    assert "degraded" in page and "completeness of person.emails 0.40 &lt; 0.60" in page
    assert "-0.40" in page  # change against the previous evaluation


def test_segments_page_shows_sizes_and_members(env):
    _, store, app = env
    pid = profile_id_of(store, "a1")
    now = datetime.now(UTC)
    with store.transaction() as conn:
        conn.execute(insert(segment_state).values(segment="vip", rule_hash="x" * 32, evaluated_at=now, size=1))
        conn.execute(insert(segment_members).values(segment="vip", profile_id=pid, since=now))
    c = logged_in(app, "aud")
    page = c.get("/console/segments").text
    assert 'href="/console/segments/vip"' in page and ">1</td>" in page
    assert f'href="/console/profiles/{pid}"' in c.get("/console/segments/vip").text
    with store.transaction() as conn:  # a larger segment pages by profile id, 50 at a time
        conn.execute(insert(segment_state).values(segment="big", rule_hash="y" * 32, evaluated_at=now, size=55))
        conn.execute(insert(segment_members), [{"segment": "big", "profile_id": 1000 + i, "since": now}
                                               for i in range(55)])
    first = c.get("/console/segments/big").text
    assert first.count('href="/console/profiles/') == 50 and "?after=1049" in first
    assert c.get("/console/segments/big?after=1049").text.count('href="/console/profiles/') == 5
    assert 'href="/console/segments/vip"' in c.get(f"/console/profiles/{pid}").text


# ----------------------------------------------------------------------------- config and passwords

def test_password_hashes_verify_and_refuse():
    stored = hash_password("s3cret passphrase", log2_n=10)
    assert stored.startswith("scrypt$10$8$1$") and verify_password("s3cret passphrase", stored)
    assert not verify_password("s3cret passphras", stored) and not verify_password("x", "scrypt$bad")


def test_console_config_errors_name_the_path(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    with pytest.raises(ConfigError, match=r"console.users.eve.role: unknown role 'boss'"):
        console_settings(console_config(tmp_path / "a", db, users={"eve": {"password_hash": "scrypt$x",
                                                                          "role": "boss"}}))
    with pytest.raises(ConfigError, match="console.users.eve.password_hash"):
        console_config(tmp_path / "b", db, users={"eve": {"password_hash": "plain", "role": "admin"}})
    config = console_config(tmp_path / "c", db, enabled=False)
    assert console_settings(config).enabled is False
    webhooks = Starlette()
    assert with_console(webhooks, config, None) is webhooks  # disabled: nothing mounted


def test_build_console_alone_serves_at_the_root(env):
    config, store, _ = env
    c = TestClient(build_console(config, store))
    page = c.get("/login")
    answer = c.post("/login", data={"username": "aud", "password": PASSWORD, "csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert answer.headers["location"] == "/" and c.get("/").status_code == 200


def test_cli_hashes_a_password_and_prints_a_user_entry(tmp_path):
    from typer.testing import CliRunner

    from hub.cli import app as cli

    runner = CliRunner()
    answer = runner.invoke(cli, ["console", "hash-password"], input="a long passphrase\na long passphrase\n")
    assert answer.exit_code == 0, answer.output
    stored = answer.output.strip().splitlines()[-1]
    assert verify_password("a long passphrase", stored)
    config = console_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    answer = runner.invoke(cli, ["console", "add-user", "lin", "--role", "marketing", "--config", str(config.file)],
                           input="another passphrase\nanother passphrase\n")
    assert answer.exit_code == 0, answer.output
    import yaml

    entry = yaml.safe_load(answer.output.split("\n", 3)[-1])["console"]["users"]["lin"]
    assert entry["role"] == "marketing" and verify_password("another passphrase", entry["password_hash"])
    refused = runner.invoke(cli, ["console", "add-user", "lin", "--role", "boss", "--config", str(config.file)])
    assert refused.exit_code != 0
