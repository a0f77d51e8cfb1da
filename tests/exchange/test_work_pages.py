"""Pages of the exchange's joint work: incidents and subscriptions, operation rooms,
hit/no-hit with follow-ups, and the supervisor's audit page."""

from __future__ import annotations

from tests.conftest import login
from tests.exchange.test_workflows import HOLDINGS


def test_incident_room_hit_and_audit_pages(client, world):
    csrf = login(client, "analyst@b")
    r = client.post("/exchange/subscriptions", data={"csrf_token": csrf,
                                                     "topic": "precursors", "country": "*"},
                    follow_redirects=True)
    assert r.status_code == 200 and "precursors · all countries" in r.text
    r = client.post("/exchange/hits/holdings", data={"csrf_token": csrf},
                    files={"file": ("h.csv", HOLDINGS)})
    assert r.status_code == 200 and 'id="published"' in r.text
    client.get("/logout")
    csrf = login(client, "analyst@a")
    r = client.post("/exchange/incidents", data={
        "csrf_token": csrf, "kind": "precursor", "substance": "safrole", "country": "NL",
        "occurred_on": "2026-11-20", "quantity": "600", "route": "CN; TR; NL"})
    assert r.status_code == 200 and 'id="reported"' in r.text and "AG-B" in r.text
    bad = client.post("/exchange/incidents", data={"csrf_token": csrf, "kind": "nps",
                                                   "country": "NL", "occurred_on": "x"})
    assert bad.status_code == 422 and "substance" in bad.text and "occurred_on" in bad.text
    r = client.post("/exchange/rooms", data={"csrf_token": csrf, "name": "JIT Harbour",
                                             "members": "AG-B"}, follow_redirects=True)
    assert r.status_code == 200 and ("AG-A, AG-B" in r.text or "AG-B, AG-A" in r.text)
    room_url = str(r.url)
    r = client.post(f"{room_url}/entries", data={"csrf_token": csrf, "kind": "evidence",
                                                 "item_title": "Seal 44871",
                                                 "item_type": "note", "text": "photo"},
                    follow_redirects=True)
    assert r.status_code == 200 and "Seal 44871" in r.text and "message #" in r.text
    r = client.post(f"{room_url}/entries", data={"csrf_token": csrf, "kind": "log"})
    assert r.status_code == 422 and "text" in r.text
    r = client.post("/exchange/hits/query", data={"csrf_token": csrf, "justification": "c9"},
                    files={"file": ("q.csv", b"kind,value,country\nphone,+31612345678,\n")})
    assert r.status_code == 200 and "B-CASE-17" in r.text
    r = client.post("/exchange/hits/query", data={"csrf_token": csrf, "justification": ""},
                    files={"file": ("q.csv", b"kind,value,country\nphone,+31612345678,\n")})
    assert r.status_code == 422 and "justification" in r.text
    hits = client.get("/exchange/hits")
    hit_id = hits.text.split('data-hit="')[1].split('"')[0]
    client.post(f"/exchange/hits/{hit_id}/follow-up", data={"csrf_token": csrf,
                                                           "reason": "need it"})
    client.get("/logout")
    csrf = login(client, "supervisor@b")
    hits = client.get("/exchange/hits")
    assert "need it" in hits.text
    r = client.post(f"/exchange/hits/{hit_id}/follow-up", data={
        "csrf_token": csrf, "decision": "approve", "note": "sent"}, follow_redirects=True)
    assert r.status_code == 200 and "approved" in client.get("/exchange/hits").text
    audit = client.get("/exchange/audit")
    assert audit.status_code == 200 and "exchange.holdings AG-B" in audit.text
    assert "c9" in audit.text
    client.get("/logout")
    login(client, "analyst@b")
    assert client.get("/exchange/audit").status_code == 403
