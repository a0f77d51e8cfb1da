"""Web pages: search the intelligence file, entity pages with provenance, the link chart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from interdict.api.deps import ReadSession, WriteSession
from interdict.auth.roles import Permission
from interdict.errors import NotFound
from interdict.network import service
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, form_csrf, render

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
add_template_dir(HERE / "templates")
register_nav(NavItem("Network", "/network", Permission.network_read, order=30))


@router.get("/network")
def search_page(request: Request, session: ReadSession, actor: PageActor, q: str = "",
                schema: str = "") -> Response:
    found = service.search(session, actor=actor, q=q, schema=schema or None, limit=200)
    return render(request, "network_search.html", actor, q=q, schema=schema, found=found,
                  schemas=service.schemas_in_use(session, actor=actor))


@router.get("/network/entities/{entity_id}")
def entity_page(entity_id: int, request: Request, session: WriteSession, actor: PageActor,
                purpose: str = "") -> Response:
    # A write session: the consultation is audited in the same transaction.
    data = service.entity(session, actor=actor, entity_id=entity_id, purpose=purpose)
    return render(request, "network_entity.html", actor, e=data,
                  timeline=service.timeline(data),
                  canonical=service.canonical(session, actor=actor).get(entity_id))


@router.get("/network/chart")
def chart_page(request: Request, session: ReadSession, actor: PageActor,
               focus: int | None = None) -> Response:
    return render(request, "network_chart.html", actor, focus=focus,
                  schemas=service.schemas_in_use(session, actor=actor),
                  periods=service.periods(session, actor=actor))


@router.get("/network/chart/neighbours/{entity_id}")
def chart_neighbours(entity_id: int, session: WriteSession, actor: PageActor) -> dict[str, Any]:
    """JSON for the chart's expand-on-click (same session cookie as the page); audited."""
    result = service.neighbours(session, actor=actor, entity_id=entity_id)
    service.consulted(session, actor=actor, what=f"neighbours:{entity_id}",
                      nodes=len(result["nodes"]))
    return result


@router.get("/network/static/{name}.js")
def script(name: str) -> FileResponse:
    if name not in ("chart", "analysis"):
        raise NotFound(f"no script {name}.js")
    return FileResponse(HERE / "static" / f"{name}.js", media_type="text/javascript")


@router.get("/network/resolution")
def resolution_page(request: Request, session: ReadSession, actor: PageActor) -> Response:
    return render(request, "network_resolution.html", actor,
                  queue=service.pending(session, actor=actor),
                  can_write=actor.can(Permission.network_write))


@router.post("/network/resolution/run", dependencies=[Depends(form_csrf)])
def resolution_run(session: WriteSession, actor: PageActor) -> Response:
    service.run_resolution(session, actor=actor)
    return RedirectResponse("/network/resolution", status_code=303)


@router.post("/network/resolution/judge", dependencies=[Depends(form_csrf)])
def resolution_judge(session: WriteSession, actor: PageActor,
                     left_id: Annotated[int, Form()], right_id: Annotated[int, Form()],
                     decision: Annotated[str, Form()],
                     reason: Annotated[str, Form()] = "") -> Response:
    service.judge(session, actor=actor, left_id=left_id, right_id=right_id, decision=decision,
                  reason=reason)
    return RedirectResponse("/network/resolution", status_code=303)


@router.get("/network/analysis")
def analysis_page(request: Request, session: WriteSession, actor: PageActor, period: str = "",
                  weight_as: str = "strength", mode: str = "sequential",
                  direction: str = "auto") -> Response:
    directed = {"directed": True, "undirected": False}.get(direction)
    result = service.analyse(session, actor=actor, period=period or None, weight_as=weight_as,
                             directed=directed)
    curves = service.disruption(session, actor=actor, mode=mode,
                                block_size=3 if mode == "block" else 1,
                                period=period or None, directed=directed) \
        if result["nodes"] else []
    ranks = service.rank_changes(session, actor=actor, directed=directed) \
        if not period and result["nodes"] else None
    service.consulted(session, actor=actor, what="analysis", period=period or None,
                      nodes=result["nodes"])
    return render(request, "network_analysis.html", actor, a=result, curves=curves,
                  ranks=ranks, periods=service.periods(session, actor=actor), period=period,
                  weight_as=weight_as, mode=mode, direction=direction)


@router.get("/network/chart/metrics")
def chart_metrics(session: ReadSession, actor: PageActor, period: str = "") -> dict[str, Any]:
    """Centralities and communities keyed by entity id, for sizing and colouring the chart."""
    result = service.analyse(session, actor=actor, period=period or None)
    # The chart draws entities; the analysis merges judged duplicates under canonical ids.
    canonical = service.canonical(session, actor=actor)
    return {"metrics": result.get("metrics", {}), "key_players": result.get("key_players", []),
            "canonical": {str(k): v for k, v in canonical.items() if v != str(k)}}
