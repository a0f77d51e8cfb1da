"""Precursor pages: server-rendered checks and a real-browser upload by an operator whose
alert the precursor officer then sees."""

from __future__ import annotations

from playwright.sync_api import expect

from interdict.db.session import unit_of_work
from interdict.precursors import service
from tests.conftest import PASSWORD, login
from tests.precursors.test_register import CLEAN, OPERATORS, _csv

LATE_CASH = _csv("S-500,BE-P-1,sale,1-Phenyl-2-propanone,40,kg,2025-06-02T08:00:00+02:00,"
                 "2025-06-05T08:00:00+02:00,Nordic Solvents Oy,BE,,,cash,resale,")


def _setup(world) -> None:
    with unit_of_work(world.db) as session:
        officer = world.actor("officer@a")
        service.import_operators(session, actor=officer, data=OPERATORS, filename="ops.csv")
        service.link_user(session, actor=officer, username="operator@a", licence="BE-P-1")


def test_registry_operator_and_upload_pages(client, world):
    _setup(world)
    csrf = login(client, "officer@a")
    page = client.get("/precursors", params={"q": "beta"})
    assert page.status_code == 200 and "BE-P-2" in page.text and "BE-P-1" not in page.text
    r = client.post("/precursors/upload", data={"csrf_token": csrf},
                    files={"file": ("tx.csv", CLEAN)})
    assert r.status_code == 200 and 'id="receipt"' in r.text
    bad = client.post("/precursors/upload", data={"csrf_token": csrf},
                      files={"file": ("bad.csv", CLEAN.replace(b",kg,", b",kilo,"))})
    assert bad.status_code == 422 and 'id="row-errors"' in bad.text and "kilo" in bad.text
    op = client.get("/precursors/operators/BE-P-1", params={"period": "2025"})
    assert op.status_code == 200 and 'id="stock-data"' in op.text
    assert 'id="return"' in op.text and "Acetone" in op.text
    assert client.get("/precursors/notifications").status_code == 200


def test_operator_pages_hide_the_authority_view(client, world):
    _setup(world)
    login(client, "operator@a")
    assert client.get("/precursors/upload").status_code == 200
    assert client.get("/precursors").status_code == 403
    assert client.get("/precursors/operators/BE-P-2").status_code == 404


def test_browser_operator_uploads_and_officer_sees_the_alert(live_server, page, world,
                                                             tmp_path):
    _setup(world)
    upload = tmp_path / "june.csv"
    upload.write_bytes(LATE_CASH)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "operator@a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.sidebar >> text=Submit records")
    expect(page.locator("h1")).to_have_text("Submit transactions")
    page.set_input_files("#upload-form input[type=file]", str(upload))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#receipt")).to_contain_text("1 accepted")
    expect(page.locator("nav.sidebar")).not_to_contain_text("Alerts")
    page.screenshot(path=str(tmp_path / "operator.png"))
    page.click("text=Log out")
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "officer@a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.sidebar >> text=Precursors")
    expect(page.locator("#findings")).to_contain_text("late_registration")
    expect(page.locator("#findings")).to_contain_text("suspicious_order")
    page.click("#operators >> text=BE-P-1")
    expect(page.locator("#operator-findings")).to_contain_text("S-500")
    chart = page.locator("#stock-chart")
    expect(chart).to_have_attribute("data-rendered", "1-Phenyl-2-propanone")
    page.screenshot(path=str(tmp_path / "officer.png"), full_page=True)
    page.goto(f"{live_server.url}/alerts?source=precursors")
    expect(page.locator("body")).to_contain_text("S-500")
