"""Shapes shared by every route: the error body and the page of results."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class FieldErrorBody(BaseModel):
    field: str = Field(examples=["body.severity"])
    reason: str = Field(examples=["Input should be 'low', 'medium', 'high' or 'critical'"])


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_data"])
    detail: str = Field(examples=["body.severity: Input should be 'low', 'medium', 'high'"])
    errors: list[FieldErrorBody] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer has this body."""

    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed request"},
    401: {"model": ErrorResponse, "description": "Not authenticated"},
    403: {"model": ErrorResponse, "description": "Role does not allow this"},
    404: {"model": ErrorResponse, "description": "Not found (or not visible to your agency)"},
    409: {"model": ErrorResponse, "description": "Conflicts with the record's state"},
    413: {"model": ErrorResponse, "description": "Request body too large"},
    422: {"model": ErrorResponse, "description": "Invalid input; each field is named"},
    429: {"model": ErrorResponse, "description": "Too many attempts"},
}
