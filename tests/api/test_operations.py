"""Health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from interdict.api.app import create_app
from interdict.config import Settings


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok",
                                                          "migrations": "ok"}


def test_readyz_reports_unmigrated_database(tmp_path):
    from fastapi.testclient import TestClient

    settings = Settings(mode="test", database_url=f"sqlite:///{tmp_path}/empty.sqlite3")
    with TestClient(create_app(settings, start_workers=False)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["migrations"] == "pending"


def test_metrics_count_requests_by_route(client, world):
    client.get("/api/v1/alerts", headers=world.headers("analyst@a"))
    text = client.get("/metrics").text
    assert 'interdict_http_requests_total{method="GET",route="/api/v1/alerts",status="200"}' \
        in text
    assert "interdict_http_request_duration_seconds_bucket" in text


def test_openapi_documents_every_route(client):
    spec = client.get("/api/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            assert op.get("tags"), f"{method.upper()} {path} has no tag"
            if path.startswith("/api/v1"):
                assert "422" in op["responses"] or method == "get", (method, path)
                assert "404" in op["responses"], (method, path)
    assert "ErrorResponse" in spec["components"]["schemas"]
