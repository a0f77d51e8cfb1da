"""Precursor routes: registry, submissions with receipts, findings, notifications between
authorities."""

from __future__ import annotations

from interdict.auth import service as auth
from interdict.auth.roles import Role
from interdict.auth.schemas import AgencyCreate, AgencyKind, UserCreate
from interdict.db.session import unit_of_work
from tests.conftest import PASSWORD
from tests.precursors.test_register import CLEAN, OPERATORS

P = "/api/v1/precursors"


def _setup(client, world) -> dict[str, str]:
    officer = world.headers("officer@a")
    r = client.post(f"{P}/operators/import", headers=officer,
                    files={"file": ("operators.csv", OPERATORS)})
    assert r.status_code == 200 and r.json()["added"] == 3, r.text
    r = client.post(f"{P}/operator-accounts", headers=officer,
                    json={"username": "operator@a", "licence": "BE-P-1"})
    assert r.status_code == 200, r.text
    return officer


def test_submit_receipt_findings_and_operator_limits(client, world):
    officer = _setup(client, world)
    operator = world.headers("operator@a")
    record = {"reference": "S-77", "operator": "BE-P-1", "kind": "sale",
              "substance": "Acetic anhydride", "quantity": 250, "unit": "L",
              "occurred_at": "2025-05-01T09:00:00+02:00",
              "registered_at": "2025-05-03T09:00:00+02:00",
              "counterparty": "Unknown Trading Ltd", "counterparty_country": "BE",
              "payment": "cash", "end_use": "resale"}
    r = client.post(f"{P}/transactions", headers=operator, json={"records": [record]})
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["added"] == 1 and receipt["alerts"] >= 2
    again = client.post(f"{P}/transactions", headers=operator, json={"records": [record]})
    assert again.json()["duplicate"] is True
    bad = client.post(f"{P}/transactions", headers=operator,
                      json={"records": [{**record, "reference": "S-78", "unit": "gallon"}]})
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0] == {"field": "row 1: unit",
                                                "reason": "'gallon' is not one of kg, g, t, "
                                                          "L, mL"}
    assert client.get(f"{P}/findings", headers=operator).status_code == 403
    assert client.get("/api/v1/alerts", headers=operator).status_code == 403
    kinds = {f["kind"] for f in client.get(f"{P}/findings", headers=officer).json()}
    assert {"late_registration", "unlicensed_counterparty"} <= kinds
    own = client.get(f"{P}/batches", headers=operator).json()
    assert [b["added"] for b in own] == [1]
    assert client.get(f"{P}/operators/BE-P-2", headers=operator).status_code == 404
    page = client.get(f"{P}/operators/BE-P-1", headers=officer).json()
    assert page["transactions"] == 1 and page["findings"]
    mine = client.get(f"{P}/operators/BE-P-1", headers=operator).json()
    assert mine["findings"] == []
    ret = client.get(f"{P}/operators/BE-P-1/returns", headers=officer,
                     params={"period": "2025-Q2"}).json()
    assert ret[0]["substance"] == "Acetic anhydride" and ret[0]["sold"] == round(250 * 1.082, 3)
    assert client.get(f"{P}/operators/BE-P-1/returns", headers=officer,
                      params={"period": "2025-Q5"}).status_code == 422


def test_upload_file_and_recheck(client, world):
    officer = _setup(client, world)
    r = client.post(f"{P}/transactions/import", headers=officer,
                    files={"file": ("tx.csv", CLEAN)})
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    run = client.post(f"{P}/checks/run", headers=officer, json={})
    assert run.status_code == 200 and run.json()["transactions"] == 2
    assert client.get(f"{P}/summary", headers=officer, params={"period": "2025"}).json()


def test_pre_export_notification_between_authorities(client, world):
    officer = _setup(client, world)
    with unit_of_work(world.db) as session:
        mx = auth.create_agency(session, data=AgencyCreate(
            code="MX-PREC", name="Mexican precursor authority", country="MX",
            kind=AgencyKind.precursor_authority))
        world.users["officer@mx"] = auth.create_user(session, agency=mx, data=UserCreate(
            username="officer@mx", full_name="Officer MX", password=PASSWORD,
            roles=[Role.precursor_officer]))
    body = {"number": "EXP-2025-001", "operator": "BE-P-1",
            "substance": "1-Phenyl-2-propanone", "quantity": 500, "unit": "kg",
            "destination_country": "MX", "importer": "Farmacos del Norte SA",
            "valid_from": "2025-01-01", "valid_to": "2025-12-31"}
    r = client.post(f"{P}/authorisations", headers=officer, json=body)
    assert r.status_code == 200, r.text
    auth_id = r.json()["id"]
    assert r.json()["notification_required"] and r.json()["notification_status"] == "draft"
    mx_headers = world.headers("officer@mx")
    assert client.get(f"{P}/notifications", headers=mx_headers).json()["incoming"] == []
    sent = client.post(f"{P}/authorisations/{auth_id}/send", headers=officer).json()
    assert sent["notification_status"] == "pending" and sent["deadline"]
    incoming = client.get(f"{P}/notifications", headers=mx_headers).json()["incoming"]
    assert [a["number"] for a in incoming] == ["EXP-2025-001"]
    assert client.post(f"{P}/authorisations/{auth_id}/answer", headers=officer,
                       json={"decision": "confirmed"}).status_code == 403
    ok = client.post(f"{P}/authorisations/{auth_id}/answer", headers=mx_headers,
                     json={"decision": "objected", "note": "importer unknown to us"})
    assert ok.status_code == 200 and ok.json()["notification_status"] == "objected"
    again = client.post(f"{P}/authorisations/{auth_id}/answer", headers=mx_headers,
                        json={"decision": "confirmed"})
    assert again.status_code == 409
    outgoing = client.get(f"{P}/notifications", headers=officer).json()["outgoing"]
    assert outgoing[0]["notification_status"] == "objected"
    alerts = client.get("/api/v1/alerts", headers=officer).json()
    assert any(a["kind"] == "notification_objected" for a in alerts["items"])
    dup = client.post(f"{P}/authorisations", headers=officer, json=body)
    assert dup.status_code == 409
    bad = client.post(f"{P}/authorisations", headers=officer,
                      json={**body, "number": "X", "destination_country": "QQ"})
    assert bad.status_code == 422
