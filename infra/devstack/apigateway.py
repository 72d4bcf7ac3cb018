"""API Gateway REST API (v1) behaviour: proxy and authorizer events, policy checks, gateway responses."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devstack.intrinsics import ACCOUNT_ID, REGION


@dataclass
class HttpRequest:
    """An incoming request as the gateway saw it, before any Lambda event is built."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    received_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True)
class Stage:
    api_id: str
    name: str
    host: str

    def method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.name}/{method}{path}"


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    # API Gateway's single-value maps keep the last value of a repeated key.
    return {key: values[-1] for key, values in multi.items()}, multi


def request_context(request: HttpRequest, stage: Stage, resource: str) -> dict[str, Any]:
    moment = datetime.fromtimestamp(request.received_ms / 1000, UTC)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": stage.api_id,
        "domainName": stage.host,
        "domainPrefix": stage.host.split(".", 1)[0],
        "extendedRequestId": request.request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("User-Agent"),
            "userArn": None,
        },
        "path": f"/{stage.name}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": request.received_ms,
        "resourceId": "local",
        "resourcePath": resource,
        "stage": stage.name,
    }


def _body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode("ascii"), True


def proxy_event(
    request: HttpRequest,
    stage: Stage,
    resource: str,
    path_parameters: dict[str, str],
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    """The Lambda proxy integration event API Gateway sends for this request."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    context = request_context(request, stage, resource)
    if authorizer is not None:
        context["authorizer"] = authorizer
    body, is_base64 = _body(request)
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def authorizer_event(
    request: HttpRequest, stage: Stage, resource: str, path_parameters: dict[str, str]
) -> dict[str, Any]:
    """The REQUEST authorizer event (payload type REQUEST) for this request."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    return {
        "type": "REQUEST",
        "methodArn": stage.method_arn(request.method, request.path),
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or {},
        "multiValueHeaders": multi_headers or {},
        "queryStringParameters": query or {},
        "multiValueQueryStringParameters": multi_query or {},
        "pathParameters": path_parameters,
        "stageVariables": {},
        "requestContext": request_context(request, stage, resource),
    }


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    document = policy.get("policyDocument") or {}
    statements = document.get("Statement") or []
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in (value if isinstance(value, list) else [value])]


def _arn_matches(pattern: str, arn: str) -> bool:
    # IAM wildcards: `*` any run of characters, `?` one character; nothing else is special.
    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))


def policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    """IAM evaluation of an authorizer's policy: an explicit Deny wins, then an Allow must match."""
    allowed = False
    for statement in _statements(policy):
        actions = _as_list(statement.get("Action", []))
        if not any(_arn_matches(action, "execute-api:Invoke") for action in actions):
            continue
        if not any(
            _arn_matches(resource, method_arn) for resource in _as_list(statement.get("Resource", []))
        ):
            continue
        if str(statement.get("Effect")) == "Deny":
            return False
        if str(statement.get("Effect")) == "Allow":
            allowed = True
    return allowed


def authorizer_context(policy: dict[str, Any]) -> dict[str, Any]:
    """What API Gateway puts in requestContext.authorizer: the policy's context plus principalId."""
    context: dict[str, Any] = dict(policy.get("context") or {})
    context["principalId"] = policy.get("principalId")
    context["integrationLatency"] = 0
    return context


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


_DEFAULT_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "THROTTLED": 429,
    "BAD_REQUEST_BODY": 400,
    "REQUEST_TOO_LARGE": 413,
    "AUTHORIZER_FAILURE": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "API_CONFIGURATION_ERROR": 500,
}

_DEFAULT_MESSAGE = {
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "UNAUTHORIZED": "Unauthorized",
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "THROTTLED": "Too Many Requests",
    "REQUEST_TOO_LARGE": "Request Too Long",
    "AUTHORIZER_FAILURE": "Internal server error",
    "AUTHORIZER_CONFIGURATION_ERROR": "Internal server error",
    "INTEGRATION_TIMEOUT": "Endpoint request timed out",
}

