"""Donations in moto, driven through its Lambda handler: routes, saga tasks, relay and inbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from harambee import aws
from harambee.events import DomainEvent
from tests.support.events import FakeLambdaContext, Reply, api_event
from tests.unit.kernel import harness
from tests.unit.payments.conftest import ensure_event_loop

DONOR = {"principalId": "u-donor", "userId": "u-donor", "email": "donor@example.org", "role": "USER"}
OTHER = {"principalId": "u-other", "userId": "u-other", "email": "other@example.org", "role": "USER"}
ADMIN = {"principalId": "u-admin", "userId": "u-admin", "email": "admin@example.org", "role": "ADMIN"}
SAGA_NAME = "harambee-test-donation-saga"
CAMPAIGN = {
    "campaignId": "c-1",
    "title": "Clean water for Sylhet",
    "ownerId": "u-owner",
    "type": "emergency",
    "currency": "BDT",
    "status": "active",
    "endDate": "2027-01-31",
}


def invoke(event: dict[str, Any]) -> Any:
    from donations.handler import handler

    ensure_event_loop()
    return handler(event, FakeLambdaContext())


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


@pytest.fixture
def donations_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from donations import relay, settings

    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("DonationsTable")
        harness.context_table("IdempotencyTable", harness.IDEMPOTENCY_TABLE)
        harness.use_context(monkeypatch, "donations", name)
        harness.create_bus()
        role = "arn:aws:iam::123456789012:role/saga"
        machine = aws.stepfunctions().create_state_machine(
            name=SAGA_NAME,
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
            roleArn=role,
        )
        monkeypatch.setenv("DONATION_SAGA_ARN", machine["stateMachineArn"])
        monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "1800")
        monkeypatch.setenv("PAYMENTS_FUNCTION_NAME", "harambee-test-PaymentsFunction")
        for cache in (settings.donations_settings, relay._processor):
            cache.cache_clear()
        yield name
        for cache in (settings.donations_settings, relay._processor):
            cache.cache_clear()


def pledge_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"campaignId": "c-1", "amount": 150_000, "currency": "BDT"}
    body.update(overrides)
    return body


def create_pledge(
    *, caller: dict[str, str] | None = DONOR, key: str | None = None, **overrides: Any
) -> Reply:
    if caller is None:
        overrides.setdefault("donorEmail", "anon@example.org")
    reply = call(
        "POST", "/api/pledges", body=pledge_body(**overrides), caller=caller, key=key or f"key-{uuid.uuid4()}"
    )
    assert reply.status == 201, reply
    return reply


def task(name: str, **payload: Any) -> Any:
    return invoke({"task": name, **payload})


def complete(pledge_id: str, *, payment_id: str = "pay-1", amount: int = 150_000) -> None:
    """Take a pledge through the saga's happy path, as the state machine would."""
    task("donations.await-payment", pledgeId=pledge_id, taskToken="token-1")
    payment = {
        "paymentId": payment_id,
        "status": "completed",
        "amount": amount,
        "currency": "BDT",
        "provider": "sandbox",
    }
    task("donations.confirm-pledge", pledgeId=pledge_id, campaign=CAMPAIGN, payment=payment)


def refunded(
    pledge_id: str, refund_amount: int, refunded_amount: int, *, kind: str = "pledge"
) -> DomainEvent:
    data = {
        "paymentId": "pay-1",
        f"{kind}Id": pledge_id,
        "payableKind": kind,
        "amount": 150_000,
        "currency": "BDT",
        "refundId": str(uuid.uuid4()),
        "refundAmount": refund_amount,
        "refundedAmount": refunded_amount,
        "reason": "donor asked",
        "status": "refunded" if refunded_amount == 150_000 else "partially_refunded",
    }
    return DomainEvent(event_type="payment.refunded", source="harambee.payments", data=data)


def pledge_item(table: str, pledge_id: str) -> dict[str, Any]:
    item = harness.get_item(table, f"PLEDGE#{pledge_id}", "PLEDGE")
    assert item is not None
    # The stored document leaves defaults out; the model puts them back, as the service reads it.
    from donations.domain.pledge import Pledge

    document: dict[str, Any] = Pledge.model_validate_json(item["document"]["S"]).model_dump(
        mode="json", by_alias=True
    )
    return document
