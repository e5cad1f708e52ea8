"""The request body size limit: bodies over ``MAX_REQUEST_BYTES`` get 413, never read whole.

A body that declares its length (``Content-Length``) over the limit is refused before a
byte of it is read. A body sent in chunks (no length given) is counted as it streams in,
and refused as soon as the count passes the limit: the chunks read so far are the most the
service ever holds. Either way the answer is ``413 SERVICE_REQUEST_TOO_LARGE`` in the usual
error shape, and nothing was done with the request.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, so that the body is
passed through chunk by chunk and not buffered.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doseflow.domain.errors import ErrorDetail
from doseflow.domain.limits import MAX_REQUEST_BYTES
from doseflow.service.errors import error_body

CODE = "SERVICE_REQUEST_TOO_LARGE"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An ``HTTPException``,
    so FastAPI's body parsing lets it through to the error handlers unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _message(limit))


def _message(limit: int) -> str:
    return f"the request body is larger than the service accepts ({limit:,} bytes at most)"


def too_large_response(limit: int) -> JSONResponse:
    detail = ErrorDetail(
        CODE,
        _message(limit),
        expected=f"a request body of at most {limit:,} bytes",
    )
    return JSONResponse(error_body([detail]), status_code=413)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestSizeLimit:
    """Refuse request bodies over ``max_bytes`` (default ``MAX_REQUEST_BYTES``) with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        limit = self.max_bytes
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # read outside FastAPI's error handlers (e.g. a form parsed by hand)
            if started:
                raise
            await too_large_response(limit)(scope, receive, send)
