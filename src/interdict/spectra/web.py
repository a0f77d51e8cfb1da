"""Web pages: upload a spectrum and read the identification; browse the libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth.roles import Permission
from interdict.errors import InvalidData, NotFound
from interdict.spectra import service
from interdict.spectra.spectrum import Technique
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
add_template_dir(HERE / "templates")
register_nav(NavItem("Spectra", "/spectra", Permission.spectra_identify, order=25))
TECHNIQUES = ["", Technique.RAMAN.value, Technique.IR.value, Technique.MS.value]


def _upload_page(request: Request, session: ReadSession | WriteSession, actor: PageActor,
                 error: InvalidData | None = None, status: int = 200) -> Response:
    return render(request, "spectra_upload.html", actor, status=status, error=error,
                  libraries=service.list_libraries(session, actor=actor),
                  recent=service.recent_identifications(session, actor=actor),
                  techniques=TECHNIQUES)


@router.get("/spectra")
def upload_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _upload_page(request, session, actor)


@router.post("/spectra/identify", dependencies=[Depends(form_csrf)])
async def identify(request: Request, session: WriteSession, actor: PageActor,
                   file: Annotated[UploadFile, File()],
                   library: Annotated[str, Form()] = "",
                   technique: Annotated[str, Form()] = "",
                   case_reference: Annotated[str, Form()] = "") -> Response:
    data = await file.read()
    try:
        out = service.identify(
            session, actor=actor, registry=request.app.state.reference, data=data,
            filename=file.filename or "upload", library=library or None,
            technique=Technique(technique) if technique in TECHNIQUES[1:] else None,
            case_reference=case_reference)
    except (InvalidData, NotFound) as exc:
        # Nothing was stored; show the form again with the reason next to it.
        session.rollback()
        problem = exc if isinstance(exc, InvalidData) else InvalidData(exc.detail)
        return _upload_page(request, session, actor, error=problem,
                            status=422 if isinstance(exc, InvalidData) else 404)
    return RedirectResponse(f"/spectra/identifications/{out.id}", status_code=303)


@router.get("/spectra/identifications/{identification_id}")
def result_page(identification_id: int, request: Request, session: ReadSession,
                actor: PageActor) -> Response:
    result = service.get_identification(session, actor=actor,
                                        identification_id=identification_id)
    return render(request, "spectra_result.html", actor, r=result)


@router.get("/spectra/libraries")
def libraries_page(request: Request, session: ReadSession, actor: PageActor,
                   name: str = "") -> Response:
    entries = service.library_entries(session, actor=actor, name=name) if name else None
    return render(request, "spectra_libraries.html", actor, current=name, entries=entries,
                  libraries=service.list_libraries(session, actor=actor))


@router.get("/spectra/static/spectra.js")
def script() -> FileResponse:
    return FileResponse(HERE / "static" / "spectra.js", media_type="text/javascript")
