"""HTTP routes: identify an uploaded spectrum, read results, list and extend libraries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep, ReadSession, WriteSession
from interdict.spectra import service
from interdict.spectra.schemas import (
    IdentificationOut,
    ImportReport,
    LibraryEntryOut,
    LibraryOut,
)
from interdict.spectra.search import Metric
from interdict.spectra.spectrum import Technique

router = APIRouter(prefix="/api/v1/spectra", tags=["spectra"], responses=ERRORS)


@router.post("/identify", summary="Ranked identifications, mixture and control status",
             response_model=IdentificationOut)
async def identify(request: Request, session: WriteSession, actor: ActorDep,
                   file: Annotated[UploadFile, File(description="The spectrum file.")],
                   library: Annotated[str | None, Form()] = None,
                   technique: Annotated[Technique | None, Form()] = None,
                   metric: Annotated[Metric | None, Form()] = None,
                   top: Annotated[int, Form(ge=1, le=50)] = 10,
                   case_reference: Annotated[str, Form(max_length=120)] = "",
                   mixture: Annotated[bool, Form()] = True) -> IdentificationOut:
    return service.identify(session, actor=actor, registry=request.app.state.reference,
                            data=await file.read(), filename=file.filename or "upload",
                            library=library, technique=technique, metric=metric, top=top,
                            case_reference=case_reference, mixture=mixture)


@router.get("/identifications/{identification_id}", summary="A stored identification")
def identification(identification_id: int, session: ReadSession,
                   actor: ActorDep) -> dict[str, Any]:
    return service.get_identification(session, actor=actor,
                                      identification_id=identification_id)


@router.get("/libraries", summary="Libraries the agency can search, with versions",
            response_model=list[LibraryOut])
def libraries(session: ReadSession, actor: ActorDep) -> list[LibraryOut]:
    return service.list_libraries(session, actor=actor)


@router.get("/libraries/{name}", summary="Entries of one library",
            response_model=list[LibraryEntryOut])
def library_entries(name: str, session: ReadSession, actor: ActorDep) -> list[LibraryEntryOut]:
    return service.library_entries(session, actor=actor, name=name)


@router.post("/libraries/{name}/import", summary="Add spectrum files to a library "
             "(all or nothing; files already present are skipped)", response_model=ImportReport)
async def import_files(name: str, session: WriteSession, actor: ActorDep,
                       files: Annotated[list[UploadFile], File()],
                       technique: Annotated[Technique | None, Form()] = None,
                       description: Annotated[str, Form(max_length=2000)] = "") -> ImportReport:
    data = [(f.filename or f"file{i}", await f.read()) for i, f in enumerate(files, start=1)]
    return service.import_library(session, actor=actor, name=name, files=data,
                                  technique=technique, description=description)
