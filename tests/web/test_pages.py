"""Web pages through the real app: login, CSRF, dashboard, queue, detail workflow."""

from __future__ import annotations

import re

from tests.conftest import login


def test_pages_redirect_to_login_when_anonymous(client):
    r = client.get("/alerts?status=new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/alerts%3Fstatus%3Dnew"


def test_wrong_password_shows_message_and_keeps_username(client, world):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "analyst@a", "password": "nope-nope-nope",
                                    "csrf_token": token})
    assert r.status_code == 401 and "wrong username or password" in r.text
    assert 'value="analyst@a"' in r.text


def test_login_needs_the_form_token(client, world):
    client.get("/login")
    r = client.post("/login", data={"username": "analyst@a", "password": "x",
                                    "csrf_token": "forged"})
    assert r.status_code == 403 and "expired" in r.text


def test_login_cookie_is_secure_httponly(client, world):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "analyst@a", "password": "correct-horse-battery",
                                    "csrf_token": token}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "interdict_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "SameSite=lax" in cookie


def test_open_redirect_refused(client, world):
    page = client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in page.text


def test_dashboard_queue_and_detail_workflow(client, world):
    csrf = login(client, "analyst@a")
    h = world.headers("analyst@a")
    aid = client.post("/api/v1/alerts", headers=h, json={
        "source": "precursors", "kind": "order.suspicious", "title": "Cash order of BMK",
        "severity": "critical", "reasons": [{"rule": "cash_payment", "contribution": 0.4,
                                             "values": {"payment": "cash"}}]}).json()["id"]
    home = client.get("/")
    assert home.status_code == 200 and "alerts-chart" in home.text and "Cash order" in home.text
    queue = client.get("/alerts?severity=critical")
    assert "Cash order of BMK" in queue.text and f'sse-connect="/alerts/stream?after={aid}"' \
        in queue.text
    detail = client.get(f"/alerts/{aid}")
    assert "cash_payment" in detail.text and "payment=cash" in detail.text
    # A form post without the CSRF token is refused and changes nothing.
    r = client.post(f"/alerts/{aid}/triage", data={})
    assert r.status_code == 403
    assert client.get(f"/api/v1/alerts/{aid}", headers=h).json()["status"] == "new"
    r = client.post(f"/alerts/{aid}/triage", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/alerts/{aid}/close", data={"csrf_token": csrf, "outcome": "confirmed",
                                                  "note": "seized"})
    assert r.status_code == 200 and "Alert closed" in r.text
    assert client.get(f"/api/v1/alerts/{aid}", headers=h).json()["outcome"] == "confirmed"


def test_cookie_api_writes_need_csrf_header(client, world):
    csrf = login(client, "analyst@a")
    body = {"source": "targeting", "kind": "k", "title": "t", "severity": "low"}
    r = client.post("/api/v1/alerts", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["detail"]
    r = client.post("/api/v1/alerts", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_other_agency_alert_page_is_not_found(client, world):
    aid = client.post("/api/v1/alerts", headers=world.headers("analyst@a"), json={
        "source": "targeting", "kind": "k", "title": "secret A", "severity": "low"}).json()["id"]
    login(client, "analyst@b")
    r = client.get(f"/alerts/{aid}")
    assert r.status_code == 404 and "secret A" not in r.text
    assert "secret A" not in client.get("/alerts").text


def test_operator_sees_no_queue(client, world):
    login(client, "operator@a")
    home = client.get("/")
    assert home.status_code == 200 and "Alert queue" not in home.text
    assert client.get("/alerts").status_code == 403


def test_audit_page_for_supervisor_and_logout(client, world):
    csrf = login(client, "supervisor@a")
    page = client.get("/audit?verify=1")
    assert "Chain intact" in page.text and "login.succeeded" in page.text
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/audit", follow_redirects=False).status_code == 303


def test_profile_token_creation_and_revocation(client, world):
    csrf = login(client, "analyst@a")
    page = client.post("/profile/tokens", data={"csrf_token": csrf, "name": "scanner",
                                                "role": "analyst"})
    secret = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code \
        == 200
    tid = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).json()[0]
    client.post(f"/profile/tokens/{tid['id']}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code \
        == 401


def test_share_alert_from_the_web(client, world):
    aid = client.post("/api/v1/alerts", headers=world.headers("analyst@a"), json={
        "source": "targeting", "kind": "k", "title": "joint case", "severity": "low"}).json()["id"]
    csrf = login(client, "analyst@a")
    page = client.get(f"/alerts/{aid}")
    assert 'id="share-form"' in page.text and "H2: no onward dissemination" in page.text
    r = client.post(f"/alerts/{aid}/share", data={"csrf_token": csrf, "agency": "AG-B",
                                                  "handling_code": "H2", "justification": ""})
    assert "Not shared" in r.text
    r = client.post(f"/alerts/{aid}/share", data={"csrf_token": csrf, "agency": "AG-B",
                                                  "handling_code": "H2",
                                                  "justification": "joint operation"})
    assert "Shared with AG-B (H2)" in r.text
    h = world.headers("analyst@b")
    assert client.get(f"/api/v1/alerts/{aid}", headers=h).status_code == 200
