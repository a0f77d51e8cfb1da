"""Web pages of seizures: list and entry, seizure page, marks search, links, series, map and
dashboard. Every decision is the service's; these routes read forms and render."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth.roles import Permission
from interdict.errors import Conflict, FieldError, InvalidData, NotFound
from interdict.seizures import geo, marks, records, service
from interdict.tabular import FileRejected
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
add_template_dir(HERE / "templates")
register_nav(NavItem("Seizures", "/seizures", Permission.seizures_read, order=35))
LINE_SLOTS = 3


def _problems(exc: InvalidData) -> list[str]:
    if isinstance(exc, FileRejected):
        return [f"row {e.row}: {e.field}: {e.reason}" for e in exc.rows[:200]]
    return [f"{e.field}: {e.reason}" for e in exc.errors[:200]] or [exc.detail]


def _list(request: Request, session: Any, actor: Any, status: int = 200, **extra: Any
          ) -> Response:
    q = request.query_params
    items = service.search(session, actor=actor, q=q.get("q", ""),
                           substance=q.get("substance", ""), country=q.get("country", ""))
    return render(request, "seizures_list.html", actor, status=status, items=items,
                  q=q.get("q", ""), substance=q.get("substance", ""),
                  country=q.get("country", ""), **extra)


@router.get("/seizures")
def list_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return _list(request, session, actor)


@router.post("/seizures/import", dependencies=[Depends(form_csrf)])
async def import_page(request: Request, session: WriteSession, actor: PageActor,
                      file: Annotated[UploadFile, File()]) -> Response:
    try:
        receipt = service.import_file(session, actor=actor,
                                      registry=request.app.state.reference,
                                      data=await file.read(),
                                      filename=file.filename or "upload.csv")
    except InvalidData as exc:
        return _list(request, session, actor, status=422, error=exc.detail,
                     problems=_problems(exc))
    return _list(request, session, actor, receipt=receipt)


def _flat(values: dict[str, Any]) -> dict[str, str]:
    """A seizure's nested form as the page's fields (lists joined with "; ")."""
    out = {k: "; ".join(v) if isinstance(v, list) else ("" if v is None else str(v))
           for k, v in values.items() if k != "substances"}
    for i, line in enumerate(values["substances"]):
        out.update({f"line{i}_{k}": "" if v is None else str(v) for k, v in line.items()})
    return out


def _form_object(form: dict[str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {k: form.get(k, "") for k in records.SEIZURE_COLUMNS}
    for k in records.LIST_FIELDS:
        obj[k] = [v.strip() for v in form.get(k, "").replace("\n", ";").split(";")
                  if v.strip()]
    lines = []
    for i in range(_slots(form)):
        line = {k: form.get(f"line{i}_{k}", "") for k in records.LINE_COLUMNS}
        if i == 0 or any(v.strip() for v in line.values()):
            lines.append(line)
    obj["substances"] = lines
    return obj


@router.get("/seizures/new")
def new_page(request: Request, actor: PageActor) -> Response:
    actor.require(Permission.seizures_write)
    return render(request, "seizures_new.html", actor, form={}, options=_options())


def _slots(form: dict[str, str]) -> int:
    """Line rows on the form: three, or one more than the lines already given."""
    given = [int(k[4:].split("_")[0]) for k in form if k.startswith("line") and "_" in k
             and k[4:].split("_")[0].isdigit()]
    return max(LINE_SLOTS, max(given, default=-1) + 2)


def _options(form: dict[str, str] | None = None, *, action: str = "/seizures/new"
             ) -> dict[str, Any]:
    return {"forms": records.FORMS, "units": list(records.UNITS),
            "modes": records.TRANSPORT_MODES, "handling": records.HANDLING,
            "slots": range(_slots(form or {})), "action": action,
            "editing": action != "/seizures/new"}


@router.post("/seizures/new", dependencies=[Depends(form_csrf)])
async def create_page(request: Request, session: WriteSession, actor: PageActor) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        made = service.create(session, actor=actor, registry=request.app.state.reference,
                              data=_form_object(form))
    except (InvalidData, Conflict) as exc:
        problems = _problems(exc) if isinstance(exc, InvalidData) else [exc.detail]
        return render(request, "seizures_new.html", actor, status=422, form=form,
                      options=_options(form), error="The seizure was not recorded.",
                      problems=problems)
    return RedirectResponse(f"/seizures/{made['id']}", status_code=303)


@router.get("/seizures/{seizure_id}/edit")
def edit_page(request: Request, session: ReadSession, actor: PageActor, seizure_id: int
              ) -> Response:
    form = _flat(service.form_values(session, actor=actor, seizure_id=seizure_id))
    return render(request, "seizures_new.html", actor, form=form,
                  options=_options(form, action=f"/seizures/{seizure_id}/edit"))


@router.post("/seizures/{seizure_id}/edit", dependencies=[Depends(form_csrf)])
async def amend_page(request: Request, session: WriteSession, actor: PageActor,
                     seizure_id: int) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        service.amend(session, actor=actor, registry=request.app.state.reference,
                      seizure_id=seizure_id, data=_form_object(form))
    except InvalidData as exc:
        return render(request, "seizures_new.html", actor, status=422, form=form,
                      options=_options(form, action=f"/seizures/{seizure_id}/edit"),
                      error="The correction was not saved.", problems=_problems(exc))
    return RedirectResponse(f"/seizures/{seizure_id}", status_code=303)


@router.get("/seizures/map")
def map_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    data = service.map_data(session, actor=actor, centroids=geo.country_centroids())
    return render(request, "seizures_map.html", actor, data=data)


@router.get("/seizures/dashboard")
def dashboard_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return render(request, "seizures_dashboard.html", actor,
                  data=service.dashboard(session, actor=actor))


@router.get("/seizures/links")
def links_page(request: Request, session: ReadSession, actor: PageActor,
               status: str = "candidate", decided: int | None = None) -> Response:
    status = status if status in ("candidate", "confirmed", "rejected", "all") else "candidate"
    done = next((ln for ln in service.list_links(session, actor=actor)
                 if ln["id"] == decided), None) if decided else None
    return render(request, "seizures_links.html", actor, status=200, shown=status, done=done,
                  links=service.list_links(session, actor=actor,
                                           status=None if status == "all" else status),
                  threshold=service.chemistry_threshold(session, actor=actor))


@router.post("/seizures/links/find", dependencies=[Depends(form_csrf)])
def find_links_page(session: WriteSession, actor: PageActor) -> Response:
    service.find_links(session, actor=actor)
    return RedirectResponse("/seizures/links", status_code=303)


@router.post("/seizures/links/{link_id}/decision", dependencies=[Depends(form_csrf)])
def decide_page(request: Request, session: WriteSession, actor: PageActor, link_id: int,
                decision: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                back: Annotated[str, Form()] = "") -> Response:
    service.decide_link(session, actor=actor, registry=request.app.state.reference,
                        link_id=link_id, decision=decision, note=note)
    target = back if back.startswith("/seizures/") else "/seizures/links"
    return RedirectResponse(f"{target}?decided={link_id}", status_code=303)


def _marks_page(request: Request, actor: Any, status: int = 200, **extra: Any) -> Response:
    return render(request, "seizures_marks.html", actor, status=status,
                  kinds=service.MARK_KINDS, **extra)


@router.get("/seizures/marks")
def marks_page(request: Request, actor: PageActor) -> Response:
    actor.require(Permission.seizures_read)
    return _marks_page(request, actor, filters={})


@router.post("/seizures/marks", dependencies=[Depends(form_csrf)])
async def marks_search_page(request: Request, session: WriteSession, actor: PageActor,
                            image: Annotated[UploadFile, File()],
                            kind: Annotated[str, Form()] = "",
                            shape: Annotated[str, Form()] = "",
                            colour: Annotated[str, Form()] = "",
                            text: Annotated[str, Form()] = "") -> Response:
    data = await image.read()
    filters = {"kind": kind, "shape": shape, "colour": colour, "text": text}
    try:
        result = service.search_marks(session, actor=actor, data=data,
                                      filters=service.MarkFilters(
                                          kind=kind, shape=shape, colour=colour, text=text),
                                      top=12)
        query = "data:image/jpeg;base64," + base64.b64encode(marks.thumbnail(data)).decode()
    except InvalidData as exc:
        return _marks_page(request, actor, status=422, error=exc.detail,
                           problems=_problems(exc), filters=filters)
    return _marks_page(request, actor, result=result, query_src=query, filters=filters,
                       query_name=image.filename or "upload")


@router.get("/seizures/marks/{mark_id}")
def mark_similar_page(request: Request, session: WriteSession, actor: PageActor,
                      mark_id: int) -> Response:
    result = service.search_marks(session, actor=actor, mark_id=mark_id, top=12)
    return _marks_page(request, actor, result=result, filters={},
                       query_src=f"/api/v1/seizures/marks/{mark_id}/image?thumbnail=true",
                       query_name=f"mark {mark_id}", query_mark=mark_id)


@router.get("/seizures/{seizure_id}")
def seizure_page(request: Request, session: WriteSession, actor: PageActor, seizure_id: int
                 ) -> Response:
    return render(request, "seizures_seizure.html", actor,
                  s=service.detail(session, actor=actor, seizure_id=seizure_id),
                  kinds=service.MARK_KINDS)


def _seizure_error(request: Request, session: Any, actor: Any, seizure_id: int,
                   exc: InvalidData, where: str) -> Response:
    return render(request, "seizures_seizure.html", actor, status=422,
                  s=service.detail(session, actor=actor, seizure_id=seizure_id),
                  kinds=service.MARK_KINDS, error_where=where, error=exc.detail,
                  problems=_problems(exc))


def _number(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return float("nan")


@router.post("/seizures/{seizure_id}/marks", dependencies=[Depends(form_csrf)])
async def add_mark_page(request: Request, session: WriteSession, actor: PageActor,
                        seizure_id: int, image: Annotated[UploadFile, File()],
                        kind: Annotated[str, Form()] = "stamp",
                        text: Annotated[str, Form()] = "", shape: Annotated[str, Form()] = "",
                        colour: Annotated[str, Form()] = "",
                        width_mm: Annotated[str, Form()] = "",
                        height_mm: Annotated[str, Form()] = "",
                        weight_g: Annotated[str, Form()] = "") -> Response:
    try:
        sizes = {k: _number(v) for k, v in (("width_mm", width_mm), ("height_mm", height_mm),
                                            ("weight_g", weight_g))}
        bad = [k for k, v in sizes.items() if v is not None and v != v]
        if bad:
            raise InvalidData("mark attributes are not valid", errors=[
                FieldError(k, "not a number") for k in bad])
        service.add_mark(session, actor=actor, seizure_id=seizure_id,
                         data=await image.read(), filename=image.filename or "",
                         attributes=service.MarkAttributes(kind=kind, text=text, shape=shape,
                                                           colour=colour, **sizes))
    except InvalidData as exc:
        return _seizure_error(request, session, actor, seizure_id, exc, "mark")
    return RedirectResponse(f"/seizures/{seizure_id}#marks", status_code=303)


@router.post("/seizures/{seizure_id}/profiles", dependencies=[Depends(form_csrf)])
def add_profile_page(request: Request, session: WriteSession, actor: PageActor,
                     seizure_id: int, report: Annotated[str, Form()]) -> Response:
    try:
        try:
            obj = json.loads(report)
        except json.JSONDecodeError as exc:
            raise InvalidData("the lab report is not JSON", errors=[
                FieldError("report", f"line {exc.lineno}: {exc.msg}")]) from None
        service.add_profile(session, actor=actor, seizure_id=seizure_id, report=obj)
    except InvalidData as exc:
        return _seizure_error(request, session, actor, seizure_id, exc, "profile")
    return RedirectResponse(f"/seizures/{seizure_id}#profiles", status_code=303)


@router.post("/seizures/{seizure_id}/share", dependencies=[Depends(form_csrf)])
def share_page(request: Request, session: WriteSession, actor: PageActor, seizure_id: int,
               agency: Annotated[str, Form()], justification: Annotated[str, Form()] = ""
               ) -> Response:
    try:
        service.share(session, actor=actor, seizure_id=seizure_id, agency=agency,
                      justification=justification)
    except (InvalidData, NotFound) as exc:
        problems = _problems(exc) if isinstance(exc, InvalidData) else [exc.detail]
        return render(request, "seizures_seizure.html", actor, status=422,
                      s=service.detail(session, actor=actor, seizure_id=seizure_id),
                      kinds=service.MARK_KINDS, error_where="share",
                      error="The seizure was not shared.", problems=problems)
    return RedirectResponse(f"/seizures/{seizure_id}#sharing", status_code=303)


@router.get("/seizures/{seizure_id}/series")
def series_page(request: Request, session: ReadSession, actor: PageActor,
                seizure_id: int) -> Response:
    return render(request, "seizures_series.html", actor,
                  data=service.series(session, actor=actor, seizure_id=seizure_id))


@router.get("/seizures/static/seizures.js")
def script() -> FileResponse:
    return FileResponse(HERE / "static" / "seizures.js", media_type="text/javascript")
