"""Web pages of the precursor register: registry, operator page, upload, notifications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth.roles import Permission
from interdict.errors import Conflict, Forbidden, InvalidData
from interdict.precursors import authorisations, service
from interdict.precursors.authorisations import NotificationAnswer
from interdict.tabular import FileRejected
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
add_template_dir(HERE / "templates")
register_nav(NavItem("Precursors", "/precursors", Permission.precursors_read, order=40))
register_nav(NavItem("Submit records", "/precursors/upload", Permission.precursors_submit,
                     order=41))


@router.get("/precursors")
def registry_page(request: Request, session: ReadSession, actor: PageActor, q: str = ""
                  ) -> Response:
    found = service.search_operators(session, actor=actor, q=q, limit=500)
    return render(request, "precursors_registry.html", actor, q=q, found=found,
                  counts=service.counts(session, actor=actor),
                  recent=service.findings(session, actor=actor, limit=15)
                  if actor.can(Permission.alerts_read) else [])


@router.get("/precursors/operators/{licence}")
def operator_page(licence: str, request: Request, session: ReadSession, actor: PageActor,
                  period: str = "") -> Response:
    overview = service.operator_overview(session, actor=actor, licence=licence)
    rows = [service.describe_transaction(t) for t in
            service.transactions(session, actor=actor, licence=licence, limit=200)]
    returns = service.operator_return(session, actor=actor, licence=licence, period=period) \
        if period else []
    return render(request, "precursors_operator.html", actor, op=overview, rows=rows,
                  period=period, returns=returns)


@router.get("/precursors/upload")
def upload_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    actor.require(Permission.precursors_submit)
    return render(request, "precursors_upload.html", actor,
                  own=service.own_operator(session, actor),
                  receipts=service.batches(session, actor=actor, limit=20))


@router.post("/precursors/upload", dependencies=[Depends(form_csrf)])
async def upload(request: Request, session: WriteSession, actor: PageActor,
                 file: Annotated[UploadFile, File()],
                 partial: Annotated[bool, Form()] = False) -> Response:
    data = await file.read()
    own = service.own_operator(session, actor)
    try:
        result = service.import_transactions(
            session, actor=actor, registry=request.app.state.reference, data=data,
            filename=file.filename or "upload.csv", partial=partial)
    except FileRejected as exc:
        return render(request, "precursors_upload.html", actor, status=422, own=own,
                      receipts=service.batches(session, actor=actor, limit=20),
                      error=exc.detail, rows=exc.rows[:500], more=max(0, len(exc.rows) - 500))
    except InvalidData as exc:
        return render(request, "precursors_upload.html", actor, status=422, own=own,
                      receipts=service.batches(session, actor=actor, limit=20),
                      error=exc.detail, rows=[], file_errors=exc.errors, more=0)
    return render(request, "precursors_upload.html", actor, own=own, result=result,
                  receipts=service.batches(session, actor=actor, limit=20))


@router.get("/precursors/notifications")
def notifications_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return render(request, "precursors_notifications.html", actor,
                  box=authorisations.inbox(session, actor=actor))


@router.post("/precursors/notifications/{auth_id}/send", dependencies=[Depends(form_csrf)])
def send(auth_id: int, request: Request, session: WriteSession, actor: PageActor) -> Response:
    try:
        authorisations.send(session, actor=actor, registry=request.app.state.reference,
                            auth_id=auth_id)
    except (Conflict, Forbidden) as exc:
        return render(request, "precursors_notifications.html", actor, status=exc.status,
                      box=authorisations.inbox(session, actor=actor), error=exc.detail)
    return RedirectResponse("/precursors/notifications", status_code=303)


@router.post("/precursors/notifications/{auth_id}/answer", dependencies=[Depends(form_csrf)])
def answer(auth_id: int, request: Request, session: WriteSession, actor: PageActor,
           decision: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> Response:
    try:
        authorisations.answer(session, actor=actor, auth_id=auth_id,
                              data=NotificationAnswer.model_validate(
                                  {"decision": decision, "note": note}))
    except (Conflict, Forbidden) as exc:
        return render(request, "precursors_notifications.html", actor, status=exc.status,
                      box=authorisations.inbox(session, actor=actor), error=exc.detail)
    return RedirectResponse("/precursors/notifications", status_code=303)


@router.get("/precursors/static/precursors.js")
def script() -> FileResponse:
    return FileResponse(HERE / "static" / "precursors.js", media_type="text/javascript")
