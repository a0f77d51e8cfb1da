"""Substance pages through the real app, and in a real Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, login


def test_search_page_verdict_and_depiction(client, world):
    login(client, "lab@a")
    page = client.get("/substances", params={"q": "CCCCCC(=O)N(c1ccccc1)C1CCN(CCc2ccc(C)cc2)CC1"})
    assert page.status_code == 200
    assert 'id="verdict-status">CONTROLLED' in page.text
    assert "<svg" in page.text and "21 CFR 1308.11(h)(30)" in page.text
    page = client.get("/substances", params={"q": "103-79-8"})
    assert 'id="check-error"' in page.text and "check digit" in page.text
    page = client.get("/substances", params={"q": "ketamin", "kind": "name"})
    assert "Did you mean" in page.text and "Ketamine" in page.text


def test_lists_pages(client, world):
    login(client, "analyst@a")
    page = client.get("/substances/lists")
    assert "UN Convention 1988, Tables I and II" in page.text and "us-dea" not in page.text
    page = client.get("/substances/lists/substances/un_1988_tables")
    assert "Safrole" in page.text and "2932.94" in page.text
    assert client.get("/substances/lists/nope").status_code == 404


def test_anonymous_redirected(client):
    r = client.get("/substances", follow_redirects=False)
    assert r.status_code == 303


@pytest.mark.browser
def test_browser_search_structure_and_see_highlight(live_server, page, world):
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "lab@a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.sidebar >> text=Substances")
    page.fill("input[name=q]", "CCCCCC(=O)N(c1ccccc1)C1CCN(CCc2ccc(C)cc2)CC1")
    page.click("#btn-check")
    expect(page.locator("#verdict-status")).to_have_text("CONTROLLED")
    expect(page.locator("#matches")).to_contain_text("US fentanyl-related substances class")
    svg = page.locator("#depiction svg")
    expect(svg).to_be_visible()
    # RDKit draws highlighted atoms as filled ellipses in the highlight colour (#FF8C19).
    markup = svg.evaluate("el => el.outerHTML")
    assert re.search(r"fill:#FF8C19", markup, re.IGNORECASE), markup[:300]
    page.fill("input[name=q]", "COCCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2")  # PMK glycidate ester
    page.click("#btn-check")
    expect(page.locator("#verdict-status")).to_have_text("WATCH")
    expect(page.locator("#matches")).to_contain_text("designer precursor")
