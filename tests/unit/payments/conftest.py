"""Payments in moto, driven through its Lambda handler, with the sandbox's webhooks looped back in.

The sandbox posts its signed webhooks with httpx; an httpx.MockTransport turns each request into the
API Gateway event the webhook route would get and answers with the handler's response.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from harambee import auth
from harambee.events import DomainEvent
from tests.support.events import FakeLambdaContext, Reply, api_event
from tests.unit.kernel import harness

SECRET = "sandbox-test-secret"
DONOR = {"principalId": "u-donor", "userId": "u-donor", "email": "donor@example.org", "role": "USER"}
OTHER = {"principalId": "u-other", "userId": "u-other", "email": "other@example.org", "role": "USER"}
ADMIN = {"principalId": "u-admin", "userId": "u-admin", "email": "admin@example.org", "role": "ADMIN"}


def ensure_event_loop() -> None:
    """Mangum asks for the thread's event loop; worker threads have none until given one."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    from payments.handler import handler

    ensure_event_loop()
    result: dict[str, Any] = handler(event, FakeLambdaContext())
    return result


def call(
    method: str,
    path: str,
    *,
    body: Any = None,
    caller: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = None,
    query: dict[str, str] | None = None,
) -> Reply:
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    all_headers = dict(headers or {})
    if key is not None:
        all_headers["Idempotency-Key"] = key
    event = api_event(method, path, body=raw, headers=all_headers, authorizer=caller, query=query)
    return Reply(invoke(event))


def loopback(request: httpx.Request) -> httpx.Response:
    """The sandbox's outgoing webhook, delivered to the payments handler as API Gateway would."""
    event = api_event(
        request.method,
        request.url.path,
        body=request.content.decode(),
        headers={name: value for name, value in request.headers.items() if name.lower() != "content-length"},
    )
    response = invoke(event)
    return httpx.Response(response["statusCode"], content=response["body"].encode())


@pytest.fixture
def payments_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from payments import settings
    from payments.providers import sandbox

    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("PaymentsTable")
        harness.context_table("IdempotencyTable", harness.IDEMPOTENCY_TABLE)
        harness.use_context(monkeypatch, "payments", name)
        monkeypatch.setenv("SANDBOX_PAYMENTS_ENABLED", "true")
        monkeypatch.setenv("SANDBOX_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.test.harambee.app")
        monkeypatch.setattr(sandbox, "transport", httpx.MockTransport(loopback))
        for cache in (settings.payments_settings, auth._verifier):
            cache.cache_clear()
        yield name
        for cache in (settings.payments_settings, auth._verifier):
            cache.cache_clear()


def announce(event_type: str, data: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """Deliver one payable announcement to the payments inbox; returns the batch response."""
    event = DomainEvent(
        event_id=event_id or str(uuid.uuid4()), event_type=event_type, source="harambee.donations", data=data
    )
    return invoke(harness.deliveries(event))


def pledge(
    pledge_id: str = "pl-1", *, donor: str | None = None, amount: int = 150_000, currency: str = "BDT"
) -> str:
    response = announce(
        "pledge.created",
        {
            "pledgeId": pledge_id,
            "campaignId": "c-1",
            "donorId": donor,
            "amount": amount,
            "currency": currency,
        },
    )
    assert response == {"batchItemFailures": []}
    return pledge_id


def initiate(pledge_id: str, *, caller: dict[str, str] | None = None, key: str | None = None) -> Reply:
    return call(
        "POST",
        "/api/payments/initiate",
        body={"pledgeId": pledge_id, "provider": "sandbox", "method": "bkash"},
        caller=caller,
        key=key or f"key-{uuid.uuid4()}",
    )


def items(table_name: str, prefix: str = "") -> list[dict[str, Any]]:
    scanned = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [item for item in scanned if item["pk"]["S"].startswith(prefix)]


def receipts(table_name: str, prefix: str = "WEBHOOK#") -> list[dict[str, Any]]:
    """Stored webhook receipts: under their payment (sk WEBHOOK#...) or on their own (pk WEBHOOK#...)."""
    scanned = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [
        item for item in scanned if item["sk"]["S"].startswith(prefix) or item["pk"]["S"].startswith(prefix)
    ]


def outbox_types(table_name: str) -> list[str]:
    envelopes = [json.loads(item["envelope"]["S"]) for item in items(table_name, "OUTBOX#")]
    envelopes.sort(key=lambda envelope: envelope["timestamp"])
    return [envelope["eventType"] for envelope in envelopes]
