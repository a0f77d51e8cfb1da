"""Targeting through the API on both databases: history import, training, real-time
submission with alerts, bad input, inspections closing alerts, rule versions, scoping."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from interdict.db.session import unit_of_work
from interdict.targeting.models import Consignment, HistoryCounter, RuleStat
from tests.targeting import kcs

T = "/api/v1/targeting"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def declaration(**over):
    body = {"kind": "declaration", "reference": "NL-DEC-1", "declared_at": NOW.isoformat(),
            "office": "40", "declarant": "DECL01", "importer": "IMP-NEW-1", "seller": "S1",
            "hs_code": "2914.31", "departure_country": "CN", "origin_country": "CN",
            "net_mass_kg": 500, "value": 10000, "transport_mode": "10"}
    body.update(over)
    return body


def _history(client, headers, rows=3000):
    r = client.post(f"{T}/import", headers=headers,
                    files={"file": ("history.csv", kcs.head("train", rows))})
    assert r.status_code == 200, r.text
    return r.json()


def test_history_import_is_all_or_nothing_and_idempotent(client, world, db):
    h = world.headers("targeter@a")
    receipt = _history(client, h, 500)
    assert receipt["history"] == 500 and receipt["scored"] == 0
    assert _history(client, h, 500)["repeat"] is True
    with unit_of_work(db, readonly=True) as s:
        n = s.scalar(select(func.count()).select_from(Consignment))
        total = s.scalar(select(HistoryCounter.n_declared).where(HistoryCounter.key == "all=*"))
    assert n == 500 and total == 500
    # The same rows in another file (one line more) are unchanged, the new one added.
    r = client.post(f"{T}/import", headers=h,
                    files={"file": ("more.csv", kcs.head("train", 501))})
    assert r.json()["unchanged"] == 500 and r.json()["history"] == 1
    # A bad row refuses the whole file: nothing stored, every error named.
    bad = kcs.head("train", 3, skip=600).decode().splitlines()
    cells = bad[2].split(",")
    cells[12] = "2914"        # HS6 Code too short
    cells[18] = "-5"          # Net Mass negative
    bad[2] = ",".join(cells)
    r = client.post(f"{T}/import", headers=h,
                    files={"file": ("bad.csv", ("\n".join(bad) + "\n").encode())})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["error"]["errors"]}
    assert {"row 3: HS6 Code", "row 3: Net Mass"} <= fields
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Consignment)) == 501
    # Outcomes on some rows only: refused (history or arrivals, never mixed).
    mixed = kcs.head("train", 3, skip=700).decode().splitlines()
    mixed[2] = ",".join(mixed[2].split(",")[:-2] + ["", ""])
    r = client.post(f"{T}/import", headers=h,
                    files={"file": ("mixed.csv", ("\n".join(mixed) + "\n").encode())})
    assert r.status_code == 422 and "row 3" in r.json()["error"]["errors"][0]["field"]


def test_submit_scores_lanes_alerts_and_inspection_closes(client, world, db):
    h = world.headers("targeter@a")
    _history(client, h, 3000)
    r = client.post(f"{T}/models/train", headers=h)
    assert r.status_code == 200, r.text
    model = r.json()
    assert model["active"] and model["n_train"] + model["n_valid"] == 3000
    # A first import of a precursor HS code: the shipped profile forces red and alerts.
    r = client.post(f"{T}/consignments", headers=h, json=declaration())
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["lane"] == "red" and c["alert_id"]
    assert c["model_probability"] is not None and len(c["contributions"]) == 5
    rules_hit = {x["rule"] for x in c["rule_hits"]}
    assert "precursor-first-import" in rules_hit
    assert any("forced red" in reason for reason in c["lane_reasons"])
    alert = client.get(f"/api/v1/alerts/{c['alert_id']}", headers=h).json()
    assert alert["source"] == "targeting" and alert["status"] == "new"
    assert any(x["rule"] == "rule:precursor-first-import" for x in alert["reasons"])
    # The same POST again: the first selection; other content under that reference: 409.
    again = client.post(f"{T}/consignments", headers=h, json=declaration())
    assert again.json()["id"] == c["id"]
    assert client.post(f"{T}/consignments", headers=h,
                       json=declaration(value=1)).status_code == 409
    # Inspection: labels the consignment, closes the alert, counts the rule's outcome.
    r = client.post(f"{T}/consignments/{c['id']}/inspection", headers=h,
                    json={"result": "seized", "substance": "BMK", "quantity_kg": 480,
                          "critical": True})
    assert r.status_code == 200, r.text
    assert r.json()["inspection"]["result"] == "seized" and r.json()["fraud"] == 1
    alert = client.get(f"/api/v1/alerts/{c['alert_id']}", headers=h).json()
    assert alert["status"] == "closed" and alert["outcome"] == "confirmed"
    with unit_of_work(db, readonly=True) as s:
        stat = s.get(RuleStat, (world.agencies["A"].id, "precursor-first-import"))
        counter = s.scalar(select(HistoryCounter).where(
            HistoryCounter.key == "importer=IMP-NEW-1"))
        assert (stat.hits, stat.inspected, stat.positives) == (1, 1, 1)
        assert (counter.n_declared, counter.n_labelled, counter.n_positive,
                counter.n_critical) == (1, 1, 1, 1)
    assert client.post(f"{T}/consignments/{c['id']}/inspection", headers=h,
                       json={"result": "nothing_found"}).status_code == 409
    rules = client.get(f"{T}/rules", headers=h).json()
    first = next(r for r in rules["rules"] if r["id"] == "precursor-first-import")
    assert first["hit_rate"] == 1.0
    # The importer is no longer new: the first-import profile does not fire again.
    r = client.post(f"{T}/consignments", headers=h, json=declaration(reference="NL-DEC-2"))
    assert "precursor-first-import" not in {x["rule"] for x in r.json()["rule_hits"]}
    # The queue lists both, newest last; "after" gives only newer ones.
    queue = client.get(f"{T}/consignments", headers=h).json()
    assert [q["reference"] for q in queue][-2:] == ["NL-DEC-1", "NL-DEC-2"]
    assert [q["reference"] for q in client.get(f"{T}/consignments", headers=h,
                                               params={"after": c["id"]}).json()] == ["NL-DEC-2"]
    drift = client.get(f"{T}/drift", headers=h).json()
    assert drift["recent"]["scored"] == 2 and drift["recent"]["inspected"] == 1


def test_bad_consignments_name_the_field_and_store_nothing(client, world, db):
    h = world.headers("targeter@a")
    for body, field in [
        ({k: v for k, v in declaration().items() if k != "importer"}, "importer"),
        (declaration(hs_code="29x4"), "hs_code"),
        (declaration(origin_country="China"), "origin_country"),
        (declaration(declared_at="2026-01-01T10:00:00"), "declared_at"),
        (declaration(net_mass_kg=-1), "net_mass_kg"),
        (declaration(fraud=1), "fraud"),
        ({"kind": "submarine", "reference": "X"}, "kind"),
    ]:
        r = client.post(f"{T}/consignments", headers=h, json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in r.text, (field, r.text)
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Consignment)) == 0
    # Unknown importer, declarant and HS code are scored, not refused (no model: rules only).
    r = client.post(f"{T}/consignments", headers=h,
                    json=declaration(hs_code="999999", importer="NEVER-SEEN"))
    assert r.status_code == 200 and r.json()["model_probability"] is None


def test_aviation_and_craft_reports_are_scored_by_rules(client, world):
    h = world.headers("targeter@a")
    flight = {"kind": "aviation", "reference": "GA-1", "declared_at": NOW.isoformat(),
              "office": "EHAM", "aircraft_registration": "N123AB", "operator": "Air X",
              "pilot": "P. Pilot", "passengers": ["A", "B"], "departure_airport": "SKBO",
              "arrival_airport": "EHAM", "departure_country": "CO",
              "arrived_at_departure": (NOW - dt.timedelta(hours=14)).isoformat(),
              "actual_departure": (NOW - dt.timedelta(hours=10)).isoformat()}
    r = client.post(f"{T}/consignments", headers=h, json=flight)
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["lane"] == "red" and "aviation-short-stay" in {x["rule"] for x in c["rule_hits"]}
    assert c["stay_hours"] == 4.0 and c["details"]["aircraft_registration"] == "N123AB"
    # A long stay at the same departure: the profile does not fire.
    long = {**flight, "reference": "GA-2",
            "arrived_at_departure": (NOW - dt.timedelta(hours=80)).isoformat()}
    c2 = client.post(f"{T}/consignments", headers=h, json=long).json()
    assert "aviation-short-stay" not in {x["rule"] for x in c2["rule_hits"]}
    bad = {**flight, "reference": "GA-3",
           "arrived_at_departure": (NOW - dt.timedelta(hours=1)).isoformat()}
    r = client.post(f"{T}/consignments", headers=h, json=bad)
    assert r.status_code == 422 and "actual_departure" in r.text


def test_rule_versions_refuse_bad_files_and_keep_the_active_one(client, world):
    h = world.headers("targeter@a")
    current = client.get(f"{T}/rules", headers=h).json()
    assert current["shipped_default"] is True
    broken = current["text"].replace("weight: 0.45", "weight: 4.5", 1)
    assert broken != current["text"]
    r = client.put(f"{T}/rules", headers=h, json={"text": broken, "note": "typo"})
    assert r.status_code == 422
    assert any("line" in e["reason"] for e in r.json()["error"]["errors"]), r.text
    assert client.get(f"{T}/rules", headers=h).json()["shipped_default"] is True
    mine = """
