"""Raise, list, read and work alerts, always within the caller's agency."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from interdict.alerts import webhooks
from interdict.alerts.feedback import dispatch_outcome
from interdict.alerts.models import Alert, AlertComment, AlertHistory, WebhookSubscription
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
    Status,
    WebhookCreate,
)
from interdict.audit import service as audit
from interdict.audit.events import AuditAction
from interdict.auth.actor import Actor
from interdict.auth.models import User
from interdict.auth.roles import Permission
from interdict.auth.scoping import visible_to
from interdict.auth.service import get_agency, share_record
from interdict.db.base import utcnow
from interdict.db.dialect import serialize_writers
from interdict.errors import Conflict, FieldError, Forbidden, InvalidData, NotFound

RESOURCE = "alert"


def _visible(actor: Actor) -> Any:
    return visible_to(actor, agency_column=Alert.agency_id, id_column=Alert.id,
                      resource_type=RESOURCE)


def raise_alert(session: Session, *, actor: Actor, data: AlertCreate) -> AlertRead:
    """Put an alert on the actor's agency's queue (idempotent on ``dedup_key``).

    Webhook deliveries are written in the same transaction, so an alert committed is an alert
    that will be delivered, even if subscribers are down or the process restarts.
    """
    actor.require(Permission.alerts_create)
    # Take the writers' lock before the id is assigned, so alert ids commit in increasing
    # order: live streams and the JetStream outbox advance by id and must never skip one.
    serialize_writers(session, "interdict.audit")
    if data.dedup_key:
        existing = session.scalar(select(Alert).where(
            Alert.agency_id == actor.agency_id, Alert.source == data.source,
            Alert.dedup_key == data.dedup_key))
        if existing is not None:
            return AlertRead.model_validate(existing)
    now = utcnow()
    alert = Alert(
        agency_id=actor.agency_id, source=data.source, kind=data.kind, title=data.title,
        severity=data.severity.value, score=data.score,
        reasons=[r.model_dump(mode="json") for r in data.reasons],
        subjects=[s.model_dump(mode="json") for s in data.subjects],
        status=Status.new.value, dedup_key=data.dedup_key, created_at=now, updated_at=now,
    )
    session.add(alert)
    session.flush()
    session.add(AlertHistory(alert_id=alert.id, actor=actor.username, action="created",
                             from_status=None, to_status=Status.new.value, created_at=now))
    audit.record(session, actor=actor, action=AuditAction.alert_created, resource_type=RESOURCE,
                 resource_id=alert.id, details={"source": alert.source, "kind": alert.kind})
    read = AlertRead.model_validate(alert)
    webhooks.enqueue(session, agency_id=actor.agency_id, event="alert.created",
                     alert=read, agency_code=actor.agency_code)
    return read


def _get(session: Session, actor: Actor, alert_id: int) -> Alert:
    alert = session.scalar(select(Alert).where(Alert.id == alert_id, _visible(actor)))
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


def _get_owned(session: Session, actor: Actor, alert_id: int) -> Alert:
    """An alert the actor's agency may work: its own. Shared alerts are read-only."""
    alert = _get(session, actor, alert_id)
    if alert.agency_id != actor.agency_id:
        raise Forbidden(f"alert {alert_id} was shared with your agency read-only; "
                        "ask the owning agency to act on it")
    return alert


def get_alert(session: Session, *, actor: Actor, alert_id: int, justification: str = ""
              ) -> AlertDetail:
    """Read one alert; audited as a consultation because subjects may be persons."""
    actor.require(Permission.alerts_read)
    alert = _get(session, actor, alert_id)
    audit.record(session, actor=actor, action=AuditAction.record_viewed, resource_type=RESOURCE,
                 resource_id=alert.id, justification=justification)
    return AlertDetail.model_validate(alert)


