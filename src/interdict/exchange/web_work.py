"""Web pages of the exchange's joint work: incident feed and subscriptions, operation rooms,
hit/no-hit queries with follow-ups, and the supervisor's "who saw what and why" page.
Every decision is the service's; these routes read forms and render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth.actor import Actor
from interdict.errors import InvalidData, NotFound, TooManyRequests
from interdict.exchange import incidents, service
from interdict.tabular import FileRejected
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")


def _problems(exc: InvalidData) -> list[str]:
    if isinstance(exc, FileRejected):
        return [f"row {e.row}: {e.field}: {e.reason}" for e in exc.rows[:200]]
    return [f"{e.field}: {e.reason}" for e in exc.errors[:200]] or [exc.detail]


def _incidents(request: Request, session: Any, actor: Actor, status: int = 200,
               **extra: Any) -> Response:
    return render(request, "exchange_incidents.html", actor, status=status,
                  feed=service.incident_feed(session, actor=actor),
                  subs=service.subscriptions(session, actor=actor),
                  topics=incidents.TOPICS, fields=incidents.FIELDS, **extra)


@router.get("/exchange/incidents")
def incidents_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _incidents(request, session, actor, form={})


@router.post("/exchange/incidents", dependencies=[Depends(form_csrf)])
async def report_page(request: Request, session: WriteSession, actor: PageActor) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    kind = form.get("kind", "")
    data: dict[str, Any] = {k: v for k, v in form.items()
                            if v.strip() and (k in ("kind", "substance", "country",
                                                    "occurred_on", "topic", "handling")
                                              or k in incidents.FIELDS.get(kind, ()))}
    try:
        made = service.report_incident(session, actor=actor,
                                       registry=request.app.state.reference, data=data)
    except InvalidData as exc:
        return _incidents(request, session, actor, status=422, form=form,
                          error="The incident was not reported.", problems=_problems(exc))
    return _incidents(request, session, actor, form={}, reported=made)


@router.post("/exchange/subscriptions", dependencies=[Depends(form_csrf)])
def subscribe_page(request: Request, session: WriteSession, actor: PageActor,
                   topic: Annotated[str, Form()], country: Annotated[str, Form()] = "*",
                   remove: Annotated[str, Form()] = "") -> Response:
    try:
        if remove:
            service.unsubscribe(session, actor=actor, topic=topic, country=country)
        else:
            service.subscribe(session, actor=actor, topic=topic, country=country or "*")
    except InvalidData as exc:
        return _incidents(request, session, actor, status=422, form={},
                          error="The subscription was not changed.", problems=_problems(exc))
    return RedirectResponse("/exchange/incidents#subscriptions", status_code=303)


@router.get("/exchange/rooms")
def rooms_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return render(request, "exchange_rooms.html", actor,
                  rooms=service.rooms(session, actor=actor))


@router.post("/exchange/rooms", dependencies=[Depends(form_csrf)])
def create_room_page(request: Request, session: WriteSession, actor: PageActor,
                     name: Annotated[str, Form()], members: Annotated[str, Form()],
                     case_reference: Annotated[str, Form()] = "") -> Response:
    try:
        room = service.create_room(session, actor=actor, name=name,
                                   case_reference=case_reference,
                                   members=[m for m in members.replace(";", ",").split(",")])
    except (InvalidData, NotFound) as exc:
        problems = _problems(exc) if isinstance(exc, InvalidData) else [exc.detail]
        return render(request, "exchange_rooms.html", actor, status=422,
                      rooms=service.rooms(session, actor=actor),
                      error="The room was not opened.", problems=problems)
    return RedirectResponse(f"/exchange/rooms/{room['id']}", status_code=303)


@router.get("/exchange/rooms/{room_id}")
def room_page(request: Request, session: ReadSession, actor: PageActor, room_id: int
              ) -> Response:
    return render(request, "exchange_room.html", actor,
                  room=service.room(session, actor=actor, room_id=room_id))


@router.post("/exchange/rooms/{room_id}/entries", dependencies=[Depends(form_csrf)])
def add_entry_page(request: Request, session: WriteSession, actor: PageActor, room_id: int,
                   kind: Annotated[str, Form()], text: Annotated[str, Form()] = "",
                   item_title: Annotated[str, Form()] = "",
                   item_type: Annotated[str, Form()] = "note",
                   item_ref: Annotated[str, Form()] = "",
                   handling: Annotated[str, Form()] = "H0") -> Response:
    attachment: dict[str, Any] | None = None
    if kind != "log":
        attachment = {"resource_type": item_type, "handling": handling}
        if item_type == "note":
            attachment.update(title=item_title or "Item", text=text)
        else:
            attachment["resource_id"] = item_ref
    try:
        service.add_room_entry(session, actor=actor, registry=request.app.state.reference,
                               secret=request.app.state.settings.secret_key,
                               room_id=room_id, kind=kind, text=text, attachment=attachment,
                               handling=handling)
    except InvalidData as exc:
        return render(request, "exchange_room.html", actor, status=422,
                      room=service.room(session, actor=actor, room_id=room_id),
                      error="The entry was not added.", problems=_problems(exc))
    return RedirectResponse(f"/exchange/rooms/{room_id}", status_code=303)


@router.post("/exchange/rooms/{room_id}/members", dependencies=[Depends(form_csrf)])
def add_member_page(request: Request, session: WriteSession, actor: PageActor, room_id: int,
                    agency: Annotated[str, Form()]) -> Response:
    try:
        service.add_room_member(session, actor=actor, room_id=room_id, agency=agency)
    except NotFound as exc:
        return render(request, "exchange_room.html", actor, status=422,
                      room=service.room(session, actor=actor, room_id=room_id),
                      error="The member was not added.", problems=[exc.detail])
    return RedirectResponse(f"/exchange/rooms/{room_id}", status_code=303)


def _hits(request: Request, session: Any, actor: Actor, status: int = 200, **extra: Any
          ) -> Response:
    return render(request, "exchange_hits.html", actor, status=status,
                  data=service.hits_for(session, actor=actor),
                  holdings=service.holdings_summary(session, actor=actor), **extra)


@router.get("/exchange/hits")
def hits_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _hits(request, session, actor)


@router.post("/exchange/hits/query", dependencies=[Depends(form_csrf)])
async def hit_query_page(request: Request, session: WriteSession, actor: PageActor,
                         file: Annotated[UploadFile, File()],
                         justification: Annotated[str, Form()] = "") -> Response:
    try:
        result = service.hit_query(session, actor=actor,
                                   secret=request.app.state.settings.secret_key,
                                   data=await file.read(), filename=file.filename or "q.csv",
                                   justification=justification)
    except (InvalidData, TooManyRequests) as exc:
        problems = _problems(exc) if isinstance(exc, InvalidData) else [exc.detail]
        return _hits(request, session, actor, status=422,
                     error="The query was not run.", problems=problems)
    return _hits(request, session, actor, result=result)


@router.post("/exchange/hits/holdings", dependencies=[Depends(form_csrf)])
async def holdings_page(request: Request, session: WriteSession, actor: PageActor,
                        file: Annotated[UploadFile, File()]) -> Response:
    try:
        published = service.register_holdings(
            session, actor=actor, secret=request.app.state.settings.secret_key,
            data=await file.read(), filename=file.filename or "holdings.csv")
    except InvalidData as exc:
        return _hits(request, session, actor, status=422,
                     error="The holdings were not published.", problems=_problems(exc))
    return _hits(request, session, actor, published=published)


@router.post("/exchange/hits/{hit_id}/follow-up", dependencies=[Depends(form_csrf)])
def follow_up_page(request: Request, session: WriteSession, actor: PageActor, hit_id: int,
                   reason: Annotated[str, Form()] = "",
                   decision: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""
                   ) -> Response:
    try:
        if decision:
            service.decide_follow_up(session, actor=actor, hit_id=hit_id,
                                     approve=decision == "approve", note=note)
        else:
            service.request_follow_up(session, actor=actor, hit_id=hit_id, reason=reason)
    except InvalidData as exc:
        return _hits(request, session, actor, status=422,
                     error="The follow-up was not recorded.", problems=_problems(exc))
    return RedirectResponse("/exchange/hits", status_code=303)


@router.get("/exchange/audit")
def audit_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return render(request, "exchange_audit.html", actor,
                  events=service.audit_events(session, actor=actor))
