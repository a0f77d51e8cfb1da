"""Who saw what and why: the exchange's part of the audit log, for supervisors.

Directive 2016/680 Art. 25 asks that every consultation and disclosure be logged with its
purpose. The audit log already holds them (reads of messages, deliveries, forwards and
refused forwards, imports, hit/no-hit queries and evaluations, follow-ups, rejections);
this view filters them to the exchange and to the supervisor's agency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interdict.audit.models import AuditEvent
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission


def events(session: Session, *, actor: Actor, limit: int = 500) -> list[dict[str, Any]]:
    actor.require(Permission.audit_read)
    rows = session.scalars(select(AuditEvent).where(
        AuditEvent.agency == actor.agency_code,
        AuditEvent.resource_type.like("exchange.%"))
        .order_by(AuditEvent.seq.desc()).limit(limit))
    return [{"seq": e.seq, "at": e.occurred_at.isoformat(), "who": e.actor,
             "action": e.action, "what": f"{e.resource_type} {e.resource_id}",
             "recipient": e.recipient, "justification": e.justification,
             "details": e.details} for e in rows]