def list_alerts(session: Session, *, actor: Actor, filters: AlertFilter, limit: int = 50,
                offset: int = 0) -> tuple[list[AlertRead], int]:
    actor.require(Permission.alerts_read)
    query = select(Alert).where(_visible(actor))
    if filters.status:
        query = query.where(Alert.status == filters.status.value)
    if filters.source:
        query = query.where(Alert.source == filters.source)
    if filters.severity:
        query = query.where(Alert.severity == filters.severity.value)
    if filters.assignee_id is not None:
        query = query.where(Alert.assignee_id == filters.assignee_id)
    if filters.since is not None:
        query = query.where(Alert.created_at >= filters.since)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        query = query.where(or_(func.lower(Alert.title).like(like),
                                func.lower(Alert.kind).like(like)))
    total = int(session.scalar(query.with_only_columns(func.count(Alert.id))) or 0)
    rows = session.scalars(query.order_by(Alert.id.desc()).limit(limit).offset(offset))
    return [AlertRead.model_validate(a) for a in rows], total


def alerts_after(session: Session, *, actor: Actor, after_id: int, limit: int = 100
                 ) -> list[AlertRead]:
    """Alerts newer than ``after_id``, oldest first: what a live stream sends next."""
    actor.require(Permission.alerts_read)
    rows = session.scalars(select(Alert).where(_visible(actor), Alert.id > after_id)
                           .order_by(Alert.id).limit(limit))
    return [AlertRead.model_validate(a) for a in rows]


def latest_alert_id(session: Session, *, actor: Actor) -> int:
    actor.require(Permission.alerts_read)
    return int(session.scalar(select(func.max(Alert.id)).where(_visible(actor))) or 0)


def _step(session: Session, alert: Alert, actor: Actor, action: str, to_status: Status,
          note: str = "") -> None:
    session.add(AlertHistory(alert_id=alert.id, actor=actor.username, action=action,
                             from_status=alert.status, to_status=to_status.value, note=note))
    audit.record(session, actor=actor, action=AuditAction.alert_changed, resource_type=RESOURCE,
                 resource_id=alert.id,
                 details={"action": action, "from": alert.status, "to": to_status.value})
    alert.status = to_status.value
    alert.updated_at = utcnow()


def _open(alert: Alert) -> None:
    if alert.status == Status.closed.value:
        raise Conflict(f"alert {alert.id} is closed",
                       errors=[FieldError("status", "closed alerts cannot change")])


def triage(session: Session, *, actor: Actor, alert_id: int, data: AlertTriage) -> AlertDetail:
    actor.require(Permission.alerts_work)
    alert = _get_owned(session, actor, alert_id)
    _open(alert)
    if alert.status != Status.new.value:
        raise Conflict(f"alert {alert.id} is already {alert.status}",
                       errors=[FieldError("status", "only new alerts can be triaged")])
    _step(session, alert, actor, "triaged", Status.triaged, data.note)
    session.flush()
    return AlertDetail.model_validate(alert)


def assign(session: Session, *, actor: Actor, alert_id: int, data: AlertAssign) -> AlertDetail:
    actor.require(Permission.alerts_work)
    alert = _get_owned(session, actor, alert_id)
    _open(alert)
    assignee = session.get(User, data.assignee_id)
    if assignee is None or assignee.agency_id != alert.agency_id or not assignee.active:
        raise InvalidData(f"no active user {data.assignee_id} in the alert's agency",
                          errors=[FieldError("assignee_id", "unknown user in this agency")])
    alert.assignee_id = assignee.id
    _step(session, alert, actor, "assigned", Status.assigned, f"to {assignee.username}")
    session.flush()
    return AlertDetail.model_validate(alert)


def comment(session: Session, *, actor: Actor, alert_id: int, data: AlertCommentCreate
            ) -> AlertDetail:
    actor.require(Permission.alerts_work)
    alert = _get_owned(session, actor, alert_id)
    session.add(AlertComment(alert_id=alert.id, author=actor.username, body=data.body))
    alert.updated_at = utcnow()
    audit.record(session, actor=actor, action=AuditAction.alert_changed, resource_type=RESOURCE,
                 resource_id=alert.id, details={"action": "commented"})
    session.flush()
    session.refresh(alert)
    return AlertDetail.model_validate(alert)


