"""``create_app(settings)``: the HTTP API and web UI assembled from every package."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

import interdict.domains  # noqa: F401  (registers domain reference kinds, pages, steps)
from interdict import __version__
from interdict.alerts import api as alerts_api
from interdict.alerts.jetstream import JetStreamPublisher
from interdict.alerts.webhooks import DeliveryWorker
from interdict.api.errors import HANDLERS
from interdict.api.middleware import BodyLimit, Metrics
from interdict.audit import api as audit_api
from interdict.auth import api as auth_api
from interdict.config import Settings, get_settings
from interdict.db import migrate
from interdict.db.engine import WalCheckpointer, make_database
from interdict.errors import ConfigurationError, InvalidData
from interdict.exchange import api as exchange_api
from interdict.exchange import web as exchange_web
from interdict.exchange import web_work as exchange_work_web
from interdict.logging import configure_logging
from interdict.network import api as network_api
from interdict.network import web as network_web
from interdict.precursors import api as precursors_api
from interdict.precursors import web as precursors_web
from interdict.reference import api as reference_api
from interdict.reference.registry import Registry
from interdict.seizures import api as seizures_api
from interdict.seizures import web as seizures_web
from interdict.spectra import api as spectra_api
from interdict.spectra import web as spectra_web
from interdict.substances import api as substances_api
from interdict.substances import web as substances_web
from interdict.targeting import api as targeting_api
from interdict.targeting import web as targeting_web
from interdict.web import routes as web_routes

DESCRIPTION = """
Interdict's HTTP API. Authenticate with `Authorization: Bearer <token>` (create a token with
`interdict tokens create` or on your profile page) or, from the web UI, with the session cookie
plus an `X-CSRF-Token` header on requests that change data.

Every record belongs to an agency; you see your agency's records and those shared with it.
Records of other agencies answer 404. Errors always have the body
`{"error": {"code", "detail", "errors": [{"field", "reason"}]}}` (`errors` when fields are
named). Lists are paged with
`limit` and `offset` and return `{"items", "total", "limit", "offset"}`.
"""

TAGS = [
    {"name": "alerts", "description": "The one alert queue every module writes to."},
    {"name": "webhooks", "description": "Push alerts to other systems, HMAC-signed."},
    {"name": "accounts", "description": "Your identity, API tokens, users and agencies."},
    {"name": "audit", "description": "The hash-chained audit log (supervisors)."},
    {"name": "reference", "description": "Reference data in force, versioned."},
    {"name": "substances", "description": "Is it controlled, where and why."},
    {"name": "spectra", "description": "Identify substances from Raman, IR and GC-MS spectra."},
    {"name": "network", "description": "The intelligence file: entities with provenance, links, "
                                       "analysis and entity resolution."},
    {"name": "precursors", "description": "Precursor traceability: operators, the 24-hour "
                                          "register, checks, returns, pre-export "
                                          "notifications."},
    {"name": "targeting", "description": "Risk-based targeting: consignments scored by rule "
                                         "profiles and a learned model on arrival, lanes under "
                                         "capacity, inspection results."},
    {"name": "seizures", "description": "Seizures and forensic profiling: records, marks and "
                                        "logos with image search, chemical profiles, links "
                                        "between seizures, map and dashboard."},
    {"name": "exchange", "description": "Secure exchange between agencies: signed messages "
                                       "with handling codes and grading, attachments, "
                                       "forwarding under the codes, permission requests."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: Settings | None = None, *, start_workers: bool = True) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(json_logs=settings.log_json)
    settings.apply_password_cost()
    db = make_database(settings.effective_database_url)
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = publisher = None
        # Storage upkeep, not a job poller: runs even when workers are off.
        checkpointer = WalCheckpointer(db)
        checkpointer.start()
        if start_workers and settings.nats_url:
            publisher = JetStreamPublisher(db, url=settings.nats_url,
                                           subject_prefix=settings.nats_subject_prefix)
            publisher.start()
        if start_workers:
            worker = DeliveryWorker(db, poll_seconds=settings.webhook_poll_seconds,
                                    timeout_seconds=settings.webhook_timeout_seconds,
                                    max_attempts=settings.webhook_max_attempts,
                                    backoff_seconds=settings.webhook_backoff_seconds)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if publisher is not None:
                publisher.stop()
            checkpointer.stop()
            db.dispose()

    app = FastAPI(title="Interdict", version=__version__, description=DESCRIPTION,
                  openapi_tags=TAGS, exception_handlers=HANDLERS, lifespan=lifespan,
                  docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.settings = settings
    app.state.db = db
    app.state.reference = Registry(override=settings.reference_path)
    try:
        app.state.reference.names()  # a wrong INTERDICT_REFERENCE_PATH stops start-up
    except InvalidData as exc:
        raise ConfigurationError(exc.detail, errors=exc.errors) from exc

    for router in (alerts_api.router, alerts_api.webhook_router, auth_api.router,
                   audit_api.router, reference_api.router, substances_api.router,
                   spectra_api.router, network_api.router, precursors_api.router,
                   targeting_api.router, seizures_api.router, exchange_api.router):
        app.include_router(router)
    app.include_router(substances_web.router)
    app.include_router(spectra_web.router)
    app.include_router(network_web.router)
    app.include_router(precursors_web.router)
    app.include_router(targeting_web.router)
    app.include_router(seizures_web.router)
    app.include_router(exchange_web.router)
    app.include_router(exchange_work_web.router)
    web_routes.mount(app)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Database reachable and migrated",
             responses={503: {"description": "Not ready"}})
    def readyz() -> Response:
        checks: dict[str, Any] = {}
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if migrate.is_up_to_date(db) else "pending"
        except Exception as exc:  # report, never raise: this is a probe
            checks["database"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=Response)
    def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # The last added is the outermost: metrics also count requests the body limit refuses.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Metrics, registry=registry)
    return app
