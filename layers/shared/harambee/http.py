"""The FastAPI side of every context: app factory, envelope responses and the one error mapping."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from harambee import envelope
from harambee.errors import DomainError
from harambee.observability import logger

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    410: "GONE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def request_id(request: Request) -> str:
    """API Gateway's request id when behind it; the Lambda request id or a fresh one otherwise."""
    event = request.scope.get("aws.event") or {}
    from_gateway = (event.get("requestContext") or {}).get("requestId")
    if from_gateway:
        return str(from_gateway)
    context = request.scope.get("aws.context")
    return str(getattr(context, "aws_request_id", None) or uuid.uuid4())


def source_ip(request: Request) -> str:
    """The client's address as API Gateway saw it (requestContext.identity.sourceIp)."""
    event = request.scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return str(identity.get("sourceIp") or (request.client.host if request.client else "unknown"))


def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


def ok(
    request: Request, data: Any, *, status: int = 200, pagination: dict[str, Any] | None = None
) -> JSONResponse:
    return JSONResponse(envelope.success(data, request_id(request), pagination), status_code=status)


def error_response(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> JSONResponse:
    return JSONResponse(envelope.failure(code, message, request_id(request), details), status_code=status)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    response = error_response(request, exc.status, exc.code, exc.message, exc.details)
    retry_after = exc.details.get("retryAfter") if isinstance(exc.details, dict) else None
    if exc.status == 429 and isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "message": err.get("msg"),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]
    if any(problem["type"] == "json_invalid" for problem in problems):
        return error_response(request, 400, "MALFORMED_JSON", "Request body is not valid JSON", problems)
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type and any(problem["field"] == "body" for problem in problems):
        # FastAPI only parses JSON bodies sent as JSON; say so rather than report a confusing schema error.
        return error_response(
            request, 415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json"
        )
    return error_response(request, 422, "VALIDATION_FAILED", "Request failed validation", problems)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    if exc.status_code == 404 and message == "Not Found":
        message = f"No route for {request.method} {request.url.path}"
    return error_response(request, exc.status_code, code, message)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Never leak a stack trace: the request id is what support needs to find the logged one.
    logger.exception("Unhandled error", extra={"path": request.url.path})
    return error_response(request, 500, "INTERNAL_ERROR", "Internal server error")


def create_app(context: str) -> FastAPI:
    """A context's app: envelope errors and GET /api/<context>/health wired in.

    Docs routes are off; the whole API's OpenAPI document is generated into docs/openapi.json.
    """
    app = FastAPI(title=f"Harambee {context}", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get(f"/api/{context}/health", tags=["health"], summary=f"Health of the {context} context")
    def health(request: Request) -> JSONResponse:
        from harambee.health import check_table

        report = check_table(context)
        status = 200 if report["table"] == "reachable" else 503
        if status == 200:
            return ok(request, report)
        return error_response(
            request, status, "DEPENDENCY_UNAVAILABLE", "The context's table is unreachable", report
        )

    return app
