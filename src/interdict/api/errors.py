"""The single mapping from errors to HTTP responses."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from interdict.errors import FieldError, InterdictError, TooManyRequests

log = structlog.get_logger(__name__)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def error_response(exc: InterdictError) -> JSONResponse:
    headers = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)


async def interdict_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InterdictError)
    # Browser pages get an HTML page or a redirect to the login form instead of JSON.
    html_error = getattr(request.app.state, "html_error", None)
    if html_error is not None:
        page = html_error(request, exc)
        if page is not None:
            return page  # type: ignore[no-any-return]
    return error_response(exc)


async def validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[FieldError] = []
    status = 422
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            status = 400
            ctx = err.get("ctx") or {}
            errors.append(FieldError("body", f"not valid JSON: {ctx.get('error', 'parse error')}"
                                     f" at position {err['loc'][-1]}"))
        elif err.get("type") == "extra_forbidden":
            errors.append(FieldError(_loc(err["loc"]), "unknown field"))
        else:
            errors.append(FieldError(_loc(err["loc"]), str(err.get("msg", "invalid"))))
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    body = {"code": "bad_request" if status == 400 else "invalid_data", "detail": detail,
            "errors": [e.as_dict() for e in errors]}
    return JSONResponse({"error": body}, status_code=status)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
    body = {"code": codes.get(exc.status_code, "http_error"), "detail": str(exc.detail)}
    return JSONResponse({"error": body}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def unexpected_error(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", error=str(exc))
    body = {"code": "internal_error", "detail": "internal error; the event was logged"}
    return JSONResponse({"error": body}, status_code=500)


HANDLERS: dict[Any, Any] = {
    InterdictError: interdict_error,
    RequestValidationError: validation_error,
    StarletteHTTPException: http_error,
    Exception: unexpected_error,
}
