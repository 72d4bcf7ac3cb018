"""The local REST API: an HTTP server that runs each request through the authorizer and the handler.

Requests under /_local/ are the stack's own control endpoints (status, firing schedules); they are
not part of the template.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from devstack.apigateway import (
    GatewayResponse,
    GatewayResponses,
    HttpRequest,
    Stage,
    Throttles,
    authorizer_context,
    authorizer_event,
    lambda_response,
    policy_allows,
    proxy_event,
)
from devstack.routes import RouteMatch, RouteTable
from devstack.workers import Invocation

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
CONTROL_PREFIX = "/_local/"

Invoke = Callable[[str, Any], Invocation]
Control = Callable[[str, str, bytes], tuple[int, Any]]


@dataclass(frozen=True)
class AuthorizerConfig:
    """A REQUEST Lambda authorizer from the Api's Auth.Authorizers."""

    name: str
    function: str  # logical id of the authorizer function
    identity_headers: tuple[str, ...]
    identity_query: tuple[str, ...]
    ttl_seconds: int


class _PolicyCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple[str, ...], policy: dict[str, Any], ttl: int) -> None:
        if ttl > 0:
            with self._lock:
                self._entries[key] = (time.monotonic() + ttl, policy)


class _Rejection(Exception):
    def __init__(self, kind: str, status: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


class ApiGateway:
    """Turns HTTP requests into API Gateway proxy events for the template's handlers."""

    def __init__(
        self,
        routes: RouteTable,
        stage: Stage,
        responses: GatewayResponses,
        authorizers: dict[str, AuthorizerConfig],
        invoke: Invoke,
        *,
        throttle: Throttles | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.routes = routes
        self.stage = stage
        self.responses = responses
        self.authorizers = authorizers
        self.invoke = invoke
        self.throttle = throttle
        self.log = log
        self._cache = _PolicyCache()
        self._throttle_lock = threading.Lock()

    def handle(self, request: HttpRequest) -> GatewayResponse:
        try:
            return self._handle(request)
        except _Rejection as rejection:
            return self.responses.render(rejection.kind, request, self.stage, rejection.status)

    def _handle(self, request: HttpRequest) -> GatewayResponse:
        if len(request.body) > MAX_BODY_BYTES:
            raise _Rejection("REQUEST_TOO_LARGE")
        matched = self.routes.match(request.method, request.path)
        if self.throttle is not None:
            with self._throttle_lock:
                allowed = self.throttle.take(matched.route.path if matched else None, request.method)
            if not allowed:
                raise _Rejection("THROTTLED")
        if matched is None:
            raise _Rejection("MISSING_AUTHENTICATION_TOKEN")
        authorizer = self._authorize(request, matched) if matched.route.authorizer else None
        event = proxy_event(request, self.stage, matched.route.path, matched.path_parameters, authorizer)
        invocation = self.invoke(matched.route.function, event)
        if invocation.error:
            if invocation.error_type == "Sandbox.Timedout":
                raise _Rejection("INTEGRATION_TIMEOUT")
            raise _Rejection("DEFAULT_5XX", 502)
        shaped = lambda_response(invocation.payload)
        if shaped is None:
            raise _Rejection("DEFAULT_5XX", 502)
        status, headers, body = shaped
        return GatewayResponse(status, [*headers, ("x-amzn-RequestId", request.request_id)], body)

    def _authorize(self, request: HttpRequest, matched: RouteMatch) -> dict[str, Any]:
        assert matched.route.authorizer is not None
        config = self.authorizers.get(matched.route.authorizer)
        if config is None:
            raise _Rejection("AUTHORIZER_CONFIGURATION_ERROR")
        query = dict(request.query)
        identity = tuple(request.header(name) or "" for name in config.identity_headers) + tuple(
            query.get(name, "") for name in config.identity_query
        )
        # API Gateway answers 401 itself, without calling the authorizer, when an identity source is empty.
        if not all(identity):
            raise _Rejection("UNAUTHORIZED")
        policy = self._cache.get(identity)
        if policy is None:
            event = authorizer_event(request, self.stage, matched.route.path, matched.path_parameters)
            invocation = self.invoke(config.function, event)
            if invocation.error:
                message = (
                    invocation.payload.get("errorMessage") if isinstance(invocation.payload, dict) else None
                )
                raise _Rejection("UNAUTHORIZED" if message == "Unauthorized" else "AUTHORIZER_FAILURE")
            policy = invocation.payload
            if not isinstance(policy, dict) or "policyDocument" not in policy:
                raise _Rejection("AUTHORIZER_CONFIGURATION_ERROR")
            self._cache.put(identity, policy, config.ttl_seconds)
        if not policy_allows(policy, self.stage.method_arn(request.method, request.path)):
            raise _Rejection("ACCESS_DENIED")
        return authorizer_context(policy)


class GatewayServer:
    """ThreadingHTTPServer in front of an ApiGateway, plus the /_local/ control endpoints."""

    def __init__(self, gateway: ApiGateway, host: str, port: int, control: Control | None = None) -> None:
        self.gateway = gateway
        self.control = control
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _handler_class(server: GatewayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "harambee-local"

        def log_message(self, format: str, *args: Any) -> None:
            """Access lines are printed by _serve with the status and timing instead."""

        def _serve(self) -> None:
            started = time.monotonic()
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                # Drain without keeping it, so the client sees the 413 instead of a broken pipe.
                remaining = length
                while remaining > 0:
                    remaining -= len(self.rfile.read(min(remaining, 1 << 20)) or b"\0" * remaining)
                body = b"\0" * (MAX_BODY_BYTES + 1)
            else:
                body = self.rfile.read(length) if length else b""
            if parts.path.startswith(CONTROL_PREFIX) and server.control is not None:
                status, answer = server.control(self.command, parts.path[len(CONTROL_PREFIX) :], body)
                self._write(
                    GatewayResponse(
                        status, [("Content-Type", "application/json")], json.dumps(answer).encode()
                    )
                )
                return
            request = HttpRequest(
                method=self.command,
                path=parts.path,
                headers=list(self.headers.items()),
                query=parse_qsl(parts.query, keep_blank_values=True),
                body=body,
                source_ip=self.client_address[0],
                request_id=str(uuid.uuid4()),
            )
            response = server.gateway.handle(request)
            self._write(response)
            elapsed = (time.monotonic() - started) * 1000
            server.gateway.log(f"{self.command} {parts.path} -> {response.status} ({elapsed:.0f} ms)")

        def _write(self, response: GatewayResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    return Handler
