"""HTTP routes: check, batch screen, browse lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep
from interdict.substances import service
from interdict.substances.index import SubstanceIndex
from interdict.substances.schemas import CheckQuery, ScreenRow, Verdict

router = APIRouter(prefix="/api/v1/substances", tags=["substances"], responses=ERRORS)


def _index(request: Request) -> SubstanceIndex:
    return service.get_index(request.app.state.reference)


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smiles: list[str] = Field(min_length=1, max_length=10_000)


@router.post("/check", summary="Control status of one substance, explained",
             response_model=Verdict)
def check(query: CheckQuery, request: Request, actor: ActorDep) -> Verdict:
    return service.check(index=_index(request), query=query)


@router.post("/screen", summary="Screen many SMILES; bad rows get an error, never a 5xx",
             response_model=list[ScreenRow])
def screen(data: ScreenRequest, request: Request, actor: ActorDep) -> list[ScreenRow]:
    rows = [(i, s, s) for i, s in enumerate(data.smiles, start=1)]
    return list(service.screen(index=_index(request), rows=rows))


@router.get("/lists", summary="Substance lists in force with version and checksum")
def lists(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    return service.list_summaries(index=_index(request))


@router.get("/lists/{list_name:path}", summary="Entries of one substance list")
def list_entries(list_name: str, request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    return service.list_entries(index=_index(request), list_name=list_name)
