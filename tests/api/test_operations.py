"""Health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from interdict.alerts.models import Alert
from interdict.api.app import create_app
from interdict.api.deps import WriteSession
from interdict.config import Settings
from interdict.db.session import unit_of_work


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok",
                                                          "migrations": "ok"}


def test_readyz_reports_unmigrated_database(tmp_path):
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


def test_failed_commit_is_an_error_response_not_a_false_success(app, world):
    """The unit of work commits before the response is sent (function-scoped dependency)."""
    @app.post("/test-only/failing-commit")
    def failing(session: WriteSession) -> dict[str, str]:
        session.add(Alert(agency_id=world.agencies["A"].id, source="t", kind="k", title="t",
                          severity="low"))

        @event.listens_for(session, "before_commit", once=True)
        def boom(_s: object) -> None:
            raise RuntimeError("disk full")

        return {"status": "ok"}

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        r = c.post("/test-only/failing-commit")
    assert r.status_code == 500
    with unit_of_work(app.state.db, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
