"""Payments as a client uses them through the local gateway: a pledge becomes payable, the donor
initiates a sandbox payment, the sandbox sends duplicated, shuffled webhooks, the state ends right."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.e2e.conftest import eventually, http

PASSWORD = "a long and uncommon passphrase"


def _post(stack, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return http(
        "POST",
        f"{stack.url}{path}",
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def _pledge_created(stack, pledge_id: str, donor_id: str, amount: int) -> None:
    """What the donations context will publish; until it exists, the test puts it on the bus."""
    envelope = {
        "eventId": str(uuid.uuid4()),
        "eventType": "pledge.created",
        "schemaVersion": 1,
        "timestamp": "2026-11-22T09:00:00.000Z",
        "source": "harambee.donations",
        "correlationId": None,
        "data": {
            "pledgeId": pledge_id,
            "campaignId": "c-1",
            "donorId": donor_id,
            "amount": amount,
            "currency": "BDT",
        },
    }
    stack.client("events").put_events(
        Entries=[
            {
                "Source": "harambee.donations",
                "DetailType": "pledge.created",
                "Detail": json.dumps(envelope),
                "EventBusName": stack.physical_name("EventBus"),
            }
        ]
    )


def test_a_donor_pays_a_pledge_through_the_sandbox_with_duplicated_shuffled_webhooks(stack):
    # Given a signed-in donor whose pledge the payments context has heard about
    status, registered = _post(
        stack, "/api/auth/register", {"email": "donor@example.org", "password": PASSWORD}
    )
    assert status == 201, registered
    donor = registered["data"]["user"]["userId"]
    token = registered["data"]["tokens"]["accessToken"]
    pledge = f"pledge-{uuid.uuid4().hex[:8]}"
    _pledge_created(stack, pledge, donor, 150_000)
    bearer = {"Authorization": f"Bearer {token}"}

    # When the donor initiates (retrying once with the same key) and the sandbox completes
    def initiate() -> tuple[int, Any]:
        return _post(
            stack,
            "/api/payments/initiate",
            {"pledgeId": pledge, "provider": "sandbox", "method": "card"},
            {**bearer, "Idempotency-Key": f"key-{pledge}"},
        )

    def accepted() -> tuple[int, Any] | None:
        # The pledge reaches payments through the bus and its inbox, a moment after it was published.
        answer = initiate()
        return answer if answer[0] == 201 else None

    started = eventually(accepted, timeout=20)
    payment = started[1]["data"]
    assert (payment["amount"], payment["currency"], payment["status"]) == (150_000, "BDT", "pending")
    assert initiate()[1]["data"]["paymentId"] == payment["paymentId"]
    status, completed = _post(
        stack,
        f"/api/payments/sandbox/{payment['paymentId']}/complete",
        {"outcome": "success", "duplicates": 3, "shuffle": True},
    )
    assert status == 200, completed

    # Then the payment is completed once, its history shows each transition once, whatever the order
    status, read = http("GET", f"{stack.url}/api/payments/{payment['paymentId']}", bearer)
    assert status == 200, read
    assert read["data"]["status"] == "completed"
    applied = [entry for entry in read["data"]["history"] if entry.get("applied", True)]
    assert len({entry["to"] for entry in applied}) == len(applied)
    # And another user cannot read it
    _, other = _post(stack, "/api/auth/register", {"email": "nosy@example.org", "password": PASSWORD})
    nosy = {"Authorization": f"Bearer {other['data']['tokens']['accessToken']}"}
    assert http("GET", f"{stack.url}/api/payments/{payment['paymentId']}", nosy)[0] == 404
