"""Errors as JSON: the same stable codes as the command line, with a fitting 4xx status.

Every refusal the service gives has the body ``{"code", "message", "errors": [...]}`` where
each error is :meth:`ErrorDetail.to_dict` (code, message, source, line, column, field,
expected, value). A :class:`DoseflowError` raised by an engine or the store therefore reads
the same over HTTP as on the terminal; request-shape problems FastAPI finds itself become
``SERVICE_BAD_REQUEST`` in the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from doseflow.data.fields import expected_text
from doseflow.domain.errors import DoseflowError, ErrorDetail, ErrorLocation
from doseflow.domain.limits import MAX_REPORTED_ERRORS
from doseflow.service.text_checks import printable


class ErrorItem(BaseModel):
    """One problem, exactly as ``ErrorDetail.to_dict`` gives it."""

    code: str
    message: str
    source: str | None = None
    line: int | None = None
    column: int | str | None = None
    field: str | None = None
    expected: str | None = None
    value: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx answer: the first problem's code and message, then all of them."""

    code: str
    message: str
    errors: list[ErrorItem] = Field(
        description=f"the problems found, at most {MAX_REPORTED_ERRORS:,} (the first by line)"
    )
    more_errors: int = Field(0, description="problems found beyond those listed")


#: Codes whose status is not the default 422, by exact code.
STATUS_BY_CODE: dict[str, int] = {
    "SERVICE_UNAUTHENTICATED": 401,
    "SERVICE_FORBIDDEN": 403,
    "SERVICE_OUT_OF_SCOPE": 403,
    "SERVICE_NOT_FOUND": 404,
    "SERVICE_METHOD_NOT_ALLOWED": 405,
    "SERVICE_TOKEN_NOT_FOUND": 404,
    "SERVICE_JOB_NOT_FOUND": 404,
    "SERVICE_JOB_LIMIT_REACHED": 429,
    "SERVICE_JOB_QUEUE_FULL": 429,
    "SERVICE_BAD_REQUEST": 422,
    "SERVICE_CROSS_ORIGIN": 403,
    "SERVICE_RATE_LIMITED": 429,
    "SERVICE_REQUEST_TOO_LARGE": 413,
    "SERVICE_UNSUPPORTED_MEDIA_TYPE": 415,
    "REPORT_DHIS2_QUERY_INVALID": 409,  # as DHIS2 answers a query it refuses
}

#: Otherwise, by the code's ending: lookups that found nothing are 404, clashes with what is
#: stored are 409; everything else a user can fix is 422 (understood, but not acceptable).
STATUS_BY_SUFFIX: tuple[tuple[str, int], ...] = (
    ("_NOT_FOUND", 404),
    ("_CONFLICT", 409),
    ("_ALREADY_EXISTS", 409),
    ("_ALREADY_PUBLISHED", 409),
    ("_ALREADY_DECLINED", 409),
    ("_DUPLICATE", 409),
    ("_IDEMPOTENCY_MISMATCH", 409),
)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no valid token (SERVICE_UNAUTHENTICATED)"},
    403: {"model": ErrorBody, "description": "role or country not allowed"},
    429: {"model": ErrorBody, "description": "too many requests (SERVICE_RATE_LIMITED)"},
    404: {"model": ErrorBody, "description": "not found"},
    409: {"model": ErrorBody, "description": "clashes with what is stored"},
    422: {"model": ErrorBody, "description": "input understood but not acceptable"},
}


def status_for(code: str) -> int:
    """The HTTP status for an error code."""
    if code in STATUS_BY_CODE:
        return STATUS_BY_CODE[code]
    for suffix, status in STATUS_BY_SUFFIX:
        if code.endswith(suffix):
            return status
    return 422


def error_body(details: Sequence[ErrorDetail]) -> dict[str, Any]:
    """The body of a refusal; echoed text that is not valid Unicode is replaced."""
    first = details[0]
    shown = details[:MAX_REPORTED_ERRORS]
    return {
        "code": first.code,
        "message": printable(first.message),
        "errors": [{k: printable(v) for k, v in d.to_dict().items()} for d in shown],
        "more_errors": len(details) - len(shown),
    }


def error_response(
    details: Sequence[ErrorDetail], status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(details), status_code=status or status_for(details[0].code), headers=headers
    )


def service_error(
    code: str, message: str, *, field: str | None = None, value: Any = None
) -> DoseflowError:
    """A :class:`DoseflowError` raised by the service itself (auth, scope, routing)."""
    return DoseflowError(code, message, field=field, value=value)


def _validation_details(errors: Iterable[Any]) -> list[ErrorDetail]:
    details = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        where = loc[0] if loc else None
        field = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else None)
        value = err.get("input")
        details.append(
            ErrorDetail(
                code="SERVICE_BAD_REQUEST",
                message=str(err.get("msg", "invalid request")),
                location=ErrorLocation(source=f"request {where}" if where else None, field=field),
                expected=expected_text(err),
                value=None if isinstance(value, dict | list) else value,
            )
        )
    return details or [ErrorDetail("SERVICE_BAD_REQUEST", "invalid request")]


_HTTP_CODES = {
    401: ("SERVICE_UNAUTHENTICATED", "sign in with an API token (Authorization: Bearer ...)"),
    403: ("SERVICE_FORBIDDEN", "your role may not do this"),
    404: ("SERVICE_NOT_FOUND", "there is nothing at this address"),
    405: ("SERVICE_METHOD_NOT_ALLOWED", "this address does not accept this method"),
    413: ("SERVICE_REQUEST_TOO_LARGE", "the request body is too large"),
}


#: Renders refusals as a web page for dashboard addresses (set by the dashboard).
HtmlErrorRenderer = Callable[[Request, Sequence[ErrorDetail], int], Response]


def install_error_handlers(
    app: FastAPI, html: HtmlErrorRenderer | None = None, html_prefix: str = "/dashboard"
) -> None:
    """Route every refusal through one JSON shape (or ``html`` for dashboard pages)."""

    def respond(
        request: Request,
        details: Sequence[ErrorDetail],
        status: int,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if html is not None and request.url.path.startswith(html_prefix):
            page = html(request, details, status)
            page.headers.update(headers or {})
            return page
        return error_response(details, status, dict(headers) if headers else None)

    async def on_doseflow_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DoseflowError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "SERVICE_UNAUTHENTICATED" else {}
        # a refusal that passes with time (rate limits, a full job queue) says when
        retry_after = getattr(exc, "retry_after_seconds", None)
        if isinstance(retry_after, int):
            headers["Retry-After"] = str(retry_after)
        return respond(request, exc.details, status_for(exc.code), headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return respond(request, _validation_details(exc.errors()), 422)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code, message = _HTTP_CODES.get(
            exc.status_code, (f"SERVICE_HTTP_{exc.status_code}", str(exc.detail))
        )
        if isinstance(exc.detail, str) and exc.detail and exc.status_code not in (404, 405):
            message = exc.detail
        return respond(request, [ErrorDetail(code, message)], exc.status_code, exc.headers)

    app.add_exception_handler(DoseflowError, on_doseflow_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
