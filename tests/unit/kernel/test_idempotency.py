"""Idempotency-Key on money paths: replay, reuse with another body, in flight, missing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from harambee import aws
from harambee.errors import IdempotencyInFlight, Unprocessable
from harambee.http import create_app, ok
from harambee.idempotency import IdempotencyKey, IdempotentRequest
from harambee.runtime import LambdaEntry
from tests.support.events import FakeLambdaContext, api_event
from tests.unit.kernel import harness

KEY = "6f1c2d0e-3b7a-4c59-9a3e-0d2b8f1e7a44"
AMINA = {"userId": "user-amina", "email": "amina@example.com", "role": "USER"}
BARAKA = {"userId": "user-baraka", "email": "baraka@example.com", "role": "USER"}


class Donation(BaseModel):
    amount: int
    currency: str


class Payments:
    """A stand-in money path that counts how often it really charged."""

    def __init__(self) -> None:
        self.charged: list[dict[str, Any]] = []
        self.during_charge: Any = None
        self.refuse_next = False

    def charge(self, donation: Donation) -> dict[str, Any]:
        if self.refuse_next:
            self.refuse_next = False
            raise Unprocessable("Card declined")
        if self.during_charge is not None:
            self.during_charge()
        payment = {"paymentId": f"pay-{len(self.charged) + 1}", **donation.model_dump()}
        self.charged.append(payment)
        return payment


@pytest.fixture
def payments(table: str) -> Payments:
    harness.context_table("IdempotencyTable", harness.IDEMPOTENCY_TABLE)
    return Payments()


@pytest.fixture
def handler(payments: Payments) -> LambdaEntry:
    app = create_app("probe")

    @app.post("/api/payments/donate")
    def donate(request: Request, donation: Donation, idempotency: IdempotencyKey) -> JSONResponse:
        return idempotency.run(lambda: ok(request, payments.charge(donation), status=201))

    return LambdaEntry(app)


def _donate(
    handler: LambdaEntry, body: dict[str, Any], *, key: str | None = KEY, caller: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    event = api_event(
        "POST", "/api/payments/donate", body=json.dumps(body), headers=headers, authorizer=caller or AMINA
    )
    response = handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


def test_given_a_key_when_the_same_request_comes_again_then_the_first_response_is_replayed(
    handler: LambdaEntry, payments: Payments
) -> None:
    first_status, first_body, _ = _donate(handler, {"amount": 5000, "currency": "BDT"})
    again_status, again_body, again_headers = _donate(handler, {"currency": "BDT", "amount": 5000})

    assert first_status == again_status == 201
    assert again_body == first_body
    assert again_headers.get("idempotent-replayed") == "true"
    assert len(payments.charged) == 1


def test_given_a_used_key_when_another_body_comes_then_422(handler: LambdaEntry, payments: Payments) -> None:
    _donate(handler, {"amount": 5000, "currency": "BDT"})

    status, body, _ = _donate(handler, {"amount": 9000, "currency": "BDT"})

    assert status == 422
    assert body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(payments.charged) == 1


def test_given_the_first_request_still_running_when_a_duplicate_arrives_then_409(
    handler: LambdaEntry, payments: Payments
) -> None:
    dynamodb = aws.client("dynamodb")
    seen: dict[str, Any] = {}

    def duplicate_arrives() -> None:
        # The same request, from another Lambda instance, while the first is still charging.
        same = IdempotentRequest(
            key=KEY,
            caller=AMINA["userId"],
            route="POST /api/payments/donate",
            body={"amount": 5000, "currency": "BDT"},
        )
        with pytest.raises(IdempotencyInFlight) as raised:
            same.run(lambda: JSONResponse({"charged": "twice"}))
        seen["status"] = raised.value.status
        (seen["record"],) = dynamodb.scan(TableName=harness.IDEMPOTENCY_TABLE)["Items"]

    payments.during_charge = duplicate_arrives
    status, _, _ = _donate(handler, {"amount": 5000, "currency": "BDT"})
    assert (status, seen["status"], seen["record"]["status"]["S"]) == (201, 409, "INPROGRESS")

    # Given a record still INPROGRESS (the first invocation has not finished), the API answers 409.
    payments.during_charge = None
    dynamodb.put_item(TableName=harness.IDEMPOTENCY_TABLE, Item=seen["record"])
    status, body, _ = _donate(handler, {"amount": 5000, "currency": "BDT"})

    assert status == 409
    assert body["error"]["code"] == "IDEMPOTENCY_IN_FLIGHT"
    assert len(payments.charged) == 1


@pytest.mark.parametrize("key", [None, "", "short", "has spaces in it", "x" * 129, "ключ-идемпотентности"])
def test_a_missing_or_malformed_key_is_a_400(
    handler: LambdaEntry, payments: Payments, key: str | None
) -> None:
    status, body, _ = _donate(handler, {"amount": 5000, "currency": "BDT"}, key=key)

    assert status == 400
    assert body["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert payments.charged == []


def test_two_callers_with_the_same_key_never_share_a_response(
    handler: LambdaEntry, payments: Payments
) -> None:
    _, amina, _ = _donate(handler, {"amount": 5000, "currency": "BDT"}, caller=AMINA)
    _, baraka, headers = _donate(handler, {"amount": 5000, "currency": "BDT"}, caller=BARAKA)

    assert amina["data"]["paymentId"] != baraka["data"]["paymentId"]
    assert "idempotent-replayed" not in headers
    assert len(payments.charged) == 2


def test_a_request_that_failed_with_a_domain_error_can_be_retried_with_the_same_key(
    handler: LambdaEntry, payments: Payments
) -> None:
    payments.refuse_next = True
    declined, _, _ = _donate(handler, {"amount": 5000, "currency": "BDT"})
    retried, body, _ = _donate(handler, {"amount": 5000, "currency": "BDT"})

    assert (declined, retried) == (422, 201)
    assert body["data"]["paymentId"] == "pay-1"


def test_the_same_key_and_body_on_another_resource_is_a_new_request(payments: Payments) -> None:
    # Given a route whose path names what is paid
    app = create_app("probe")

    @app.post("/api/orders/{order_id}/pay")
    def pay(request: Request, order_id: str, donation: Donation, idempotency: IdempotencyKey) -> JSONResponse:
        return idempotency.run(lambda: ok(request, {"order": order_id, **payments.charge(donation)}))

    handler = LambdaEntry(app)
    body = json.dumps({"amount": 100, "currency": "USD"})

    def pay_order(order: str) -> dict[str, Any]:
        event = api_event(
            "POST", f"/api/orders/{order}/pay", body=body, headers={"Idempotency-Key": KEY}, authorizer=AMINA
        )
        return json.loads(handler(event, FakeLambdaContext())["body"])["data"]

    # When the client reuses one key for order A and then order B, Then both are paid, once each
    assert pay_order("A")["order"] == "A"
    assert pay_order("B")["order"] == "B"
    assert pay_order("A")["order"] == "A"
    assert len(payments.charged) == 2
