"""HTTP routes of risk-based targeting (thin: every decision is in the services)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Header, Query, Request, UploadFile
from fastapi.responses import StreamingResponse

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession, get_db
from interdict.api.sse import poll_events
from interdict.auth.actor import Actor
from interdict.auth.roles import Permission
from interdict.db.session import unit_of_work
from interdict.targeting import management, service
from interdict.targeting.schemas import ConsignmentIn, InspectionIn, RuleSetIn

router = APIRouter(prefix="/api/v1/targeting", tags=["targeting"], responses=ERRORS)


@router.post("/consignments", summary="Submit one consignment: stored, scored, laned and, "
             "above the alert threshold, alerted, in this request")
def submit(request: Request, session: WriteSession, actor: ActorDep,
           item: Annotated[ConsignmentIn, Body()]) -> dict[str, Any]:
    return service.submit(session, actor=actor, registry=request.app.state.reference,
                          item=item)


@router.get("/consignments", summary="The targeting queue: newest scored consignments, or "
            "those after an id")
def consignments(session: ReadSession, actor: ActorDep, after: int = 0,
                 lane: Annotated[str | None, Query(pattern="^(red|yellow|blue|green)$")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return service.queue(session, actor=actor, after_id=after, limit=limit, lane=lane)


@router.get("/consignments/{consignment_id}", summary="A consignment with its score "
            "explanation and inspection result")
def consignment(session: ReadSession, actor: ActorDep, consignment_id: int) -> dict[str, Any]:
    return service.detail(session, actor=actor, consignment_id=consignment_id)


@router.post("/consignments/{consignment_id}/inspection", summary="Record what the "
             "inspection found; closes the alert and feeds hit rates and retraining")
def inspection(session: WriteSession, actor: ActorDep, consignment_id: int,
               data: InspectionIn) -> dict[str, Any]:
    return service.record_inspection(session, actor=actor, consignment_id=consignment_id,
                                     data=data)


@router.post("/import", summary="Import a declaration file (KCS CSV layout or JSON lines): "
             "history with outcomes, or arrivals to score; all or nothing")
async def import_file(request: Request, session: WriteSession, actor: ActorDep,
                      file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    return service.import_file(session, actor=actor, registry=request.app.state.reference,
                               data=await file.read(), filename=file.filename or "upload.csv")


@router.post("/score", summary="Score a file against the current history and profiles "
             "without storing it")
async def score_file(request: Request, session: ReadSession, actor: ActorDep,
                     file: Annotated[UploadFile, File()]) -> list[dict[str, Any]]:
    return service.score_file(session, actor=actor, registry=request.app.state.reference,
                              data=await file.read(), filename=file.filename or "upload.csv")


@router.get("/rules", summary="The rule profiles in force with each rule's hit rate")
def rules(request: Request, session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    return management.active_rules(session, actor=actor, registry=request.app.state.reference)


@router.put("/rules", summary="Save a new version of the rule profiles (refused with line and "
            "reason if it does not validate; the version in force stays)")
def save_rules(session: WriteSession, actor: ActorDep, data: RuleSetIn) -> dict[str, Any]:
    return management.save_rules(session, actor=actor, text=data.text, note=data.note)


@router.get("/rules/versions", summary="Every saved version of the rule profiles")
def rule_versions(session: ReadSession, actor: ActorDep) -> list[dict[str, Any]]:
    return management.rule_sets(session, actor=actor)


@router.get("/models", summary="Trained models with their periods and validation metrics")
def models(session: ReadSession, actor: ActorDep) -> list[dict[str, Any]]:
    return management.models(session, actor=actor)


@router.post("/models/train", summary="Train a model on the agency's labelled consignments "
             "(most recent share held out) and make it active")
def train(request: Request, session: WriteSession, actor: ActorDep,
          label: Annotated[str, Query(pattern="^(fraud|critical)$")] = "fraud"
          ) -> dict[str, Any]:
    return management.train(session, actor=actor, registry=request.app.state.reference,
                            label=label)


@router.post("/models/{version}/activate", summary="Make a model version the active one")
def activate(session: WriteSession, actor: ActorDep, version: int) -> dict[str, Any]:
    return management.activate_model(session, actor=actor, version=version)


@router.get("/drift", summary="Recent score distribution and hit rate against the training "
            "period")
def drift(request: Request, session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    return management.drift(session, actor=actor, registry=request.app.state.reference)


def _events(request: Request, actor: Actor, after: int | None) -> AsyncIterator[str]:
    """New selections as SSE events, read from the table, so that consignments scored by other
    processes (imports, other workers) appear too."""
    db = get_db(request)

    def fetch(after_id: int) -> list[tuple[int, str]]:
        with unit_of_work(db, readonly=True) as session:
            return [(int(c["id"]), json.dumps(c)) for c in
                    service.queue(session, actor=actor, after_id=after_id, limit=200)]

    def newest() -> int:
        with unit_of_work(db, readonly=True) as session:
            latest = service.queue(session, actor=actor, limit=1)
            return int(latest[-1]["id"]) if latest else 0

    return poll_events(request, after=after, event="consignment", fetch=fetch, newest=newest)


@router.get("/stream", summary="Live selections as Server-Sent Events (event: consignment)",
            response_class=StreamingResponse)
def stream(request: Request, actor: ActorDep, after: int | None = None,
           last_event_id: Annotated[int | None, Header()] = None) -> StreamingResponse:
    actor.require(Permission.targeting_read)
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(_events(request, actor, start),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
