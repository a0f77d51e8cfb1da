"""HTTP routes of the alert queue; each handler parses, calls the service and returns."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from interdict.alerts import service
from interdict.alerts.schemas import (
    AlertAssign,
    AlertClose,
    AlertCommentCreate,
    AlertCreate,
    AlertDetail,
    AlertFilter,
    AlertRead,
    AlertShare,
    AlertTriage,
    Severity,
    Status,
    WebhookCreate,
    WebhookRead,
)
from interdict.api.common import ERRORS, Page
from interdict.api.deps import ActorDep, PagingDep, ReadSession, WriteSession, get_db
from interdict.api.sse import poll_events
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.db.session import unit_of_work

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=ERRORS)


async def alert_filter(
    status: Status | None = None, source: str | None = Query(None, max_length=32),
    severity: Severity | None = None, assignee_id: int | None = None,
    q: str | None = Query(None, max_length=200, description="Words in title or kind."),
) -> AlertFilter:
    return AlertFilter(status=status, source=source, severity=severity,
                       assignee_id=assignee_id, q=q)


@router.get("", summary="List alerts visible to your agency", response_model=Page[AlertRead])
def list_alerts(session: ReadSession, actor: ActorDep, paging: PagingDep,
                filters: Annotated[AlertFilter, Depends(alert_filter)]) -> Page[AlertRead]:
    items, total = service.list_alerts(session, actor=actor, filters=filters,
                                       limit=paging.limit, offset=paging.offset)
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", summary="Raise an alert", status_code=201, response_model=AlertRead)
def raise_alert(data: AlertCreate, session: WriteSession, actor: ActorDep) -> AlertRead:
    return service.raise_alert(session, actor=actor, data=data)


@router.get("/summary", summary="Counts and daily series for dashboards")
def summary(session: ReadSession, actor: ActorDep,
            days: int = Query(30, ge=1, le=366)) -> dict[str, object]:
    return service.summary(session, actor=actor, days=days)


def sse_events(request: Request, actor: Actor, last_id: int | None,
               render: Callable[[AlertRead], str], event: str) -> AsyncIterator[str]:
    """The actor's new alerts as SSE events, rendered by ``render`` (JSON or an HTML row)."""
    db = get_db(request)

    def fetch(after: int) -> list[tuple[int, str]]:
        with unit_of_work(db, readonly=True) as session:
            return [(a.id, render(a)) for a in
                    service.alerts_after(session, actor=actor, after_id=after)]

    def newest() -> int:
        with unit_of_work(db, readonly=True) as session:
            return service.latest_alert_id(session, actor=actor)

    return poll_events(request, after=last_id, event=event, fetch=fetch, newest=newest)


@router.get("/stream", summary="Live alerts as Server-Sent Events (event: alert)",
            response_class=StreamingResponse)
def stream(request: Request, actor: ActorDep,
           last_event_id: Annotated[int | None, Header()] = None) -> StreamingResponse:
    actor.require(Permission.alerts_read)
    events = sse_events(request, actor, last_event_id,
                        lambda a: json.dumps(a.model_dump(mode="json")), "alert")
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/{alert_id}", summary="Read one alert (audited)", response_model=AlertDetail)
def get_alert(alert_id: int, session: WriteSession, actor: ActorDep,
              justification: str = Query("", max_length=500)) -> AlertDetail:
    return service.get_alert(session, actor=actor, alert_id=alert_id,
                             justification=justification)


@router.post("/{alert_id}/triage", summary="Mark a new alert triaged", response_model=AlertDetail)
def triage(alert_id: int, data: AlertTriage, session: WriteSession, actor: ActorDep
           ) -> AlertDetail:
    return service.triage(session, actor=actor, alert_id=alert_id, data=data)


@router.post("/{alert_id}/assign", summary="Assign to a user of your agency",
             response_model=AlertDetail)
def assign(alert_id: int, data: AlertAssign, session: WriteSession, actor: ActorDep
           ) -> AlertDetail:
    return service.assign(session, actor=actor, alert_id=alert_id, data=data)


@router.post("/{alert_id}/comments", summary="Comment on an alert", response_model=AlertDetail)
def comment(alert_id: int, data: AlertCommentCreate, session: WriteSession, actor: ActorDep
            ) -> AlertDetail:
    return service.comment(session, actor=actor, alert_id=alert_id, data=data)


@router.post("/{alert_id}/close", summary="Close with an outcome (fed back to the source)",
             response_model=AlertDetail)
def close(alert_id: int, data: AlertClose, session: WriteSession, actor: ActorDep
          ) -> AlertDetail:
    return service.close(session, actor=actor, alert_id=alert_id, data=data)


@router.post("/{alert_id}/share", summary="Share read-only with another agency (audited)",
             response_model=AlertDetail)
def share(alert_id: int, data: AlertShare, session: WriteSession, actor: ActorDep
          ) -> AlertDetail:
    return service.share(session, actor=actor, alert_id=alert_id, data=data)


webhook_router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERRORS)


@webhook_router.get("", summary="List your agency's webhook subscriptions",
                    response_model=list[WebhookRead])
def list_webhooks(session: ReadSession, actor: ActorDep) -> list[WebhookRead]:
    return [WebhookRead.model_validate(w) for w in service.list_webhooks(session, actor=actor)]


@webhook_router.post("", summary="Subscribe a URL to your agency's alerts", status_code=201,
                     response_model=WebhookRead)
def create_webhook(data: WebhookCreate, session: WriteSession, actor: ActorDep) -> WebhookRead:
    return WebhookRead.model_validate(service.create_webhook(session, actor=actor, data=data))


@webhook_router.delete("/{webhook_id}", summary="Deactivate a subscription", status_code=204)
def delete_webhook(webhook_id: int, session: WriteSession, actor: ActorDep) -> None:
    service.delete_webhook(session, actor=actor, webhook_id=webhook_id)
