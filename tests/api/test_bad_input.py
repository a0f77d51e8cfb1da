"""Bad input gets a 4xx naming the field and the reason, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from interdict.alerts.models import Alert
from interdict.audit.models import AuditEvent
from interdict.db.session import unit_of_work

GOOD = {"source": "targeting", "kind": "k", "title": "t", "severity": "high"}


def _counts(db) -> tuple[int, int]:
    with unit_of_work(db, readonly=True) as s:
        return (s.scalar(select(func.count()).select_from(Alert)),
                s.scalar(select(func.count()).select_from(AuditEvent)))


@pytest.fixture
def h(world):
    return world.headers("analyst@a")


@pytest.mark.parametrize("body, field, status, words", [
    ({**GOOD, "severity": "apocalyptic"}, "body.severity", 422, "low"),
    ({**GOOD, "score": "very"}, "body.score", 422, "number"),
    ({**GOOD, "score": 7}, "body.score", 422, "less than or equal"),
    ({**GOOD, "colour": "red"}, "body.colour", 422, "unknown field"),
    ({k: v for k, v in GOOD.items() if k != "title"}, "body.title", 422, "required"),
    ({**GOOD, "reasons": [{"rule": "r", "contribution": "x"}]}, "body.reasons.0.contribution",
     422, "number"),
    ({**GOOD, "source": "Not A Module!"}, "body.source", 422, "pattern"),
    ([1, 2, 3], "body", 422, "dictionary"),
])
def test_invalid_alert_bodies(client, db, h, body, field, status, words):
    before = _counts(db)
    r = client.post("/api/v1/alerts", json=body, headers=h)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["errors"][0]["field"] == field
    assert words in err["errors"][0]["reason"] or words in err["detail"]
    assert _counts(db) == before


def test_malformed_json(client, db, h):
    before = _counts(db)
    r = client.post("/api/v1/alerts", content=b'{"source": "targeting", "kind": ',
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "bad_request" and err["errors"][0]["field"] == "body"
    assert "not valid JSON" in err["errors"][0]["reason"]
    assert _counts(db) == before


def test_oversized_body(client, db, h, settings):
    before = _counts(db)
    huge = {**GOOD, "title": "x" * (settings.max_body_bytes + 10)}
    r = client.post("/api/v1/alerts", json=huge, headers=h)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert _counts(db) == before


def test_oversized_streamed_body_without_length(client, db, h, settings):
    before = _counts(db)

    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    r = client.post("/api/v1/alerts", content=chunks(),
                    headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert _counts(db) == before


def test_wrong_path_type(client, h):
    r = client.get("/api/v1/alerts/not-a-number", headers=h)
    assert r.status_code == 422
    assert r.json()["error"]["errors"][0]["field"] == "path.alert_id"


def test_unknown_route_and_method(client, h):
    assert client.get("/api/v1/nothing", headers=h).status_code == 404
    r = client.put("/api/v1/alerts", headers=h, json={})
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_field_length_limits(client, db, h):
    r = client.post("/api/v1/alerts", json={**GOOD, "title": "t" * 301}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "body.title"
    r = client.post("/api/v1/alerts/1/comments", json={"body": ""}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "body.body"
