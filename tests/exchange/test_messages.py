"""Exchange messages through the API on both databases: signed sending and verified receipt,
handling codes enforced on forwarding for every code, permission requests, attachments and
their import, tampered and unsigned envelopes refused and logged, scoping and audit."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from interdict.audit.models import AuditEvent
from interdict.auth import service as auth
from interdict.auth.roles import Role
from interdict.auth.schemas import AgencyCreate, AgencyKind, UserCreate
from interdict.db.session import unit_of_work
from interdict.exchange.models import Message, Rejection
from tests.conftest import PASSWORD

X = "/api/v1/exchange"


@pytest.fixture
def third(world):
    """A third agency C with a liaison officer, to forward to."""
    with unit_of_work(world.db) as session:
        agency = auth.create_agency(session, data=AgencyCreate(
            code="AG-C", name="Agency C liaison", country="DE", kind=AgencyKind.police))
        world.users["liaison@c"] = auth.create_user(session, agency=agency, data=UserCreate(
            username="liaison@c", full_name="Liaison C", password=PASSWORD,
            roles=[Role.liaison]))
    return world


def _send(client, h, **over):
    body = {"to": ["AG-B"], "subject": "Shipment via Antwerp", "body": "Please check.",
            "priority": "high", "requested_action": "check your files",
            "legal_basis": "Art. 39 CISA", "handling": "H0",
            "grading": {"scheme": "4x4", "source": "B", "information": "2"}}
    body.update(over)
    return client.post(f"{X}/messages", headers=h, json=body)


def _events(db, action, resource_type):
    with unit_of_work(db, readonly=True) as s:
        return [(e.actor_name if hasattr(e, "actor_name") else None, e.recipient,
                 e.justification, e.details) for e in s.scalars(select(AuditEvent).where(
                     AuditEvent.action == action, AuditEvent.resource_type == resource_type)
                     .order_by(AuditEvent.id))]


def test_send_read_acknowledge_reply_in_a_thread(client, world, db):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    r = _send(client, ha)
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["from"] == "AG-A" and sent["to"][0]["agency"] == "AG-B"
    assert sent["key_id"].startswith("AG-A:")
    inbox = client.get(f"{X}/messages", headers=hb).json()
    assert [m["id"] for m in inbox] == [sent["id"]]
    assert client.get(f"{X}/messages?box=outbox", headers=ha).json()[0]["id"] == sent["id"]
    msg = client.get(f"{X}/messages/{sent['id']}?justification=case 12", headers=hb).json()
    assert msg["body"] == "Please check." and msg["grading"]["source"] == "B"
    assert msg["court_use"] is True
    ack = client.post(f"{X}/messages/{sent['id']}/acknowledge", headers=hb).json()
    assert ack["to"][0]["acknowledged_by"] == "analyst@b"
    back = client.post(f"{X}/messages/{sent['id']}/reply", headers=hb,
                       json={"body": "Nothing on file."})
    assert back.status_code == 200, back.text
    assert back.json()["to"][0]["agency"] == "AG-A"
    assert back.json()["thread_id"] == sent["thread_id"]
    thread = client.get(f"{X}/threads/{sent['thread_id']}", headers=ha).json()
    assert [m["subject"] for m in thread] == ["Shipment via Antwerp",
                                              "Re: Shipment via Antwerp"]
    reads = _events(db, "record.viewed", "exchange.message")
    assert [(r[2]) for r in reads] == ["case 12"]
    disclosed = _events(db, "record.disclosed", "exchange.message")
    assert [d[1] for d in disclosed] == ["AG-B", "AG-A"]


def test_bad_input_and_scoping(client, third):
    ha, hb = third.headers("analyst@a"), third.headers("analyst@b")
    for body, field in (({"to": []}, "to"), ({"to": ["NOPE"]}, "to[0]"),
                        ({"to": ["AG-A"]}, "to[0]"), ({"handling": "H9"}, "handling"),
                        ({"grading": {"scheme": "4x4", "source": "Z",
                                      "information": "2"}}, "grading.source"),
                        ({"subject": ""}, "subject"), ({"priority": "asap"}, "priority"),
                        ({"attachments": [{"resource_type": "weather"}]},
                         "attachments[0].resource_type"),
                        ({"attachments": [{"resource_type": "note",
                                           "text": "x" * 300_000}]}, "attachments[0]")):
        r = _send(client, ha, **body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["errors"][0]["field"] == field, r.text
    sent = _send(client, ha).json()
    # C is party to nothing: the message and its thread are not there for it.
    hc = third.headers("liaison@c")
    assert client.get(f"{X}/messages/{sent['id']}", headers=hc).status_code == 404
    assert client.get(f"{X}/threads/{sent['thread_id']}", headers=hc).status_code == 404
    assert client.get(f"{X}/messages", headers=hc).json() == []
    # A user sends only as their own agency: a "from" in the body is not a field.
    r = _send(client, hb, **{"from": "AG-A", "to": ["AG-C"]})
    assert r.status_code == 200 and r.json()["from"] == "AG-B"
    # Roles: an operator may not use the exchange.
    assert client.get(f"{X}/messages", headers=third.headers("operator@a")).status_code == 403


@pytest.mark.parametrize("code,restricted", [
    ("H0", False), ("H1", False), ("H2", True), ("H3", True), ("TLP:RED", True),
    ("TLP:AMBER+STRICT", True), ("TLP:AMBER", False), ("TLP:GREEN", False),
    ("TLP:CLEAR", False)])
def test_forwarding_obeys_every_handling_code(client, third, db, code, restricted):
    ha, hb = third.headers("analyst@a"), third.headers("analyst@b")
    sent = _send(client, ha, handling=code, attachments=[
        {"resource_type": "note", "title": "Informant report", "text": "Boat at pier 9",
         "handling": code}]).json()
    r = client.post(f"{X}/messages/{sent['id']}/forward", headers=hb,
                    json={"to": ["AG-C"], "note": "for your port"})
    if not restricted:
        assert r.status_code == 200, r.text
        fwd = client.get(f"{X}/messages/{r.json()['id']}",
                         headers=third.headers("liaison@c")).json()
        assert fwd["attachments"][0]["originator"] == "AG-A"
        assert fwd["attachments"][0]["handling"] == code
        assert fwd["court_use"] is (code != "H1")
        return
    assert r.status_code == 403 and code in r.text
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(Message).where(Message.subject.like("Fwd:%"))) is None
    assert [e[3].get("refused") is not None for e in
            _events(db, "record.disclosed", "exchange.message")][-1]
    # Permission: asked of the originator, granted, then the forward goes through.
    req = client.post(f"{X}/messages/{sent['id']}/permissions", headers=hb,
                      json={"to": "AG-C", "reason": "C runs the port"}).json()
    att = client.post(f"{X}/messages/{sent['id']}/permissions", headers=hb,
                      json={"to": "AG-C", "reason": "C runs the port",
                            "attachment_id": client.get(
                                f"{X}/messages/{sent['id']}", headers=hb
                            ).json()["attachments"][0]["id"]}).json()
    assert req["originator"] == "AG-A" and req["status"] == "pending"
    # B cannot grant itself; A grants both.
    assert client.post(f"{X}/permissions/{req['id']}/decision", headers=hb,
                       json={"grant": True}).status_code == 404
    for rid in (req["id"], att["id"]):
        d = client.post(f"{X}/permissions/{rid}/decision", headers=ha, json={"grant": True})
        assert d.json()["status"] == "granted"
    r = client.post(f"{X}/messages/{sent['id']}/forward", headers=hb, json={"to": ["AG-C"]})
    assert r.status_code == 200, r.text
    # A refused request leaves the item where it is.
    other = _send(client, ha, handling=code).json()
    req = client.post(f"{X}/messages/{other['id']}/permissions", headers=hb,
                      json={"to": "AG-C", "reason": "again"}).json()
    client.post(f"{X}/permissions/{req['id']}/decision", headers=ha, json={"grant": False})
    r = client.post(f"{X}/messages/{other['id']}/forward", headers=hb, json={"to": ["AG-C"]})
    assert r.status_code == 403


def test_tampered_unsigned_and_unknown_key_envelopes_are_refused_and_logged(client, world, db):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    sent = _send(client, ha).json()
    with unit_of_work(db, readonly=True) as s:
        signed = s.get(Message, sent["id"]).envelope
    good = copy.deepcopy(signed)
    tampered = copy.deepcopy(signed)
    tampered["envelope"]["message"]["body"] = "Nothing to see."
    unsigned = {"envelope": copy.deepcopy(signed["envelope"])}
    unknown = copy.deepcopy(signed)
    unknown["key_id"] = "AG-A:0000000000000000"
    for bad, reason in ((tampered, "bad signature"), (unsigned, "unsigned"),
                        (unknown, "unknown key"),
                        ({"envelope": "text", "signature": "abc", "key_id": "k"},
                         "malformed")):
        r = client.post(f"{X}/envelopes", headers=hb, json=bad)
        assert r.status_code == 422 and reason in r.text, r.text
    with unit_of_work(db, readonly=True) as s:
        assert [x.reason for x in s.scalars(select(Rejection).order_by(Rejection.id))] == [
            "bad signature", "unsigned", "unknown key", "malformed"]
    assert len(_events(db, "record.created", "exchange.rejection")) == 4
    # The genuine envelope is accepted again without a second copy.
    r = client.post(f"{X}/envelopes", headers=hb, json=good)
    assert r.status_code == 200 and r.json()["id"] == sent["id"]


def test_attached_entity_is_imported_with_the_originators_provenance(client, world, db):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    data = (b'{"id": "p1", "schema": "Person", "properties": {"name": ["Jan Visser"], '
            b'"phone": ["+31612345678"]}}\n')
    r = client.post("/api/v1/network/import", headers=ha, data={
        "kind": "ftm", "originator": "AG-A", "source_grade": "B", "information_grade": "2",
        "handling": "H1"}, files={"file": ("p.jsonl", data)})
    assert r.status_code == 200, r.text
    entity_id = client.get("/api/v1/network/entities?q=Visser", headers=ha).json()[0]["id"]
    sent = _send(client, ha, handling="H1", attachments=[
        {"resource_type": "network.entity", "resource_id": entity_id, "handling": "H1",
         "grading": {"scheme": "4x4", "source": "B", "information": "2"}}]).json()
    msg = client.get(f"{X}/messages/{sent['id']}", headers=hb).json()
    item = msg["attachments"][0]
    assert item["content"]["ftm"]["properties"]["name"] == ["Jan Visser"]
    assert item["court_use"] is False  # H1: not for use in judicial proceedings
    r = client.post(f"{X}/attachments/{item['id']}/import", headers=hb,
                    json={"justification": "joint case"})
    assert r.status_code == 200, r.text
    found = client.get("/api/v1/network/entities?q=Visser", headers=hb).json()
    page = client.get(f"/api/v1/network/entities/{found[0]['id']}", headers=hb).json()
    value = page["values"]["name"][0]
    assert (value["originator"], value["source_grade"], value["information_grade"],
            value["handling"]) == ("AG-A", "B", "2", "H1")
    # The sender itself cannot "import" what it sent; nobody imports a note.
    assert client.post(f"{X}/attachments/{item['id']}/import", headers=ha,
                       json={"justification": "x"}).status_code == 404
    assert len(_events(db, "record.created", "exchange.import")) == 1


def test_a_seizure_travels_under_its_own_handling_code(client, world):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    r = client.post("/api/v1/seizures", headers=ha, json={
        "reference": "EX-1", "seized_at": "2026-06-01T10:00:00+00:00", "country": "NL",
        "handling": "H2", "substances": [{"substance": "cocaine", "quantity": 5,
                                          "unit": "kg", "form": "brick"}]})
    sid = r.json()["id"]
    sent = _send(client, ha, attachments=[{"resource_type": "seizures.seizure",
                                           "resource_id": sid}]).json()
    item = client.get(f"{X}/messages/{sent['id']}", headers=hb).json()["attachments"][0]
    assert item["handling"] == "H2" and item["content"]["reference"] == "EX-1"
    assert item["onward_sharing"] is False
