"""HTTP routes: import into the intelligence file, read entities and links, export, judge."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession
from interdict.network import service
from interdict.network.provenance import Provenance

router = APIRouter(prefix="/api/v1/network", tags=["network"], responses=ERRORS)
#: Ids are 64-bit integers in both databases; larger numbers are refused, not overflowed.
MAX_ID = 2**63 - 1
EntityId = Annotated[int, FastPath(ge=1, le=MAX_ID)]


@router.post("/import", summary="Import FtM JSON lines or call detail records "
             "(all or nothing; the same file again is a no-op)")
async def import_file(
        request: Request, session: WriteSession, actor: ActorDep,
        file: Annotated[UploadFile, File()],
        kind: Annotated[str, Form(description="ftm, cdr, mapping, matrix or edgelist")] = "ftm",
        mapping: Annotated[UploadFile | None, File(description="FtM mapping YAML "
                                                               "(kind=mapping)")] = None,
        namespace: Annotated[str | None, Form(description="matrix/edgelist: network name")] = None,
        period: Annotated[str | None, Form(max_length=40,
                                           description="matrix/edgelist: period label")] = None,
        directed: Annotated[bool, Form()] = True,
        scheme: Annotated[str, Form()] = "4x4",
        source_grade: Annotated[str, Form()] = "X",
        information_grade: Annotated[str, Form()] = "4",
        handling: Annotated[str, Form()] = "H0",
        observed_on: Annotated[str | None, Form()] = None,
        originator: Annotated[str | None, Form(max_length=32,
                                               description="default: your agency")] = None,
) -> dict[str, Any]:
    provenance = Provenance(originator=originator or actor.agency_code, scheme=scheme,
                            source_grade=source_grade, information_grade=information_grade,
                            handling=handling, observed_on=observed_on or None)
    data, filename = await file.read(), file.filename or "upload"
    if kind in ("matrix", "edgelist"):
        result = service.import_network(session, actor=actor,
                                        registry=request.app.state.reference,
                                        filename=filename, data=data, provenance=provenance,
                                        fmt=kind, directed=directed, namespace=namespace,
                                        period=period)
    else:
        result = service.import_file(
            session, actor=actor, registry=request.app.state.reference, kind=kind,
            filename=filename, data=data, provenance=provenance,
            mapping=(await mapping.read()).decode("utf-8", errors="replace") if mapping else None)
    return result.as_dict()


class EntitySummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ftm_id: str
    schema_name: str = Field(validation_alias="schema")
    caption: str


@router.get("/entities", summary="Search entities by caption", response_model=list[EntitySummary])
def entities(session: ReadSession, actor: ActorDep, q: str = "",
             schema: str | None = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[EntitySummary]:
    return [EntitySummary.model_validate(e)
            for e in service.search(session, actor=actor, q=q, schema=schema, limit=limit)]


@router.get("/entities/{entity_id}", summary="An entity with every value and its provenance "
            "(audited consultation)")
def entity(entity_id: EntityId, session: WriteSession, actor: ActorDep,
           purpose: str = "") -> dict[str, Any]:
    return service.entity(session, actor=actor, entity_id=entity_id, purpose=purpose)


@router.get("/entities/{entity_id}/neighbours", summary="Direct neighbours and links")
def neighbours(entity_id: EntityId, session: WriteSession, actor: ActorDep) -> dict[str, Any]:
    result = service.neighbours(session, actor=actor, entity_id=entity_id)
    service.consulted(session, actor=actor, what=f"neighbours:{entity_id}",
                      nodes=len(result["nodes"]))
    return result


@router.get("/export", summary="Export the visible file: FtM JSON lines, i2 ANX XML, "
            "GraphML, GEXF or CSV (edge list)", response_class=PlainTextResponse)
def export(session: WriteSession, actor: ActorDep,
           format: Annotated[str, Query(pattern="^(ftm|anx|graphml|gexf|csv)$")] = "ftm"
           ) -> PlainTextResponse:
    if format in ("graphml", "gexf", "csv"):
        with tempfile.TemporaryDirectory() as folder:
            files = service.export_graph_files(session, actor=actor, to=format,
                                               out=Path(folder) / f"network.{format}")
            return PlainTextResponse(files[0].read_text(encoding="utf-8"),
                                     media_type="application/xml" if format != "csv"
                                     else "text/csv")
    if format == "anx":
        return PlainTextResponse(service.export_anx(session, actor=actor),
                                 media_type="application/xml")
    return PlainTextResponse(service.export_ftm(session, actor=actor),
                             media_type="application/x-ndjson")


class JudgementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    left_id: int = Field(ge=1, le=MAX_ID)
    right_id: int = Field(ge=1, le=MAX_ID)
    decision: str = Field(pattern="^(accept|reject|unsure)$")
    reason: str = Field("", max_length=2000)


@router.post("/judgements", summary="Accept, reject or mark unsure a candidate duplicate pair")
def judge(data: JudgementIn, session: WriteSession, actor: ActorDep) -> dict[str, Any]:
    row = service.judge(session, actor=actor, left_id=data.left_id, right_id=data.right_id,
                        decision=data.decision, reason=data.reason)
    return {"id": row.id, "left_id": row.left_id, "right_id": row.right_id,
            "decision": row.decision, "username": row.username}


@router.post("/resolution/run", summary="Look for duplicate entities (replaces the pending "
             "suggestions; nothing is merged)")
def run_resolution(session: WriteSession, actor: ActorDep) -> dict[str, Any]:
    return service.run_resolution(session, actor=actor)


@router.get("/resolution/pending", summary="Unjudged duplicate suggestions with explanations")
def pending(session: ReadSession, actor: ActorDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    return service.pending(session, actor=actor, limit=limit)


@router.get("/resolution/canonical", summary="Canonical id of every entity of your agency")
def canonical(session: ReadSession, actor: ActorDep) -> dict[int, str]:
    return service.canonical(session, actor=actor)


@router.get("/paths", summary="Shortest and short paths between two entities, with evidence")
def paths(session: WriteSession, actor: ActorDep,
          source: Annotated[int, Query(ge=1, le=MAX_ID)],
          target: Annotated[int, Query(ge=1, le=MAX_ID)],
          weight_as: Annotated[str, Query(pattern="^(strength|distance)$")] = "strength",
          max_hops: Annotated[int, Query(ge=1, le=6)] = 4) -> dict[str, Any]:
    result = service.paths(session, actor=actor, source_id=source, target_id=target,
                           weight_as=weight_as, max_hops=max_hops)
    service.consulted(session, actor=actor, what=f"paths:{source}-{target}",
                      paths=len(result["shortest"]) + len(result["short"]))
    return result


def _direction(direction: str) -> bool | None:
    return {"directed": True, "undirected": False}.get(direction)


@router.get("/analysis", summary="Centralities, communities and key players of the visible "
            "network (or one period)")
def analysis(session: WriteSession, actor: ActorDep, period: str | None = None,
             weight_as: Annotated[str, Query(pattern="^(strength|distance)$")] = "strength",
             direction: Annotated[str, Query(pattern="^(auto|directed|undirected)$")] = "auto",
             top: Annotated[int, Query(ge=1, le=500)] = 15) -> dict[str, Any]:
    result = service.analyse(session, actor=actor, period=period, weight_as=weight_as,
                             top=top, directed=_direction(direction))
    service.consulted(session, actor=actor, what="analysis", period=period,
                      nodes=result["nodes"])
    return result


@router.get("/disruption", summary="Largest-component curves of removing actors by each "
            "strategy")
def disruption(session: ReadSession, actor: ActorDep, period: str | None = None,
               mode: Annotated[str, Query(pattern="^(sequential|block)$")] = "sequential",
               block_size: Annotated[int, Query(ge=1, le=100)] = 1,
               direction: Annotated[str, Query(pattern="^(auto|directed|undirected)$")] = "auto"
               ) -> list[dict[str, Any]]:
    return service.disruption(session, actor=actor, mode=mode, block_size=block_size,
                              period=period, directed=_direction(direction))
