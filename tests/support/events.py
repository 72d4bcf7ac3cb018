"""Loads the canonical sample events in events/ (the same files `sam local invoke -e` takes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    """`load_event("catalog/api_health")` reads events/catalog/api_health.json."""
    loaded = json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@dataclass
class FakeLambdaContext:
    """The parts of the Lambda context object Powertools and Mangum read."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/22/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def api_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    authorizer: dict[str, str] | None = None,
    resource: str | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for `method path`, built from the canonical health event."""
    event = load_event("catalog/api_health")
    json_body = {"Content-Type": "application/json"} if body is not None else {}
    merged_headers = {**event["headers"], **json_body, **(headers or {})}
    event.update(
        httpMethod=method,
        path=path,
        resource=resource or path,
        body=body,
        headers=merged_headers,
        multiValueHeaders={name: [value] for name, value in merged_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
    )
    context = event["requestContext"]
    context.update(httpMethod=method, path=f"/{context['stage']}{path}", resourcePath=resource or path)
    if authorizer is not None:
        context["authorizer"] = authorizer
    return event


class Reply:
    """A handler's API Gateway response as a test reads it: status, headers, the envelope's parts."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.headers: dict[str, str] = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        self.text: str = response["body"]
        body = json.loads(self.text) if self.text.startswith(("{", "[")) else {}
        self.body: dict[str, Any] = body
        self.data: Any = body.get("data")
        self.error: Any = body.get("error")
        self.pagination: Any = body.get("pagination")

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.text[:400]})"
