"""Web pages of risk-based targeting: live queue, consignment, rule editor, model and drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth.roles import Permission
from interdict.errors import Conflict, InvalidData
from interdict.targeting import management, service
from interdict.targeting.schemas import InspectionIn
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
add_template_dir(HERE / "templates")
register_nav(NavItem("Targeting", "/targeting", Permission.targeting_read, order=30))


@router.get("/targeting")
def queue_page(request: Request, session: ReadSession, actor: PageActor, lane: str = ""
               ) -> Response:
    items = service.queue(session, actor=actor, limit=200, lane=lane or None)
    return render(request, "targeting_queue.html", actor, items=list(reversed(items)),
                  lane=lane, last=max((i["id"] for i in items), default=0),
                  today=service.today(session, actor=actor))


@router.get("/targeting/consignments/{consignment_id}")
def consignment_page(consignment_id: int, request: Request, session: ReadSession,
                     actor: PageActor) -> Response:
    item = service.detail(session, actor=actor, consignment_id=consignment_id)
    return render(request, "targeting_consignment.html", actor, c=item)


@router.post("/targeting/consignments/{consignment_id}/inspection",
             dependencies=[Depends(form_csrf)])
def inspection(consignment_id: int, request: Request, session: WriteSession, actor: PageActor,
               result: Annotated[str, Form()], substance: Annotated[str, Form()] = "",
               quantity_kg: Annotated[str, Form()] = "", notes: Annotated[str, Form()] = "",
               critical: Annotated[bool, Form()] = False) -> Response:
    form: dict[str, Any] = {"result": result, "substance": substance, "notes": notes,
                            "critical": critical,
                            "quantity_kg": quantity_kg.strip() or None}
    try:
        data = InspectionIn.model_validate(form)
        service.record_inspection(session, actor=actor, consignment_id=consignment_id,
                                  data=data)
    except ValidationError as exc:
        item = service.detail(session, actor=actor, consignment_id=consignment_id)
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: "
                    f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        return render(request, "targeting_consignment.html", actor, status=422, c=item,
                      error="; ".join(problems), form=form)
    except Conflict as exc:
        item = service.detail(session, actor=actor, consignment_id=consignment_id)
        return render(request, "targeting_consignment.html", actor, status=409, c=item,
                      error=exc.detail, form=form)
    return RedirectResponse(f"/targeting/consignments/{consignment_id}", status_code=303)


@router.get("/targeting/rules")
def rules_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    current = management.active_rules(session, actor=actor, registry=request.app.state.reference)
    return render(request, "targeting_rules.html", actor, current=current,
                  text=current["text"], versions=management.rule_sets(session, actor=actor))


@router.post("/targeting/rules", dependencies=[Depends(form_csrf)])
def save_rules(request: Request, session: WriteSession, actor: PageActor,
               text: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> Response:
    try:
        management.save_rules(session, actor=actor, text=text, note=note)
    except InvalidData as exc:
        current = management.active_rules(session, actor=actor,
                                          registry=request.app.state.reference)
        return render(request, "targeting_rules.html", actor, status=422, current=current,
                      text=text, note=note, error=exc.detail, errors=exc.errors,
                      versions=management.rule_sets(session, actor=actor))
    return RedirectResponse("/targeting/rules", status_code=303)


@router.get("/targeting/model")
def model_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return render(request, "targeting_model.html", actor,
                  models=management.models(session, actor=actor),
                  drift=management.drift(session, actor=actor,
                                         registry=request.app.state.reference))


@router.post("/targeting/model/train", dependencies=[Depends(form_csrf)])
def train(request: Request, session: WriteSession, actor: PageActor,
          label: Annotated[str, Form()] = "fraud") -> Response:
    try:
        management.train(session, actor=actor, registry=request.app.state.reference,
                         label="critical" if label == "critical" else "fraud")
    except InvalidData as exc:
        return render(request, "targeting_model.html", actor, status=422, error=exc.detail,
                      models=management.models(session, actor=actor),
                      drift=management.drift(session, actor=actor,
                                             registry=request.app.state.reference))
    return RedirectResponse("/targeting/model", status_code=303)


@router.post("/targeting/model/{version}/activate", dependencies=[Depends(form_csrf)])
def activate(version: int, session: WriteSession, actor: PageActor) -> Response:
    management.activate_model(session, actor=actor, version=version)
    return RedirectResponse("/targeting/model", status_code=303)


@router.get("/targeting/static/targeting.js")
def script() -> FileResponse:
    return FileResponse(HERE / "static" / "targeting.js", media_type="text/javascript")
