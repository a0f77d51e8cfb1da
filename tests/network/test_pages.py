"""Intelligence-file pages through the app, and the link chart in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from interdict.network.models import Entity
from tests.conftest import PASSWORD, login
from tests.network.test_store import CUSTOMS, PEOPLE, _import, _lines


def _ids(world) -> dict[str, int]:
    from interdict.db.session import unit_of_work

    with unit_of_work(world.db, readonly=True) as session:
        return {e.ftm_id: e.id for e in session.scalars(select(Entity))}


def test_search_and_entity_page_show_provenance(client, world):
    _import(world, PEOPLE)
    _import(world, _lines({"id": "p1", "schema": "Person",
                           "properties": {"birthDate": ["1980-01-02"]}}),
            provenance=CUSTOMS, filename="customs.jsonl")
    login(client, "analyst@a")
    page = client.get("/network", params={"q": "jan"})
    assert page.status_code == 200 and "Jan de Vries" in page.text
    p1 = _ids(world)["p1"]
    page = client.get(f"/network/entities/{p1}")
    assert 'id="conflicts"' in page.text and "birthDate" in page.text
    assert "AG-C" in page.text and "H1" in page.text and "2024-03-01" in page.text
    near = client.get(f"/network/chart/neighbours/{p1}").json()
    assert len(near["nodes"]) == 3
    login(client, "analyst@b")
    assert client.get(f"/network/entities/{p1}").status_code == 404


@pytest.mark.browser
def test_browser_link_chart_expand_and_open_entity(live_server, page, world):
    _import(world, PEOPLE)
    ids = _ids(world)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "analyst@a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/network/chart?focus={ids['p2']}")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-nodes", "2")  # Piet and his associate Jan
    # Expand Jan by clicking his node: the company he owns appears.
    position = page.evaluate(
        "id => { const n = window.cyInstance.getElementById(String(id)).renderedPosition();"
        " return [n.x, n.y]; }", ids["p1"])
    box = chart.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + position[0], box["y"] + position[1])
    expect(chart).to_have_attribute("data-nodes", "3")
    visible = "() => window.cyInstance.nodes(':visible').length"
    page.select_option("select[name=grade]", "A")  # everything here is graded B2
    assert page.evaluate(visible) == 0
    page.select_option("select[name=grade]", "B")
    assert page.evaluate(visible) == 3
    page.uncheck("input[name=schema][value=Company]")
    assert page.evaluate(visible) == 2
    page.goto(f"{live_server.url}/network/entities/{ids['c1']}")
    expect(page.locator("#entity-caption")).to_have_text("Chem Trade BV")


def test_resolution_page_run_and_judge(client, world):
    from tests.network.test_store import _lines

    _import(world, _lines(
        {"id": "r1", "schema": "Person", "properties": {
            "name": ["Jan de Vries"], "birthDate": ["1980-02-01"],
            "passportNumber": ["NX1234567"]}},
        {"id": "r2", "schema": "Person", "properties": {
            "name": ["DE VRIES, Jan"], "birthDate": ["1980-02-01"],
            "passportNumber": ["NX 1234567"]}},
        {"id": "r3", "schema": "Person", "properties": {"name": ["Maria Jansen"]}}))
    csrf = login(client, "analyst@a")
    r = client.post("/network/resolution/run", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/network/resolution")
    assert 'id="queue"' in page.text and "DE VRIES, Jan" in page.text
    assert "passportNumber" in page.text  # the explanation is shown
    ids = _ids(world)
    r = client.post("/network/resolution/judge", follow_redirects=False, data={
        "csrf_token": csrf, "left_id": ids["r1"], "right_id": ids["r2"],
        "decision": "accept", "reason": "same passport"})
    assert r.status_code == 303
    assert 'id="queue-empty"' in client.get("/network/resolution").text
    entity = client.get(f"/network/entities/{ids['r2']}")
    assert 'id="canonical"' in entity.text
    login(client, "targeter@a")  # may read, may not judge
    page = client.get("/network/resolution")
    assert page.status_code == 200 and 'id="btn-resolve"' not in page.text


def test_analysis_page_key_players_disruption_and_ranks(client, world):
    from pathlib import Path

    from interdict.db.session import unit_of_work
    from interdict.network import service
    from tests.network.test_store import POLICE, REGISTRY

    caviar = Path(service.__file__).parent / "demo_data" / "caviar"
    with unit_of_work(world.db) as session:
        for phase in (1, 2, 3):
            service.import_network(session, actor=world.actor("analyst@a"), registry=REGISTRY,
                                   filename=f"phase{phase}.csv",
                                   data=(caviar / f"phase{phase}.csv").read_bytes(),
                                   provenance=POLICE, namespace="caviar",
                                   period=f"phase {phase}", label_prefix="n")
    login(client, "analyst@a")
    page = client.get("/network/analysis")
    assert page.status_code == 200
    assert 'id="key-players"' in page.text and ">n1<" in page.text  # CAVIAR's hub
    assert 'id="disruption-data"' in page.text and "collective_influence" in page.text
    assert 'id="rank-changes"' in page.text and "phase 3" in page.text
    one = client.get("/network/analysis", params={"period": "phase 1", "weight_as": "distance"})
    assert "weights as <b>distance</b>" in one.text and 'id="rank-changes"' not in one.text
    assert "; directed, weights" in one.text  # CAVIAR's calls keep their direction
    forced = client.get("/network/analysis", params={"direction": "undirected"})
    assert "; undirected, weights" in forced.text
    metrics = client.get("/network/chart/metrics").json()
    assert metrics["key_players"] and all("community" in m for m in metrics["metrics"].values())
