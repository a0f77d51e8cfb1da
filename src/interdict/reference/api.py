"""HTTP routes listing reference files with their versions and checksums."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from interdict.api.common import ERRORS
from interdict.api.deps import ActorDep
from interdict.reference.registry import Registry

router = APIRouter(prefix="/api/v1/reference", tags=["reference"], responses=ERRORS)


@router.get("", summary="Reference files in force, with version and checksum")
def list_reference(request: Request, actor: ActorDep) -> list[dict[str, Any]]:
    registry: Registry = request.app.state.reference
    return [registry.get(n).summary() for n in registry.names()]


@router.get("/{name:path}", summary="One reference file's content")
def get_reference(name: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    registry: Registry = request.app.state.reference
    ref = registry.get(name)
    return {**ref.summary(), "content": ref.content.model_dump(mode="json")}
