"""Pydantic specs for reference files.

Every file has a ``meta`` block; its ``kind`` selects the spec for the rest. Domains register
the spec of their own kinds (``register_kind``) so the platform never imports a domain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Meta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    kind: str
    title: str
    version: str
    source: str = Field(description="Where the content comes from (URL or legal reference).")
    retrieved: dt.date
    licence: str


class CodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    label: str
    description: str
    #: Whether an item with this code may be passed on without the originator's permission.
    #: For grading schemes: which scale the code belongs to (source, information, handling).
    axis: str | None = None
    onward_sharing: bool | None = None
    court_use: bool | None = None


class CodeList(BaseModel):
    """A closed list of codes, e.g. handling codes or grading scales."""

    model_config = ConfigDict(extra="forbid")

    meta: Meta
    scheme: str
    entries: list[CodeEntry] = Field(min_length=1)


KINDS: dict[str, type[BaseModel]] = {"code_list": CodeList}


def register_kind(kind: str, spec: type[BaseModel]) -> None:
    if kind in KINDS and KINDS[kind] is not spec:
        raise ValueError(f"reference kind {kind!r} is already registered")
    KINDS[kind] = spec


def spec_for(kind: str) -> type[BaseModel] | None:
    return KINDS.get(kind)


def describe(spec: type[BaseModel]) -> dict[str, Any]:
    return spec.model_json_schema()
