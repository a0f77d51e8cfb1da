"""Seizure pages: list with import, entry form with field errors, seizure page with marks and
lab reports, mark search side by side, links with decisions, series; in a real Chromium the
world map draws the seizures and the dashboard its charts."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from interdict.db.session import unit_of_work
from interdict.reference.registry import Registry
from interdict.seizures import cbp, service
from interdict.seizures.marks_generate import distort, stamp
from tests.conftest import PASSWORD, login
from tests.seizures.test_service import GOOD


def _png(logo: int, salt: int) -> bytes:
    img = distort(stamp(logo, 5), np.random.default_rng([logo, salt]), strength=0.6)
    out = io.BytesIO()
    Image.fromarray(img[:, :, ::-1]).save(out, format="PNG")
    return out.getvalue()


def _form(csrf: str, **over: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "reference": "WEB-1", "seized_at": "2026-07-01T12:00:00+02:00",
            "country": "NL", "place": "Eindhoven", "transport_mode": "road",
            "handling": "H0", "persons": "Kees Jansen", "line0_substance": "amphetamine",
            "line0_quantity": "12", "line0_unit": "kg", "line0_form": "other",
            "line1_substance": "", "line1_quantity": "", "line2_substance": ""}
    data.update(over)
    return data


def test_entry_form_marks_profiles_links_and_series(client, world):
    csrf = login(client, "analyst@a")
    assert client.get("/seizures/new").status_code == 200
    # Field errors are shown on the form, which keeps what was typed; nothing is recorded.
    bad = client.post("/seizures/new", data=_form(csrf, seized_at="2026-07-01 12:00",
                                                  latitude="95", longitude="5",
                                                  line0_substance="unobtainium"))
    assert bad.status_code == 422 and 'id="form-errors"' in bad.text
    for text in ("seized_at", "no UTC offset", "latitude", "unobtainium", "Eindhoven"):
        assert text in bad.text
    assert "WEB-1" not in client.get("/seizures").text.split('id="seizures"')[1]
    r = client.post("/seizures/new", data=_form(csrf), follow_redirects=True)
    assert r.status_code == 200 and "Seizure WEB-1" in r.text
    assert "status-controlled" in r.text and "Kees Jansen" in r.text
    seizure_url = str(r.url)
    # Correcting: the form comes back filled in; the reference cannot change.
    form = client.get(f"{seizure_url}/edit")
    assert form.status_code == 200 and 'value="Eindhoven"' in form.text
    assert 'value="WEB-1" readonly' in form.text and 'value="amphetamine"' in form.text
    assert 'value="2026-07-01T12:00:00+02:00"' in form.text
    r = client.post(f"{seizure_url}/edit", data=_form(csrf, place="Tilburg",
                                                       line1_substance="MDMA",
                                                       line1_quantity="500",
                                                       line1_unit="tablets",
                                                       line1_form="tablet"),
                    follow_redirects=True)
    assert r.status_code == 200 and "Tilburg" in r.text and "MDMA" in r.text
    bad = client.post(f"{seizure_url}/edit", data=_form(csrf, country="ZZ"))
    assert bad.status_code == 422 and "The correction was not saved" in bad.text
    # A mark photo: thumbnail on the page; a PDF is refused on the page with the reason.
    r = client.post(f"{seizure_url}/marks", data={"csrf_token": csrf, "kind": "stamp",
                                                  "shape": "round"},
                    files={"image": ("s.png", _png(9, 1))}, follow_redirects=True)
    assert r.status_code == 200 and "/image?thumbnail=true" in r.text
    r = client.post(f"{seizure_url}/marks", data={"csrf_token": csrf},
                    files={"image": ("s.pdf", b"%PDF-1.7")})
    assert r.status_code == 422 and 'id="mark-errors"' in r.text and "not an image" in r.text
    r = client.post(f"{seizure_url}/profiles", data={"csrf_token": csrf, "report": "{oops"})
    assert r.status_code == 422 and 'id="profile-errors"' in r.text
    # A second seizure with another photo of the same stamp: found side by side, linked.
    r = client.post("/seizures/new", data=_form(csrf, reference="WEB-2", country="BE"),
                    follow_redirects=True)
    second = str(r.url)
    client.post(f"{second}/marks", data={"csrf_token": csrf},
                files={"image": ("s.png", _png(9, 2))})
    r = client.post("/seizures/marks", data={"csrf_token": csrf},
                    files={"image": ("q.png", _png(9, 3))})
    assert r.status_code == 200 and 'id="mark-results"' in r.text
    first = r.text.split('class="card compare"')[1]
    assert ("WEB-1" in first or "WEB-2" in first) and "verified" in first
    assert 'src="data:image/jpeg;base64,' in first  # the query, beside each candidate
    client.post("/seizures/links/find", data={"csrf_token": csrf})
    links = client.get("/seizures/links")
    assert links.status_code == 200 and "WEB-1" in links.text and "WEB-2" in links.text
    assert "mark:" in links.text and "false-link rate" in links.text
    link_id = links.text.split('data-link="')[1].split('"')[0]
    r = client.post(f"/seizures/links/{link_id}/decision",
                    data={"csrf_token": csrf, "decision": "confirm", "note": "same stamp"},
                    follow_redirects=True)
    assert r.status_code == 200 and "confirmed" in r.text and "alert #" in r.text
    series = client.get(f"{seizure_url}/series")
    assert series.status_code == 200 and "WEB-2" in series.text and "BE, NL" in series.text


def test_list_import_and_permissions(client, world):
    csrf = login(client, "analyst@a")
    r = client.post("/seizures/import", data={"csrf_token": csrf},
                    files={"file": ("s.csv", GOOD)})
    assert r.status_code == 200 and 'id="import-receipt"' in r.text and "NL-24-001" in r.text
    bad = GOOD.replace(b"2026-04-02T14:00:00Z", b"2026-04-02")
    r = client.post("/seizures/import", data={"csrf_token": csrf},
                    files={"file": ("bad.csv", bad)})
    assert r.status_code == 422 and "row 4: seized_at" in r.text
    assert "NL-24-002" in client.get("/seizures?country=BE").text
    assert "NL-24-001" not in client.get("/seizures?country=BE").text
    client.get("/logout")
    login(client, "operator@a")
    assert client.get("/seizures").status_code == 403


def _seed(world) -> None:
    with unit_of_work(world.db) as session:
        actor = world.actor("analyst@a")
        service.import_file(session, actor=actor, registry=Registry(), data=GOOD,
                            filename="seizures.csv")
        service.import_aggregates(session, actor=actor, rows=cbp.shipped()[:2000],
                                  source="cbp", filename="shipped")


def _login(page, url, username):
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_map_and_dashboard_render_in_a_browser(live_server, page, world, tmp_path):
    _seed(world)
    _login(page, live_server.url, "analyst@a")
    page.click("nav.sidebar >> text=Seizures")
    expect(page.locator("#seizures")).to_contain_text("NL-24-001")
    page.click(".subnav >> text=Map")
    world_map = page.locator("#seizure-map")
    expect(world_map).to_have_attribute("data-rendered", "2", timeout=15_000)
    assert world_map.get_attribute("data-error") is None
    # ECharts draws on a canvas: the map is there when the canvas has countries on it.
    canvas = world_map.locator("canvas").first
    expect(canvas).to_be_visible()
    assert page.evaluate("""() => {
        const c = document.querySelector('#seizure-map canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
        return painted / (d.length / 4);
    }""") > 0.1
    page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
    page.click(".subnav >> text=Dashboard")
    expect(page.locator("#chart-substance")).to_have_attribute("data-rendered", "1")
    expect(page.locator("#chart-aggregates")).not_to_have_attribute("data-rendered", "")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
