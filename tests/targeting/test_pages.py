"""Targeting pages: queue, consignment with explanation and inspection form, rule editor,
model page; a real-browser test in which a consignment posted to the API arrives in the live
queue with its explanation, and the SSE alert stream delivers its alert within the request."""

from __future__ import annotations

import json
import threading
import time

import httpx
from playwright.sync_api import expect

from interdict.db.session import unit_of_work
from interdict.targeting import management, service
from tests.conftest import PASSWORD, login
from tests.targeting import kcs
from tests.targeting.test_service import declaration

T = "/api/v1/targeting"


def _trained(world) -> None:
    with unit_of_work(world.db) as session:
        actor = world.actor("targeter@a")
        from interdict.reference.registry import Registry
        registry = Registry()
        service.import_file(session, actor=actor, registry=registry,
                            data=kcs.head("train", 2000), filename="history.csv")
        management.train(session, actor=actor, registry=registry)


def test_pages_render_and_inspection_form_records(client, world):
    _trained(world)
    h = world.headers("targeter@a")
    c = client.post(f"{T}/consignments", headers=h, json=declaration()).json()
    csrf = login(client, "targeter@a")
    queue = client.get("/targeting")
    assert queue.status_code == 200 and "NL-DEC-1" in queue.text and "lane-red" in queue.text
    detail = client.get(f"/targeting/consignments/{c['id']}")
    assert detail.status_code == 200 and 'id="contrib-data"' in detail.text
    assert "precursor-first-import" in detail.text and 'id="inspection-form"' in detail.text
    # A seizure without saying what: refused with the field, nothing recorded.
    r = client.post(f"/targeting/consignments/{c['id']}/inspection",
                    data={"csrf_token": csrf, "result": "seized"})
    assert r.status_code == 422 and "substance" in r.text
    r = client.post(f"/targeting/consignments/{c['id']}/inspection",
                    data={"csrf_token": csrf, "result": "seized", "substance": "PMK glycidate",
                          "quantity_kg": "120", "critical": "true"}, follow_redirects=True)
    assert r.status_code == 200 and 'id="inspection-result"' in r.text
    assert "PMK glycidate" in r.text
    rules = client.get("/targeting/rules")
    assert rules.status_code == 200 and 'data-rule="precursor-first-import"' in rules.text
    bad = client.post("/targeting/rules", data={"csrf_token": csrf, "text": "rules: [",
                                                "note": "x"})
    assert bad.status_code == 422 and 'id="rules-error"' in bad.text and "line" in bad.text
    model = client.get("/targeting/model")
    assert model.status_code == 200 and 'id="active-model"' in model.text
    assert 'id="drift-data"' in model.text


def test_pages_need_targeting_permission(client, world):
    login(client, "officer@a")
    assert client.get("/targeting").status_code == 403


def _login(page, url, username):
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_alert_reaches_the_sse_stream_within_the_request(live_server, world):
    h = world.headers("targeter@a")
    events: list[dict] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{live_server.url}/api/v1/alerts/stream", headers=h,
                          timeout=15) as r:
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                    if kind == "ready":
                        ready.set()
                elif line.startswith("data: ") and kind == "alert":
                    events.append(json.loads(line[6:]))
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    started = time.monotonic()
    r = httpx.post(f"{live_server.url}{T}/consignments", headers=h, json=declaration())
    assert r.status_code == 200 and r.json()["alert_id"]
    thread.join(10)
    assert events and events[0]["id"] == r.json()["alert_id"]
    assert events[0]["source"] == "targeting"
    assert time.monotonic() - started < 5


def test_browser_sees_a_posted_consignment_arrive_with_its_explanation(live_server, page,
                                                                       world, tmp_path):
    _trained(world)
    _login(page, live_server.url, "targeter@a")
    page.click("nav.sidebar >> text=Targeting")
    expect(page.locator("h1")).to_have_text("Targeting queue")
    expect(page.locator("#live-status")).to_have_text("live")
    r = httpx.post(f"{live_server.url}{T}/consignments", headers=world.headers("targeter@a"),
                   json=declaration(reference="LIVE-77"))
    assert r.status_code == 200, r.text
    row = page.locator("#queue tbody tr", has_text="LIVE-77")
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".lane")).to_have_text("red")
    expect(row.locator(".why")).to_contain_text("precursor")
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
    row.locator("a", has_text="LIVE-77").click()
    expect(page.locator("#rule-hits")).to_contain_text("precursor-first-import")
    expect(page.locator("#contrib-chart")).to_have_attribute("data-rendered", "1")
    page.screenshot(path=str(tmp_path / "consignment.png"), full_page=True)
    page.select_option("#inspection-form select[name=result]", "nothing_found")
    page.click("#inspection-form button[type=submit]")
    expect(page.locator("#inspection-result")).to_contain_text("nothing found")
    page.goto(f"{live_server.url}/targeting/model")
    expect(page.locator("#drift-chart")).to_have_attribute("data-rendered", "1")
    page.screenshot(path=str(tmp_path / "model.png"), full_page=True)


def test_model_features_are_named_for_analysts():
    from interdict.targeting.scoring import feature_label

    assert feature_label("hs_code__origin_country_rate") == "fraud rate of HS code × origin country"
    assert feature_label("importer_days_last") == "days since last seen: importer"
    assert feature_label("tax_rate") == "tax rate (%)"
    assert feature_label("hs_chapter") == "HS chapter"