rules:
  - id: heavy-from-co
    title: Heavy consignment from Colombia
    owner: test unit
    weight: 0.9
    lane: yellow
    when:
      - {field: origin_country, equals: "CO"}
      - {field: net_mass_kg, above: 1000}
"""
    r = client.put(f"{T}/rules", headers=h, json={"text": mine, "note": "mine"})
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    hit = client.post(f"{T}/consignments", headers=h,
                      json=declaration(origin_country="CO", net_mass_kg=2000)).json()
    near = client.post(f"{T}/consignments", headers=h,
                       json=declaration(reference="NL-DEC-9", origin_country="CO",
                                        net_mass_kg=999)).json()
    assert [x["rule"] for x in hit["rule_hits"]] == ["heavy-from-co"] and hit["lane"] == "yellow"
    assert near["rule_hits"] == []
    versions = client.get(f"{T}/rules/versions", headers=h).json()
    assert [(v["version"], v["active"]) for v in versions] == [(1, True)]
    # Analysts read, only targeters and supervisors change profiles.
    assert client.put(f"{T}/rules", headers=world.headers("analyst@a"),
                      json={"text": mine}).status_code == 403


def test_agencies_see_only_their_own_consignments(client, world):
    r = client.post(f"{T}/consignments", headers=world.headers("targeter@a"),
                    json=declaration())
    cid = r.json()["id"]
    other = world.headers("analyst@b")
    assert client.get(f"{T}/consignments/{cid}", headers=other).status_code == 404
    assert client.get(f"{T}/consignments", headers=other).json() == []
    assert client.post(f"{T}/consignments", headers=world.headers("analyst@a"),
                       json=declaration(reference="X2")).status_code == 403


def test_arrival_file_is_scored_in_batch_and_score_does_not_store(client, world, db):
    h = world.headers("targeter@a")
    _history(client, h, 2000)
    assert client.post(f"{T}/models/train", headers=h).status_code == 200
    arrivals = kcs.head("valid", 300, unlabelled=True)
    scored = client.post(f"{T}/score", headers=h, files={"file": ("a.csv", arrivals)})
    assert scored.status_code == 200, scored.text
    rows = scored.json()
    assert len(rows) == 300 and all(0 <= x["score"] <= 1 for x in rows)
    assert all(x["model_probability"] is not None for x in rows)
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Consignment)) == 2000
    r = client.post(f"{T}/import", headers=h, files={"file": ("a.csv", arrivals)})
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["scored"] == 300
    queue = client.get(f"{T}/consignments", headers=h, params={"limit": 1000}).json()
    assert len(queue) == 300
    lanes = {q["lane"] for q in queue}
    assert lanes <= {"red", "yellow", "blue", "green"} and "green" in lanes
    # Capacity (20 red, 40 yellow per office and day by default) holds, forced lanes aside.
    per_office: dict[tuple[str, str], int] = {}
    for q in queue:
        forced = any(x.get("lane") == q["lane"] for x in q["rule_hits"])
        if q["lane"] in ("red", "yellow") and not forced and not q["exploration"]:
            per_office[(q["office"], q["lane"])] = per_office.get((q["office"], q["lane"]), 0) + 1
    assert all(n <= (20 if lane == "red" else 40) for (_, lane), n in per_office.items())
    with unit_of_work(db, readonly=True) as s:
        alerts = s.scalar(select(func.count()).select_from(Consignment).where(
            Consignment.alert_id.is_not(None)))
    assert alerts == receipt["alerts"]


def test_consignment_parties_found_in_the_intelligence_file(client, world):
    from tests.network.test_store import _import, _lines

    _import(world, _lines({"id": "c9", "schema": "Company",
                           "properties": {"name": ["Chem Trade BV"]}}))
    h = world.headers("targeter@a")
    c = client.post(f"{T}/consignments", headers=h,
                    json=declaration(importer="Chem Trade BV")).json()
    found = client.get(f"{T}/consignments/{c['id']}", headers=h).json()
    assert [(e["role"], e["caption"]) for e in found["in_file"]] == [("importer", "Chem Trade BV")]
