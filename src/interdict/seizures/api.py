"""HTTP routes of seizures and forensic profiling (thin: every decision is in the service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession
from interdict.seizures import geo, service

router = APIRouter(prefix="/api/v1/seizures", tags=["seizures"], responses=ERRORS)


class Decision(BaseModel):
    decision: str = Field(pattern="^(confirm|reject)$")
    note: str = Field("", max_length=4000)


@router.post("", summary="Record one seizure (nested form: substances as a list of lines); "
             "parties are written to the intelligence file")
def create(request: Request, session: WriteSession, actor: ActorDep,
           data: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.create(session, actor=actor, registry=request.app.state.reference,
                          data=data)


@router.put("/{seizure_id}", summary="Correct a seizure: the whole nested form again (the "
            "reference stays); replaced values are kept in the audit log")
def amend(request: Request, session: WriteSession, actor: ActorDep, seizure_id: int,
          data: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.amend(session, actor=actor, registry=request.app.state.reference,
                         seizure_id=seizure_id, data=data)


@router.get("", summary="Seizures newest first, by text, substance or country")
def search(session: ReadSession, actor: ActorDep, q: str = "", substance: str = "",
           country: str = "", limit: Annotated[int, Query(ge=1, le=5000)] = 200
           ) -> list[dict[str, Any]]:
    return service.search(session, actor=actor, q=q, substance=substance, country=country,
                          limit=limit)


@router.post("/import", summary="Import seizures from CSV or JSON lines (one row per "
             "substance line); all or nothing, idempotent")
async def import_file(request: Request, session: WriteSession, actor: ActorDep,
                      file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    return service.import_file(session, actor=actor, registry=request.app.state.reference,
                               data=await file.read(), filename=file.filename or "upload.csv")


@router.get("/map", summary="Seizure points and route flows for the world map")
def map_data(session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    return service.map_data(session, actor=actor, centroids=geo.country_centroids())


@router.get("/dashboard", summary="Seizures by substance, country and month, and published "
            "monthly aggregates")
def dashboard(session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    return service.dashboard(session, actor=actor)


@router.get("/links", summary="Candidate, confirmed and rejected links between seizures")
def links(session: ReadSession, actor: ActorDep,
          status: Annotated[str | None, Query(pattern="^(candidate|confirmed|rejected)$")]
          = None) -> list[dict[str, Any]]:
    return service.list_links(session, actor=actor, status=status)


@router.post("/links/find", summary="Propose links from marks and chemistry (with route and "
             "time as support), each with its evidence")
def find_links(session: WriteSession, actor: ActorDep) -> dict[str, Any]:
    return service.find_links(session, actor=actor)


@router.post("/links/{link_id}/decision", summary="Confirm (into the entity graph, with a "
             "series alert across countries) or reject a candidate link")
def decide(request: Request, session: WriteSession, actor: ActorDep, link_id: int,
           data: Decision) -> dict[str, Any]:
    return service.decide_link(session, actor=actor, registry=request.app.state.reference,
                               link_id=link_id, decision=data.decision, note=data.note)


@router.get("/chemistry/threshold", summary="The chemical-profile link threshold in force, "
            "its false-link rate and how it was derived")
def threshold(session: ReadSession, actor: ActorDep) -> dict[str, Any]:
    return service.chemistry_threshold(session, actor=actor)


@router.post("/marks/search", summary="Earlier marks most like an uploaded photo, ranked, "
             "with attribute filters")
async def search_marks(session: WriteSession, actor: ActorDep,
                       image: Annotated[UploadFile, File()],
                       kind: Annotated[str, Form()] = "", shape: Annotated[str, Form()] = "",
                       colour: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                       top: Annotated[int, Form(ge=1, le=100)] = 10) -> dict[str, Any]:
    return service.search_marks(session, actor=actor, data=await image.read(),
                                filters=service.MarkFilters(kind=kind, shape=shape,
                                                            colour=colour, text=text),
                                top=top)


@router.get("/marks/{mark_id}/similar", summary="Earlier marks most like a stored mark")
def similar(session: WriteSession, actor: ActorDep, mark_id: int,
            top: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    return service.search_marks(session, actor=actor, mark_id=mark_id, top=top)


@router.get("/marks/{mark_id}/image", summary="The stored picture of a mark",
            response_class=Response)
def mark_image(session: ReadSession, actor: ActorDep, mark_id: int,
               thumbnail: bool = False) -> Response:
    body, media = service.mark_file(session, actor=actor, mark_id=mark_id,
                                    thumbnail=thumbnail)
    return Response(body, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/{seizure_id}", summary="A seizure with its lines, parties, marks, lab profiles "
            "and links (reading parties is audited)")
def detail(session: WriteSession, actor: ActorDep, seizure_id: int) -> dict[str, Any]:
    return service.detail(session, actor=actor, seizure_id=seizure_id)


class ShareIn(BaseModel):
    agency: str = Field(min_length=1, max_length=32)
    justification: str = Field(min_length=1, max_length=2000)


@router.post("/{seizure_id}/share", summary="Share a seizure with a partner agency under its "
             "handling code (audited as a disclosure; only the seizing agency shares)")
def share(session: WriteSession, actor: ActorDep, seizure_id: int, data: ShareIn
          ) -> dict[str, Any]:
    return service.share(session, actor=actor, seizure_id=seizure_id, agency=data.agency,
                         justification=data.justification)


@router.get("/{seizure_id}/series", summary="Every seizure linked with this one by confirmed "
            "links, with their countries and marks")
def series(session: ReadSession, actor: ActorDep, seizure_id: int) -> dict[str, Any]:
    return service.series(session, actor=actor, seizure_id=seizure_id)


@router.post("/{seizure_id}/marks", summary="Add a photo of a logo, stamp or tool-mark with "
             "its described attributes (checksum, thumbnail and fingerprint stored)")
async def add_mark(session: WriteSession, actor: ActorDep, seizure_id: int,
                   image: Annotated[UploadFile, File()],
                   kind: Annotated[str, Form()] = "stamp", text: Annotated[str, Form()] = "",
                   shape: Annotated[str, Form()] = "", colour: Annotated[str, Form()] = "",
                   width_mm: Annotated[float | None, Form()] = None,
                   height_mm: Annotated[float | None, Form()] = None,
                   weight_g: Annotated[float | None, Form()] = None) -> dict[str, Any]:
    return service.add_mark(session, actor=actor, seizure_id=seizure_id,
                            data=await image.read(), filename=image.filename or "",
                            attributes=service.MarkAttributes(
                                kind=kind, text=text, shape=shape, colour=colour,
                                width_mm=width_mm, height_mm=height_mm, weight_g=weight_g))


@router.post("/{seizure_id}/profiles", summary="Add a lab report's chemical profile (purity, "
             "cutting agents, impurities)")
def add_profile(session: WriteSession, actor: ActorDep, seizure_id: int,
                report: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.add_profile(session, actor=actor, seizure_id=seizure_id, report=report)
