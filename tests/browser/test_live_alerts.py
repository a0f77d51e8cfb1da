"""In a real Chromium: log in, see the dashboard, watch a new alert arrive live, work it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _login(page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_login_dashboard_and_live_alert_arrival(live_server, page, world):
    url = live_server.url
    headers = world.headers("targeter@a")
    httpx.post(f"{url}/api/v1/alerts", headers=headers, json={
        "source": "precursors", "kind": "order.suspicious", "title": "Earlier alert",
        "severity": "medium"})
    _login(page, url, "analyst@a")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#count-new")).to_have_text("1")
    expect(page.locator("#alerts-chart")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#alerts-chart canvas")).to_have_count(1)

    page.click("nav.sidebar >> text=Alert queue")
    expect(page.locator("h1")).to_have_text("Alert queue")
    expect(page.locator("#alert-rows tr")).to_have_count(1)
    page.wait_for_function(
        "document.querySelector('#alert-rows') && "
        "document.querySelector('#alert-rows')['htmx-internal-data'] !== undefined")
    page.wait_for_timeout(500)  # let the EventSource connect

    r = httpx.post(f"{url}/api/v1/alerts", headers=headers, json={
        "source": "targeting", "kind": "consignment.risk", "severity": "critical",
        "title": "LIVE: container MSCU1234567 HS 2914.31 via TR", "score": 0.97,
        "reasons": [{"rule": "hs_precursor_chapter", "contribution": 0.6,
                     "values": {"hs": "2914.31"}}]})
    assert r.status_code == 201
    new_id = r.json()["id"]
    row = page.locator(f"#alert-{new_id}")
    expect(row).to_be_visible(timeout=10000)
    expect(row).to_contain_text("LIVE: container MSCU1234567")
    expect(page.locator("#alert-rows tr").first).to_have_attribute("id", f"alert-{new_id}")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(f"#{new_id}")
    expect(page.locator("table.reasons")).to_contain_text("hs_precursor_chapter")
    page.click("#btn-triage")
    expect(page.locator("#alert-status")).to_contain_text("triaged")
    page.select_option("select[name=outcome]", "confirmed")
    page.fill("input[name=note]", "Acetic anhydride found behind false wall")
    page.click("#btn-close")
    expect(page.locator("#alert-status")).to_contain_text("closed")
    expect(page.locator("#alert-status")).to_contain_text("confirmed")


def test_other_agency_does_not_see_live_alert(live_server, page, world):
    url = live_server.url
    _login(page, url, "analyst@b")
    page.goto(f"{url}/alerts")
    page.wait_for_timeout(800)
    httpx.post(f"{url}/api/v1/alerts", headers=world.headers("analyst@a"), json={
        "source": "targeting", "kind": "k", "title": "Agency A only", "severity": "high"})
    page.wait_for_timeout(1500)
    expect(page.locator("#alert-rows")).not_to_contain_text("Agency A only")


def test_wrong_password_message(live_server, page, world):
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "analyst@a")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("wrong username or password")
