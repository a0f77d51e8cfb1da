"""One error tree for the whole platform.

Services raise these; the API maps them to HTTP status codes and the CLI to exit codes, each in
exactly one place (``api/errors.py`` and ``cli/main.py``). Services never import FastAPI or click.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field: which field and why."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class InterdictError(Exception):
    """Base of every error the platform raises on purpose."""

    status: int = 500
    exit_code: int = 1
    code: str = "error"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "detail": self.detail}
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class InvalidData(InterdictError):
    """Input failed validation; ``errors`` names each field and the reason."""

    status, exit_code, code = 422, 2, "invalid_data"


class BadRequest(InterdictError):
    status, exit_code, code = 400, 2, "bad_request"


class PayloadTooLarge(InterdictError):
    status, exit_code, code = 413, 2, "payload_too_large"


class NotAuthenticated(InterdictError):
    status, exit_code, code = 401, 4, "not_authenticated"


class Forbidden(InterdictError):
    status, exit_code, code = 403, 4, "forbidden"


class NotFound(InterdictError):
    """Also raised for records of other agencies, so that their existence does not leak."""

    status, exit_code, code = 404, 3, "not_found"


class Conflict(InterdictError):
    status, exit_code, code = 409, 5, "conflict"


class TooManyRequests(InterdictError):
    status, exit_code, code = 429, 6, "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ConfigurationError(InterdictError):
    status, exit_code, code = 500, 78, "configuration_error"


class IntegrityFailure(InterdictError):
    """A check of stored data (such as the audit chain) found tampering or corruption."""

    status, exit_code, code = 500, 10, "integrity_failure"
