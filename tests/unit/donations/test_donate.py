"""WOLO's donate: the pledge is created, then payments' initiate-pledge task is invoked synchronously.

Payments itself is exercised by tests/unit/payments/test_pledge_tasks.py and, for real across
functions, by tests/e2e/test_donations.py; here the Lambda boundary answers what payments would.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from tests.unit.donations.conftest import DONOR, call, pledge_body
from tests.unit.kernel import harness

PAYMENT = {"paymentId": "pay-1", "status": "pending", "checkoutUrl": "https://pay.test/checkout/pay-1"}


class PaymentsFunction:
    """Lambda's Invoke as donations sees it: records each task, answers the scripted payload."""

    def __init__(self, answer: Any, *, function_error: bool = False) -> None:
        self.answer, self.function_error = answer, function_error
        self.tasks: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
        assert (FunctionName, InvocationType) == ("harambee-test-PaymentsFunction", "RequestResponse")
        self.tasks.append(json.loads(Payload))
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(self.answer).encode()),
        }
        if self.function_error:
            response["FunctionError"] = "Unhandled"
        return response


@pytest.fixture
def payments(donations_table: str, monkeypatch: pytest.MonkeyPatch):
    from harambee import aws

    holder: dict[str, PaymentsFunction] = {}
    real = aws.client

    def client(service: str) -> Any:
        return holder["function"] if service == "lambda" else real(service)

    monkeypatch.setattr(aws, "client", client)

    def answering(answer: Any, **options: Any) -> PaymentsFunction:
        holder["function"] = PaymentsFunction(answer, **options)
        return holder["function"]

    return answering


def donate(key: str | None = None, *, caller: dict[str, str] | None = DONOR, **overrides: Any):
    body = pledge_body(**{"provider": "sandbox", "method": "bkash", **overrides})
    return call("POST", "/api/payments/donate", body=body, caller=caller, key=key or f"key-{uuid.uuid4()}")


def test_given_a_donor_when_donating_then_pledge_and_payment_come_back_together(
    donations_table: str, payments
) -> None:
    function = payments({"payment": PAYMENT})

    reply = donate()

    assert reply.status == 201, reply
    pledge = reply.data["pledge"]
    assert (pledge["status"], pledge["amount"], reply.data["payment"]) == ("pending", 150_000, PAYMENT)
    [sent] = function.tasks
    assert sent["task"] == "payments.initiate-pledge"
    assert sent["pledge"] == {
        "pledgeId": pledge["pledgeId"],
        "campaignId": "c-1",
        "donorId": "u-donor",
        "amount": 150_000,
        "currency": "BDT",
    }
    assert (sent["provider"], sent["method"]) == ("sandbox", "bkash")
    assert len(harness.outbox_events(donations_table, "pledge.created")) == 1


def test_given_payments_refuses_when_retried_with_the_same_key_then_the_same_pledge_is_paid(
    donations_table: str, payments
) -> None:
    payments({"error": {"status": 409, "code": "PAYMENT_ALREADY_ACTIVE", "message": "busy", "details": None}})
    key = f"key-{uuid.uuid4()}"

    refused = donate(key)
    function = payments({"payment": PAYMENT})
    retried = donate(key)

    assert (refused.status, refused.error["code"]) == (409, "PAYMENT_ALREADY_ACTIVE")
    assert retried.status == 201
    assert function.tasks[0]["pledge"]["pledgeId"] == retried.data["pledge"]["pledgeId"]
    assert len(harness.outbox_events(donations_table, "pledge.created")) == 1


def test_an_anonymous_retry_after_a_failure_gets_a_fresh_token_that_works(
    donations_table: str, payments
) -> None:
    payments({"payment": PAYMENT}, function_error=True)
    key = f"key-{uuid.uuid4()}"

    failed = donate(key, caller=None, donorEmail="anon@example.org")
    payments({"payment": PAYMENT})
    retried = donate(key, caller=None, donorEmail="anon@example.org")

    assert (failed.status, failed.error["code"]) == (502, "PAYMENTS_UNAVAILABLE")
    pledge = retried.data["pledge"]
    read = call(
        "GET", f"/api/pledges/{pledge['pledgeId']}", headers={"X-Pledge-Token": pledge["accessToken"]}
    )
    assert read.status == 200


def test_an_unknown_provider_is_refused_before_any_pledge_exists(donations_table: str, payments) -> None:
    function = payments({"payment": PAYMENT})

    reply = donate(provider="paypal")

    assert (reply.status, reply.error["code"]) == (422, "VALIDATION_FAILED")
    assert function.tasks == []
    assert harness.outbox_events(donations_table) == []