def close(session: Session, *, actor: Actor, alert_id: int, data: AlertClose) -> AlertDetail:
    """Close with an outcome, and feed the outcome back to the module that raised it."""
    actor.require(Permission.alerts_work)
    alert = _get_owned(session, actor, alert_id)
    _open(alert)
    alert.outcome = data.outcome.value
    alert.closed_at = utcnow()
    _step(session, alert, actor, "closed", Status.closed,
          f"{data.outcome.value}: {data.note}".rstrip(": "))
    session.flush()
    read = AlertRead.model_validate(alert)
    dispatch_outcome(session, read, data.outcome.value)
    webhooks.enqueue(session, agency_id=alert.agency_id, event="alert.closed", alert=read,
                     agency_code=actor.agency_code)  # the owner: _get_owned guarantees it
    session.refresh(alert)
    return AlertDetail.model_validate(alert)


def share(session: Session, *, actor: Actor, alert_id: int, data: AlertShare) -> AlertDetail:
    """Give another agency read-only sight of an alert (audited as a disclosure)."""
    alert = _get_owned(session, actor, alert_id)
    recipient = get_agency(session, code=data.agency)
    if recipient.id == actor.agency_id:
        raise InvalidData("an alert is already visible to its own agency",
                          errors=[FieldError("agency", "choose another agency")])
    share_record(session, actor=actor, resource_type=RESOURCE, resource_id=alert.id,
                 owner_agency_id=alert.agency_id, recipient=recipient,
                 handling_code=data.handling_code, justification=data.justification)
    return AlertDetail.model_validate(alert)


def assignable_users(session: Session, *, actor: Actor) -> list[User]:
    actor.require(Permission.alerts_read)
    return list(session.scalars(select(User).where(User.agency_id == actor.agency_id,
                                                   User.active.is_(True))
                                .order_by(User.username)))


# --- dashboard figures ----------------------------------------------------------------------

def summary(session: Session, *, actor: Actor, days: int = 30) -> dict[str, Any]:
    """Counts by status and a daily series by source module for the dashboard."""
    actor.require(Permission.alerts_read)
    vis = _visible(actor)
    by_status = dict(session.execute(
        select(Alert.status, func.count()).where(vis).group_by(Alert.status)).all())
    by_severity = dict(session.execute(
        select(Alert.severity, func.count()).where(vis, Alert.status != Status.closed.value)
        .group_by(Alert.severity)).all())
    today = utcnow().date()
    start = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    rows = session.execute(select(Alert.source, Alert.created_at)
                           .where(vis, Alert.created_at >= since)).all()
    counts: Counter[tuple[str, dt.date]] = Counter((s, c.date()) for s, c in rows)
    days_axis = [start + dt.timedelta(days=i) for i in range(days)]
    sources = sorted({s for s, _ in counts})
    series = {s: [counts.get((s, d), 0) for d in days_axis] for s in sources}
    return {
        "by_status": {s.value: int(by_status.get(s.value, 0)) for s in Status},
        "open_by_severity": {k: int(v) for k, v in by_severity.items()},
        "days": [d.isoformat() for d in days_axis],
        "series": series,
        "total": int(sum(by_status.values())),
    }


# --- webhook subscriptions ------------------------------------------------------------------

def create_webhook(session: Session, *, actor: Actor, data: WebhookCreate
                   ) -> WebhookSubscription:
    actor.require(Permission.webhooks_manage)
    sub = WebhookSubscription(agency_id=actor.agency_id, url=str(data.url), secret=data.secret,
                              min_severity=data.min_severity.value, sources=data.sources)
    session.add(sub)
    session.flush()
    audit.record(session, actor=actor, action=AuditAction.webhook_created,
                 resource_type="webhook", resource_id=sub.id, recipient=str(data.url))
    return sub


def list_webhooks(session: Session, *, actor: Actor) -> list[WebhookSubscription]:
    actor.require(Permission.webhooks_manage)
    return list(session.scalars(select(WebhookSubscription)
                                .where(WebhookSubscription.agency_id == actor.agency_id)))


def delete_webhook(session: Session, *, actor: Actor, webhook_id: int) -> None:
    actor.require(Permission.webhooks_manage)
    sub = session.get(WebhookSubscription, webhook_id)
    if sub is None or sub.agency_id != actor.agency_id:
        raise NotFound(f"no webhook {webhook_id}")
    sub.active = False
    audit.record(session, actor=actor, action=AuditAction.webhook_deleted,
                 resource_type="webhook", resource_id=sub.id)
