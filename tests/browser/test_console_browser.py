"""The admin console in headless Chromium: two roles see different masking, a profile opens from a
search, accepting a review pair shows the merged profile; screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.console import with_console
from hub.server import build_app, server_settings
from tests.browser.support import serve_in_thread
from tests.test_console_support import (
    LI_NA_EMAIL,
    PASSWORD,
    console_config,
    profile_id_of,
    seeded_store,
    store_evaluation,
)


@pytest.fixture
def site(tmp_path):
    config = console_config(tmp_path, f"sqlite:///{tmp_path / 'custhub.db'}")
    store = seeded_store(config)
    url, server, thread = serve_in_thread(with_console(build_app(server_settings(config), store), config, store))
    try:
        yield url, store
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def log_in(browser, url: str, name: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{url}/console/")
    assert "/console/login" in page.url
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def test_two_roles_see_different_masking_and_a_review_accept_shows_the_merge(browser, artifacts, site):
    url, store = site
    refused = log_in(browser, url, "ada", "not the password")
    assert refused.locator("p.error").inner_text() == "Wrong user name or password."
    refused.screenshot(path=str(artifacts / "console-login-refused.png"))
    refused.context.close()

    admin = log_in(browser, url, "ada")
    assert admin.locator("#whoami").inner_text().split() == ["ada", "admin"]
    admin.screenshot(path=str(artifacts / "console-overview.png"), full_page=True)
    admin.click("nav >> text=Profiles")
    admin.select_option("select[name=kind]", "email")
    admin.fill("input[name=q]", LI_NA_EMAIL)
    admin.click("form.search button")
    pid = profile_id_of(store, "a1")
    admin.click(f"#results a[href='/console/profiles/{pid}']")
    assert admin.url.endswith(f"/console/profiles/{pid}")
    admin_email = admin.locator("td.value[data-field=emails]").inner_text()
    admin_name = admin.locator("td.value[data-field=name]").inner_text()
    assert admin_email == LI_NA_EMAIL and admin_name == "Li Na"
    assert admin.locator("#members tbody tr").count() == 2
    admin.screenshot(path=str(artifacts / "console-profile-admin.png"), full_page=True)

    marketing = log_in(browser, url, "mark")
    marketing.goto(f"{url}/console/profiles/{pid}")
    marketing_email = marketing.locator("td.value[data-field=emails]").inner_text()
    assert marketing_email == "l***@corp.cn" != admin_email
    assert marketing.locator("td.value[data-field=name]").inner_text() == "L***"
    assert marketing.locator("td.value[data-field=employer]").inner_text() == "Acme Trading"  # confidential: shown
    marketing.screenshot(path=str(artifacts / "console-profile-marketing.png"), full_page=True)

    x1, x2 = profile_id_of(store, "x1"), profile_id_of(store, "x2")
    assert x1 != x2
    marketing.click("nav >> text=Review")
    rows = marketing.locator("#review tbody tr[data-review]")
    assert rows.count() == 1
    marketing.screenshot(path=str(artifacts / "console-review-queue.png"), full_page=True)
    rows.first.locator("button.accept").click()
    marketing.wait_for_selector("p.notice")
    merged = profile_id_of(store, "x1")
    assert profile_id_of(store, "x2") == merged
    assert marketing.url.split("?")[0].endswith(f"/console/profiles/{merged}")
    assert "accepted" in marketing.locator("p.notice").inner_text()
    assert marketing.locator("#members tbody tr").count() == 2
    sources = marketing.locator("#members tbody").inner_text()
    assert "x1" in sources and "x2" in sources
    marketing.screenshot(path=str(artifacts / "console-review-merged.png"), full_page=True)
    marketing.goto(f"{url}/console/review")
    assert marketing.locator("#review tbody tr[data-review]").count() == 0
    for page in (admin, marketing):
        page.context.close()


def test_quality_charts_render_as_inline_svg(browser, artifacts, site):
    url, store = site
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with store.transaction() as conn:
        for i in range(8):
            store_evaluation(conn, "crm_export", [("contacts", "completeness", "person.emails", 0.9 - 0.05 * i),
                                                  ("contacts", "completeness", "person.phones", 0.5 + 0.03 * i),
                                                  ("contacts", "validity", "*", 0.97),
                                                  ("*", "freshness", "last_success_hours", 3.0 * i)],
                             ["completeness of person.emails 0.55 < 0.60"] if i == 7 else [], start + timedelta(days=i))
    page = log_in(browser, url, "aud")
    page.goto(f"{url}/console/quality?connection=crm_export")
    assert page.locator("svg.chart").count() == 3
    assert page.locator("svg.chart polyline").count() == 4
    assert "0.55 < 0.60" in page.locator("ul.reasons").inner_text()
    page.screenshot(path=str(artifacts / "console-quality.png"), full_page=True)
    page.context.close()
