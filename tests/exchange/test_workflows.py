"""Incidents and subscriptions, operation rooms, hit/no-hit with follow-ups, and the
supervisor's audit view, through the API and the service on both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from interdict.alerts.models import Alert
from interdict.db.session import unit_of_work
from interdict.exchange import holdings
from interdict.exchange.models import Evaluation, Hit, Message, RoomEntry

X = "/api/v1/exchange"


def test_incidents_reach_subscribers_only(client, world, db):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    assert client.post(f"{X}/subscriptions", headers=hb,
                       json={"topic": "precursors", "country": "NL"}).status_code == 200
    assert client.post(f"{X}/subscriptions", headers=hb,
                       json={"topic": "galaxies"}).status_code == 422
    body = {"kind": "precursor", "substance": "safrole", "country": "NL",
            "occurred_on": "2026-11-20", "quantity": "600", "unit": "l",
            "route": ["CN", "TR", "NL"], "modus_operandi": "declared as essential oil",
            "companies": ["Aroma Trade BV"], "concealment": "drums"}
    r = client.post(f"{X}/incidents", headers=ha, json=body)
    assert r.status_code == 200, r.text
    inc = r.json()
    assert inc["delivered_to"] == ["AG-B"] and inc["substance_status"] == "controlled"
    assert inc["fields"]["route"] == ["CN", "TR", "NL"]
    feed = client.get(f"{X}/incidents", headers=hb).json()
    assert [i["id"] for i in feed] == [inc["id"]]
    with unit_of_work(db, readonly=True) as s:
        alert = s.scalar(select(Alert).where(Alert.source == "exchange"))
        assert alert is not None and "safrole" in alert.title.lower()
    # Another country: not delivered. An NPS on no list is accepted as unlisted.
    r = client.post(f"{X}/incidents", headers=ha, json={**body, "country": "BE"})
    assert r.json()["delivered_to"] == []
    r = client.post(f"{X}/incidents", headers=ha, json={
        "kind": "nps", "substance": "N-pyrrolidino protonitazepyne-X", "country": "NL",
        "occurred_on": "2026-11-21", "form": "nasal spray", "place": "Utrecht",
        "harm": "two hospitalisations"})
    assert r.status_code == 200 and r.json()["substance_status"] == "unlisted"
    bad = client.post(f"{X}/incidents", headers=ha, json={"kind": "nps", "country": "NLD",
                                                          "occurred_on": "yesterday",
                                                          "harm": "x", "quantity": 3})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["error"]["errors"]}
    assert {"substance", "occurred_on", "quantity"} <= fields


def test_operation_room_entries_are_mirrored_as_messages(client, world, db):
    ha, hb = world.headers("analyst@a"), world.headers("analyst@b")
    r = client.post(f"{X}/rooms", headers=ha, json={"name": "JIT Harbour", "members": ["AG-B"],
                                                    "case_reference": "JIT-2026-4"})
    assert r.status_code == 200, r.text
    room = r.json()
    assert sorted(room["members"]) == ["AG-A", "AG-B"]
    client.post(f"{X}/rooms/{room['id']}/entries", headers=ha,
                json={"kind": "log", "text": "Surveillance started at pier 9"})
    r = client.post(f"{X}/rooms/{room['id']}/entries", headers=hb, json={
        "kind": "evidence", "text": "Photo of the container seal",
        "attachment": {"resource_type": "note", "title": "Seal 44871", "text": "seal photo"},
        "handling": "H1"})
    assert r.status_code == 200, r.text
    seen = client.get(f"{X}/rooms/{room['id']}", headers=ha).json()
    assert [e["kind"] for e in seen["log"]] == ["log", "evidence"]
    assert seen["evidence"][0]["item"]["supplied_by"] == "AG-B"
    # Every entry is a signed message in the room's thread, to the other members.
    with unit_of_work(db, readonly=True) as s:
        ids = [e.message_id for e in s.scalars(select(RoomEntry).order_by(RoomEntry.id))]
        threads = {s.get(Message, i).thread_id for i in ids}
    assert threads == {seen["thread_id"]}
    inbox_b = [m["id"] for m in client.get(f"{X}/messages", headers=hb).json()]
    assert ids[0] in inbox_b
    assert client.get(f"{X}/rooms/{room['id']}",
                      headers=world.headers("supervisor@b")).status_code == 200
    assert client.get(f"{X}/rooms/{room['id']}",
                      headers=world.headers("lab@a")).status_code == 403
    r = client.post(f"{X}/rooms", headers=ha, json={"name": "Alone", "members": ["AG-A"]})
    assert r.status_code == 422


HOLDINGS = (b"kind,value,reference,country\n"
            b"phone,06 12345678,B-CASE-17,NL\n"
            b"iban,NL91 ABNA 0417 1643 00,B-FIN-3,\n"
            b"vessel_imo,IMO 9321483,B-SEA-9,\n"
            b"person,\"Visser, Jan|1980-05-01\",B-PER-1,\n")


def test_hit_no_hit_reveals_only_hits_and_what_crosses_carries_no_identifier(client, world,
                                                                              db, settings):
    hb, ha = world.headers("analyst@b"), world.headers("analyst@a")
    r = client.post(f"{X}/holdings", headers=hb, files={"file": ("h.csv", HOLDINGS)})
    assert r.status_code == 200, r.text
    assert r.json()["distinct"] == 4
    bad = client.post(f"{X}/holdings", headers=hb,
                      files={"file": ("h.csv", b"kind,value,reference\nphone,12,R\n"
                                                b"iban,NL00 0000,R2\n")})
    assert bad.status_code == 422
    assert {"row 2: country", "row 3: value"} <= {e["field"] for e in
                                                 bad.json()["error"]["errors"]}
    query = (b"kind,value,country\n"
             b"phone,+31 6 1234 5678,\n"           # held (written otherwise)
             b"phone,+31 6 2345 6789,\n"           # not held
             b"person,Jan Visser|1980-05-01,\n"    # held (name order differs)
             b"vessel_imo,9074729,\n")             # not held
    r = client.post(f"{X}/hit-queries", headers=ha, data={"justification": "case 12"},
                    files={"file": ("q.csv", query)})
    assert r.status_code == 200, r.text
    out = r.json()
    assert sorted((h["row"], h["holder"], h["reference"]) for h in out["hits"]) == [
        (2, "AG-B", "B-CASE-17"), (4, "AG-B", "B-PER-1")]
    assert client.post(f"{X}/hit-queries", headers=ha, data={"justification": ""},
                       files={"file": ("q.csv", query)}).status_code == 422
    bad = client.post(f"{X}/hit-queries", headers=ha, data={"justification": "x"},
                      files={"file": ("q.csv", b"kind,value,country\nwallet,xyz,\n")})
    assert bad.status_code == 422
    # What crossed between the agencies (service call with a transcript): no identifier
    # bytes, fresh points for the same identifier, and the holder's returns differ from tags.
    transcripts: list[list[dict]] = [[], []]
    secrets = [b"0612345678", b"31612345678", b"visser", b"9321483", b"9074729"]
    with unit_of_work(db) as s:
        for t in transcripts:
            holdings.query(s, actor=world.actor("analyst@a"), secret=settings.secret_key,
                           data=query, filename="q.csv", justification="case 12",
                           transcript=t)
    first, second = transcripts[0][0], transcripts[1][0]
    assert first["holder"] == "AG-B" and len(first["sent"]) == 4
    for blob in first["sent"] + first["returned"] + first["looked_up"]:
        assert not any(x in blob for x in secrets)
    assert set(first["sent"]).isdisjoint(second["sent"])
    assert set(first["returned"]).isdisjoint(first["looked_up"])
    # Every evaluation is logged at the holder, and rate-limited per querier.
    with unit_of_work(db, readonly=True) as s:
        assert s.scalar(select(func.sum(Evaluation.points))) == 12
        assert s.scalar(select(func.count()).select_from(Hit)) == 6
    summary = client.get(f"{X}/holdings", headers=hb).json()
    assert summary["evaluations_by_querier"] == {"AG-A": 12}
    limit = holdings.DAILY_EVALUATIONS
    try:
        holdings.DAILY_EVALUATIONS = 14
        r = client.post(f"{X}/hit-queries", headers=ha, data={"justification": "case 12"},
                        files={"file": ("q.csv", query)})
        assert r.status_code == 429 and "AG-B" in r.text
    finally:
        holdings.DAILY_EVALUATIONS = limit
    # Follow-up: asked by the querier, approved by the holder.
    hit_id = out["hits"][0]["id"]
    r = client.post(f"{X}/hits/{hit_id}/follow-up", headers=ha,
                    json={"reason": "need the case file"})
    assert r.json()["follow_up"] == "pending"
    pending = client.get(f"{X}/hits", headers=hb).json()["requests_to_us"]
    assert [p["requester"] for p in pending] == ["AG-A"]
    assert client.post(f"{X}/hits/{hit_id}/follow-up/decision", headers=ha,
                       json={"approve": True}).status_code == 404
    r = client.post(f"{X}/hits/{hit_id}/follow-up/decision", headers=hb,
                    json={"approve": True, "note": "sending by message"})
    assert r.json()["follow_up"] == "approved"
    # The supervisors see who asked what and why, each on their side.
    a_log = client.get(f"{X}/audit", headers=world.headers("supervisor@a")).json()
    assert any(e["what"].startswith("exchange.hitquery") and e["justification"] == "case 12"
               for e in a_log)
    b_log = client.get(f"{X}/audit", headers=world.headers("supervisor@b")).json()
    assert any(e["what"] == "exchange.holdings AG-B" and e["recipient"] == "AG-A"
               and e["justification"] == "case 12" for e in b_log)
    assert client.get(f"{X}/audit", headers=ha).status_code == 403