_CONTEXT_VARIABLE = re.compile(r"\$(?:context\.([A-Za-z0-9_.]+)|\{context\.([A-Za-z0-9_.]+)\})")


class GatewayResponses:
    """The Api's GatewayResponses, with DEFAULT_4XX / DEFAULT_5XX and API Gateway's built-ins behind them."""

    def __init__(self, declared: dict[str, Any]) -> None:
        self.declared = declared

    def render(
        self, kind: str, request: HttpRequest, stage: Stage, status: int | None = None
    ) -> GatewayResponse:
        code = status or _DEFAULT_STATUS.get(kind, 500)
        message = _DEFAULT_MESSAGE.get(kind, "Internal server error" if code >= 500 else "Bad Request")
        spec = self.declared.get(kind) or self.declared.get("DEFAULT_5XX" if code >= 500 else "DEFAULT_4XX")
        if spec is None:
            return GatewayResponse(
                code, [("Content-Type", "application/json")], json.dumps({"message": message}).encode()
            )
        if kind in self.declared and self.declared[kind].get("StatusCode"):
            code = int(self.declared[kind]["StatusCode"])
        headers = {
            name: str(value).strip("'")
            for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items()
        }
        templates = spec.get("ResponseTemplates") or {}
        template = templates.get("application/json") or next(iter(templates.values()), None)
        variables = {
            "requestId": request.request_id,
            "extendedRequestId": request.request_id,
            "requestTimeEpoch": str(request.received_ms),
            "httpMethod": request.method,
            "path": f"/{stage.name}{request.path}",
            "stage": stage.name,
            "apiId": stage.api_id,
            "error.message": message,
            "error.messageString": json.dumps(message),
            "error.responseType": kind,
            "identity.sourceIp": request.source_ip,
        }
        if template is None:
            body = json.dumps({"message": message})
        else:
            body = _CONTEXT_VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), str(template))
        headers.setdefault("Content-Type", "application/json")
        return GatewayResponse(code, list(headers.items()), body.encode("utf-8"))


@dataclass
class TokenBucket:
    """Stage throttling: `rate` requests per second with bursts up to `burst`."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Throttles:
    """API Gateway's throttling: the stage-wide MethodSettings ("/*", "*") and per-method overrides."""

    default: TokenBucket | None = None
    per_method: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)

    @classmethod
    def from_method_settings(cls, settings: list[dict[str, Any]]) -> Throttles:
        throttles = cls()
        for setting in settings:
            if "ThrottlingRateLimit" not in setting:
                continue
            bucket = TokenBucket(
                float(setting["ThrottlingRateLimit"]), float(setting.get("ThrottlingBurstLimit", 1))
            )
            resource, method = str(setting.get("ResourcePath", "/*")), str(setting.get("HttpMethod", "*"))
            if resource == "/*" and method == "*":
                throttles.default = bucket
            else:
                # MethodSettings encode the resource path's slashes as ~1 ("/~1api~1auth~1login").
                path = "/" + resource.replace("~1", "/").lstrip("/")
                throttles.per_method[(path, method.upper())] = bucket
        return throttles

    def take(self, resource: str | None, method: str) -> bool:
        """Whether this request may pass: the method's own limit if it has one, else the stage's."""
        bucket = (
            self.per_method.get((resource or "", method))
            or self.per_method.get((resource or "", "*"))
            or self.default
        )
        return bucket.take() if bucket is not None else True


def lambda_response(payload: Any) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Status, headers and body from a proxy integration's result; None when API Gateway would 502."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return None
    try:
        status = int(payload["statusCode"])
    except (TypeError, ValueError):
        return None
    headers: list[tuple[str, str]] = []
    multi = payload.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name, str(value)) for value in values)
    for name, value in (payload.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    body = payload.get("body")
    if body is None:
        raw = b""
    elif payload.get("isBase64Encoded"):
        raw = base64.b64decode(str(body))
    else:
        raw = str(body).encode("utf-8")
    return status, headers, raw
