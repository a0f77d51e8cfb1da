"""Web pages: search a substance and read its verdict; browse the lists."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from interdict.errors import FieldError, InvalidData
from interdict.substances import service
from interdict.substances.depict import svg
from interdict.substances.schemas import CheckQuery
from interdict.web.nav import NavItem, register_nav
from interdict.web.routes import PageActor, add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")
register_nav(NavItem("Substances", "/substances", None, order=20))

CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")
INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$", re.IGNORECASE)
SMILESISH = re.compile(r"^[A-Za-z0-9@+\-\[\]\(\)=#$/\\%.:*]+$")
KINDS = ["auto", "name", "cas", "smiles", "inchikey"]


def guess_kind(text: str) -> str:
    """What an analyst typed: a CAS number, an InChIKey, a SMILES string or a name."""
    if CAS.match(text):
        return "cas"
    if INCHIKEY.match(text):
        return "inchikey"
    if SMILESISH.match(text) and any(c in text for c in "()=#[]@123456789") \
            or text in {"C", "N", "O", "CC", "CO"}:
        return "smiles"
    return "name"


@router.get("/substances")
def search(request: Request, actor: PageActor, q: str = "", kind: str = "auto") -> Response:
    verdict = error = None
    depiction = ""
    q = q.strip()[:5000]
    used_kind = kind if kind in KINDS else "auto"
    if q:
        if used_kind == "auto":
            used_kind = guess_kind(q)
        try:
            verdict = service.check(index=service.get_index(request.app.state.reference),
                                    query=CheckQuery.model_validate({used_kind: q}))
        except InvalidData as exc:
            error = exc
        except ValidationError as exc:
            error = InvalidData("the query is not valid", errors=[
                FieldError(str(e["loc"][0]) if e["loc"] else "q", e["msg"]) for e in exc.errors()])
        if verdict is not None and verdict.parent_smiles:
            atoms = sorted({a for m in verdict.matches for a in m.highlight_atoms})
            depiction = svg(verdict.parent_smiles, atoms)
    return render(request, "substances_search.html", actor, q=q, kind=kind, kinds=KINDS,
                  used_kind=used_kind, verdict=verdict, error=error, depiction=depiction,
                  similar_svgs={s.substance: svg(s.smiles, width=180, height=130)
                                for s in (verdict.similar if verdict else [])})


@router.get("/substances/lists")
def lists(request: Request, actor: PageActor) -> Response:
    index = service.get_index(request.app.state.reference)
    return render(request, "substances_lists.html", actor,
                  lists=service.list_summaries(index=index), entries=None, current=None)


@router.get("/substances/lists/{list_name:path}")
def list_page(list_name: str, request: Request, actor: PageActor) -> Response:
    index = service.get_index(request.app.state.reference)
    return render(request, "substances_lists.html", actor,
                  lists=service.list_summaries(index=index),
                  entries=service.list_entries(index=index, list_name=list_name),
                  current=list_name)
