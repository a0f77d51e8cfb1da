"""The alert queue over HTTP: authorisation, scoping, workflow, pagination."""

from __future__ import annotations

from interdict.auth.roles import Role

ALERT = {"source": "targeting", "kind": "consignment.risk", "title": "HS 2914.31 from CN",
         "severity": "high", "score": 0.91,
         "reasons": [{"rule": "hs_precursor_chapter", "contribution": 0.5,
                      "values": {"hs": "2914.31"}, "detail": "precursor chapter"}],
         "subjects": [{"type": "targeting.consignment", "id": "D-1", "label": "D-1"}]}


def test_raise_list_read_and_work_an_alert(client, world):
    h = world.headers("analyst@a")
    r = client.post("/api/v1/alerts", json=ALERT, headers=h)
    assert r.status_code == 201, r.text
    alert = r.json()
    assert alert["status"] == "new" and alert["reasons"][0]["values"] == {"hs": "2914.31"}
    page = client.get("/api/v1/alerts", headers=h).json()
    assert page["total"] == 1 and page["items"][0]["id"] == alert["id"]
    assert {"items", "total", "limit", "offset"} <= page.keys()
    aid = alert["id"]
    assert client.post(f"/api/v1/alerts/{aid}/triage", json={}, headers=h).json()["status"] \
        == "triaged"
    r = client.post(f"/api/v1/alerts/{aid}/assign",
                    json={"assignee_id": world.users["targeter@a"].id}, headers=h)
    assert r.json()["status"] == "assigned"
    r = client.post(f"/api/v1/alerts/{aid}/comments", json={"body": "checking"}, headers=h)
    assert r.json()["comments"][0]["author"] == "analyst@a"
    r = client.post(f"/api/v1/alerts/{aid}/close", json={"outcome": "confirmed"}, headers=h)
    assert r.json()["status"] == "closed"
    r = client.post(f"/api/v1/alerts/{aid}/triage", json={}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    detail = client.get(f"/api/v1/alerts/{aid}", headers=h).json()
    assert [s["action"] for s in detail["history"]] == ["created", "triaged", "assigned",
                                                        "closed"]


def test_other_agency_gets_404_and_empty_lists(client, world):
    a = world.headers("analyst@a")
    b = world.headers("analyst@b")
    aid = client.post("/api/v1/alerts", json=ALERT, headers=a).json()["id"]
    r = client.get(f"/api/v1/alerts/{aid}", headers=b)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.post(f"/api/v1/alerts/{aid}/close", json={"outcome": "no_action"},
                       headers=b).status_code == 404
    assert client.get("/api/v1/alerts", headers=b).json()["total"] == 0
    assert client.get("/api/v1/alerts/summary", headers=b).json()["total"] == 0
    # Still untouched for its owner.
    assert client.get(f"/api/v1/alerts/{aid}", headers=a).json()["status"] == "new"


def test_operator_cannot_read_the_queue(client, world):
    h = world.headers("operator@a")
    r = client.get("/api/v1/alerts", headers=h)
    assert r.status_code == 403 and "alerts:read" in r.json()["error"]["detail"]


def test_revoked_and_unknown_tokens_are_refused(client, world):
    secret = world.token("analyst@a")
    h = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/alerts", headers=h).status_code == 200
    tokens = client.get("/api/v1/tokens", headers=h).json()
    assert client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=h).status_code == 204
    r = client.get("/api/v1/alerts", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["detail"]
    r = client.get("/api/v1/alerts", headers={"Authorization": "Bearer idt_nonsense"})
    assert r.status_code == 401
    r = client.get("/api/v1/alerts", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert client.get("/api/v1/alerts").status_code == 401


def test_token_is_scoped_to_one_role(client, world):
    # multi@a is analyst and supervisor; an analyst-scoped token cannot read the audit log.
    analyst = world.headers("multi@a", Role.analyst)
    supervisor = world.headers("multi@a", Role.supervisor)
    assert client.get("/api/v1/audit", headers=analyst).status_code == 403
    assert client.get("/api/v1/audit", headers=supervisor).status_code == 200
    me = client.get("/api/v1/me", headers=analyst).json()
    assert me["roles"] == ["analyst"] and me["agency"]["code"] == "AG-A"


def test_token_for_a_role_the_user_lacks_is_refused(client, world):
    h = world.headers("analyst@a")
    r = client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "role"


def test_pagination_and_filters(client, world):
    h = world.headers("analyst@a")
    for i in range(7):
        client.post("/api/v1/alerts", json={**ALERT, "title": f"alert {i}",
                                            "severity": "low" if i % 2 else "high"}, headers=h)
    page = client.get("/api/v1/alerts?limit=3&offset=3", headers=h).json()
    assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == 3
    assert [i["title"] for i in page["items"]] == ["alert 3", "alert 2", "alert 1"]
    assert client.get("/api/v1/alerts?severity=low", headers=h).json()["total"] == 3
    r = client.get("/api/v1/alerts?limit=0", headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "query.limit"


def test_alert_read_is_audited_with_justification(client, world):
    h = world.headers("analyst@a")
    aid = client.post("/api/v1/alerts", json=ALERT, headers=h).json()["id"]
    client.get(f"/api/v1/alerts/{aid}?justification=case%2042", headers=h)
    sup = world.headers("supervisor@a")
    events = client.get("/api/v1/audit?action=record.viewed", headers=sup).json()["items"]
    assert events[0]["resource_id"] == str(aid) and events[0]["justification"] == "case 42"
    assert events[0]["actor"] == "analyst@a"
    # Agency B's supervisor does not see agency A's audit events.
    other = client.get("/api/v1/audit", headers=world.headers("supervisor@b")).json()
    assert all(e["agency"] == "AG-B" for e in other["items"])


def test_webhook_subscription_management(client, world):
    h = world.headers("supervisor@a")
    r = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x",
                                              "secret": "0123456789abcdef"}, headers=h)
    assert r.status_code == 201 and "secret" not in r.json()
    assert len(client.get("/api/v1/webhooks", headers=h).json()) == 1
    assert client.get("/api/v1/webhooks", headers=world.headers("analyst@a")).status_code == 403
    wid = r.json()["id"]
    assert client.delete(f"/api/v1/webhooks/{wid}",
                         headers=world.headers("supervisor@b")).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{wid}", headers=h).status_code == 204


def test_narrow_token_cannot_mint_a_broader_one(client, world):
    analyst_only = world.headers("multi@a", Role.analyst)
    r = client.post("/api/v1/tokens", json={"name": "escalate", "role": "supervisor"},
                    headers=analyst_only)
    assert r.status_code == 403 and r.json()["error"]["errors"][0]["field"] == "role"
    r = client.post("/api/v1/tokens", json={"name": "same", "role": "analyst"},
                    headers=analyst_only)
    assert r.status_code == 201


def test_share_alert_read_only(client, world):
    a, b = world.headers("analyst@a"), world.headers("analyst@b")
    aid = client.post("/api/v1/alerts", json=ALERT, headers=a).json()["id"]
    r = client.post(f"/api/v1/alerts/{aid}/share", headers=a, json={
        "agency": "AG-B", "handling_code": "H9", "justification": "joint case"})
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == \
        "body.handling_code"
    r = client.post(f"/api/v1/alerts/{aid}/share", headers=a, json={
        "agency": "AG-B", "handling_code": "H2", "justification": "joint case"})
    assert r.status_code == 200
    assert client.get(f"/api/v1/alerts/{aid}", headers=b).status_code == 200
    r = client.post(f"/api/v1/alerts/{aid}/close", json={"outcome": "no_action"}, headers=b)
    assert r.status_code == 403 and "read-only" in r.json()["error"]["detail"]
    events = client.get("/api/v1/audit?action=record.disclosed",
                        headers=world.headers("supervisor@a")).json()["items"]
    assert events[0]["recipient"] == "AG-B" and events[0]["justification"] == "joint case"
