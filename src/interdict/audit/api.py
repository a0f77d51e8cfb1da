"""HTTP routes for supervisors: read and verify the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from interdict.api.common import ERRORS, Page
from interdict.api.deps import ActorDep, PagingDep, ReadSession
from interdict.audit import service
from interdict.auth.roles import Permission

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS)


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    occurred_at: dt.datetime
    actor: str
    agency: str
    action: str
    resource_type: str
    resource_id: str
    justification: str
    recipient: str
    details: dict[str, Any]
    hash: str


@router.get("", summary="Your agency's audit events, newest first",
            response_model=Page[AuditEventRead])
def list_events(session: ReadSession, actor: ActorDep, paging: PagingDep,
                action: str | None = Query(None, max_length=64)) -> Page[AuditEventRead]:
    actor.require(Permission.audit_read)
    rows, total = service.list_events(session, agency=actor.agency_code, action=action,
                                      limit=paging.limit, offset=paging.offset)
    return Page(items=[AuditEventRead.model_validate(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/verify", summary="Check the whole hash chain")
def verify(session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    actor.require(Permission.audit_read)
    return service.verify(session).as_dict()
