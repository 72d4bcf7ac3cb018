"""The donation saga through the local stack, as clients use it: the real state machine (moto's
interpreter) with its Lambda tasks in our workers, the outbox relay starting it, payments resuming
the wait from sandbox webhooks, and the compensations. One test per path of docs/donations.md.

The timeout path needs a short wait without changing the stage's DonationPaymentTimeoutSeconds for
every other test: it pauses the donations relay, starts the pledge's execution itself with
`paymentTimeoutSeconds` 3 (the input the relay would build, with a smaller timeout), and resumes the
relay, whose own start is then refused by Step Functions as a duplicate name and acknowledged.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, eventually, http

pytestmark = pytest.mark.e2e
PASSWORD = "a long and uncommon passphrase"
# Generous: the local stack shares two cores with whatever else runs; a healthy saga takes seconds.
SAGA_TIMEOUT = 120


def call(
    stack,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None else None
    return http(method, f"{stack.url}{path}", all_headers, raw)


def register(stack, name: str) -> tuple[str, str]:
    body = {"email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org", "password": PASSWORD, "name": name}
    status, registered = call(stack, "POST", "/api/auth/register", body=body)
    assert status == 201, registered
    return registered["data"]["user"]["userId"], registered["data"]["tokens"]["accessToken"]


def admin_token(stack) -> str:
    status, body = call(
        stack, "POST", "/api/auth/login", body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert status == 200, body
    return str(body["data"]["tokens"]["accessToken"])


def active_campaign(stack, admin: str) -> str:
    """A campaign created by a user and approved by an admin, through the campaigns API."""
    _, owner = register(stack, "Owner")
    today = datetime.now(UTC).date()
    campaign = {
        "title": f"Clean water {uuid.uuid4().hex[:6]}",
        "description": "Wells and hand pumps for the village school",
        "type": "emergency",
        "goalAmount": 2_000_000,
        "currency": "BDT",
        "startDate": today.isoformat(),
        "endDate": (today + timedelta(days=60)).isoformat(),
        "beneficiaryName": "Village school committee",
    }
    status, created = call(stack, "POST", "/api/campaigns", owner, campaign)
    assert status == 201, created
    campaign_id = str(created["data"]["campaignId"])
    status, approved = call(stack, "PATCH", f"/api/admin/campaigns/{campaign_id}/approve", admin)
    assert status == 200, approved
    return campaign_id


def pledge(stack, campaign_id: str, token: str | None, **extra: Any) -> dict[str, Any]:
    body = {"campaignId": campaign_id, "amount": 150_000, "currency": "BDT", **extra}
    status, created = call(
        stack, "POST", "/api/pledges", token, body, {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    )
    assert status == 201, created
    return dict(created["data"])


def pay(stack, pledge_id: str, token: str | None, outcome: str = "success") -> str:
    """Initiate the pledge's sandbox payment (once payments has heard of it) and settle it."""

    def initiated() -> dict[str, Any] | None:
        body = {"pledgeId": pledge_id, "provider": "sandbox", "method": "bkash"}
        status, answer = call(
            stack, "POST", "/api/payments/initiate", token, body, {"Idempotency-Key": f"pay-{pledge_id}"}
        )
        return answer["data"] if status == 201 else None

    payment_id = str(eventually(initiated, timeout=20)["paymentId"])
    settle(stack, payment_id, outcome)
    return payment_id


def settle(stack, payment_id: str, outcome: str) -> None:
    status, sent = call(
        stack,
        "POST",
        f"/api/payments/sandbox/{payment_id}/complete",
        body={"outcome": outcome, "duplicates": 3, "shuffle": True},
    )
    assert status == 200, sent


def execution_arn(stack, pledge_id: str) -> str:
    machine = stack.physical_name("DonationSagaStateMachine")
    return f"{machine.replace(':stateMachine:', ':execution:')}:{pledge_id}"


def finished(stack, pledge_id: str) -> dict[str, Any]:
    states = stack.client("stepfunctions")

    def done() -> dict[str, Any] | None:
        try:
            described = states.describe_execution(executionArn=execution_arn(stack, pledge_id))
        except states.exceptions.ExecutionDoesNotExist:
            return None
        return described if described["status"] != "RUNNING" else None

    try:
        return eventually(done, timeout=SAGA_TIMEOUT, interval=0.3)
    except AssertionError as stuck:
        history = states.get_execution_history(executionArn=execution_arn(stack, pledge_id), maxResults=1000)
        raise AssertionError(f"The saga of {pledge_id} did not finish: {history['events'][-3:]}") from stuck


def entered(stack, pledge_id: str) -> list[str]:
    history = stack.client("stepfunctions").get_execution_history(
        executionArn=execution_arn(stack, pledge_id), maxResults=1000
    )
    return [
        e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e
    ]


def read_pledge(stack, pledge_id: str, token: str) -> dict[str, Any]:
    status, body = call(stack, "GET", f"/api/pledges/{pledge_id}", token)
    assert status == 200, body
    return dict(body["data"])


def awaiting_payment(stack, pledge_id: str, token: str) -> None:
    eventually(lambda: read_pledge(stack, pledge_id, token)["status"] == "payment_initiated", timeout=30)


def completed_sums(stack, campaign_id: str) -> list[dict[str, Any]]:
    answer = stack.invoke(
        "DonationsFunction", {"task": "donations.completed-sums", "campaignId": campaign_id}
    )
    assert not answer.error, answer.payload
    return list(answer.payload)


def test_happy_path_then_refund_after_completion(stack) -> None:
    admin = admin_token(stack)
    campaign_id = active_campaign(stack, admin)
    _, donor = register(stack, "Donor")
    # Given a signed-in donor's pledge, paid through the sandbox with duplicated, shuffled webhooks
    pledge_id = pledge(stack, campaign_id, donor, donorName="Rahim")["pledgeId"]
    payment_id = pay(stack, pledge_id, donor)

    # Then the saga takes exactly the happy path and the pledge is completed, once
    assert finished(stack, pledge_id)["status"] == "SUCCEEDED"
    assert entered(stack, pledge_id) == [
        "ValidateCampaign",
        "AwaitPayment",
        "RecheckCampaign",
        "ConfirmPledge",
        "PledgeCompleted",
    ]
    completed = read_pledge(stack, pledge_id, donor)
    assert (completed["status"], completed["paymentId"]) == ("completed", payment_id)
    status, listed = call(stack, "GET", f"/api/pledges/campaign/{campaign_id}")
    assert [(p["pledgeId"], p["donorName"]) for p in listed["data"]] == [(pledge_id, "Rahim")]
    assert completed_sums(stack, campaign_id) == [
        {"campaignId": campaign_id, "currency": "BDT", "amount": 150_000, "count": 1}
    ]

    # When an admin refunds part, then the rest
    for amount, key in ((50_000, "refund-part"), (None, "refund-rest")):
        body = {"reason": "donor asked", **({"amount": amount} if amount else {})}
        status, refunded = call(
            stack,
            "POST",
            f"/api/payments/{payment_id}/refund",
            admin,
            body,
            {"Idempotency-Key": f"{key}-{pledge_id}"},
        )
        assert status == 201, refunded
        if amount:
            eventually(lambda: read_pledge(stack, pledge_id, donor)["refundedAmount"] == 50_000, timeout=30)
            assert completed_sums(stack, campaign_id)[0]["amount"] == 100_000

    # Then the pledge is refunded in full and no longer counts
    def fully_refunded() -> dict[str, Any] | None:
        current = read_pledge(stack, pledge_id, donor)
        return current if current["status"] == "refunded" else None

    refunded_pledge = eventually(fully_refunded, timeout=30)
    assert refunded_pledge["refundedAmount"] == 150_000
    assert completed_sums(stack, campaign_id) == []
    assert call(stack, "GET", f"/api/pledges/campaign/{campaign_id}")[1]["data"] == []


def test_an_anonymous_donor_donates_in_one_call_and_reads_it_with_the_token(stack) -> None:
    admin = admin_token(stack)
    campaign_id = active_campaign(stack, admin)
    body = {
        "campaignId": campaign_id,
        "amount": 25_000,
        "currency": "BDT",
        "donorEmail": "anon@example.org",
        "donorName": "Karim",
        "isAnonymous": True,
        "provider": "sandbox",
        "method": "bkash",
    }
    key = {"Idempotency-Key": f"donate-{uuid.uuid4()}"}

    status, donated = call(stack, "POST", "/api/payments/donate", None, body, key)
    replayed = call(stack, "POST", "/api/payments/donate", None, body, key)

    assert status == 201, donated
    created, payment = donated["data"]["pledge"], donated["data"]["payment"]
    assert replayed[1]["data"]["payment"]["paymentId"] == payment["paymentId"]
    assert (payment["status"], payment["amount"], payment["payableId"]) == (
        "pending",
        25_000,
        created["pledgeId"],
    )
    assert payment["checkoutUrl"].endswith(f"/api/payments/sandbox/checkout/{payment['paymentId']}")
    settle(stack, payment["paymentId"], "success")
    assert finished(stack, created["pledgeId"])["status"] == "SUCCEEDED"
    token = {"X-Pledge-Token": created["accessToken"]}
    status, read = call(stack, "GET", f"/api/pledges/{created['pledgeId']}", headers=token)
    assert (status, read["data"]["status"]) == (200, "completed")
    assert call(stack, "GET", f"/api/pledges/{created['pledgeId']}")[0] == 404
    status, listed = call(stack, "GET", f"/api/pledges/campaign/{campaign_id}")
    assert [(p["donorName"], "donorEmail" in p) for p in listed["data"]] == [(None, False)]


def sandbox_webhook(stack, payment_id: str, signal: str, amount: int) -> tuple[int, Any]:
    """What a provider that took the money anyway would send: a signed sandbox notification."""
    from payments.providers import signing

    found = stack.client("ssm").get_parameters_by_path(Path="/", Recursive=True, WithDecryption=True)
    [secret] = [
        p["Value"] for p in found["Parameters"] if p["Name"].endswith("/payments/sandbox-webhook-secret")
    ]
    body = json.dumps(
        {
            "id": f"evt_late_{payment_id}_{signal}",
            "type": f"payment.{signal}",
            "created": int(time.time()),
            "data": {"paymentId": payment_id, "amount": amount, "currency": "BDT"},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        signing.SIGNATURE_HEADER: signing.sign(secret, body, int(time.time())),
    }
    return http("POST", f"{stack.url}/api/payments/webhooks/sandbox", headers, body)


def test_a_failed_payment_fails_the_pledge_and_try_again_cannot_take_money(stack) -> None:
    campaign_id = active_campaign(stack, admin_token(stack))
    _, donor = register(stack, "Unlucky")
    pledge_id = pledge(stack, campaign_id, donor)["pledgeId"]

    # Given the donor's card is declined
    pay(stack, pledge_id, donor, outcome="failure")

    # Then the saga closes the pledge's payable and fails the pledge
    assert finished(stack, pledge_id)["status"] == "SUCCEEDED"
    assert entered(stack, pledge_id)[-4:] == [
        "PaymentFailed",
        "CompensatePayment",
        "FailPledge",
        "PledgeNotCompleted",
    ]
    failed = read_pledge(stack, pledge_id, donor)
    assert (failed["status"], failed["failureReason"]) == ("failed", "payment_failed")
    # And when the donor taps "try again", no new payment can take money for the failed pledge
    body = {"pledgeId": pledge_id, "provider": "sandbox", "method": "bkash"}
    status, refused = call(
        stack, "POST", "/api/payments/initiate", donor, body, {"Idempotency-Key": f"again-{pledge_id}"}
    )
    assert (status, refused["error"]["code"]) == (422, "PAYABLE_CLOSED")
    assert completed_sums(stack, campaign_id) == []


def test_a_payment_that_never_comes_times_out_and_the_open_payment_is_failed(stack) -> None:
    campaign_id = active_campaign(stack, admin_token(stack))
    user_id, donor = register(stack, "Slow")
    body = {
        "campaignId": campaign_id,
        "amount": 9_000,
        "currency": "BDT",
        "provider": "sandbox",
        "method": "bkash",
    }
    stack.pause("DonationsFunction")
    try:
        # Given a donation whose payment was opened but is never paid
        status, donated = call(
            stack, "POST", "/api/payments/donate", donor, body, {"Idempotency-Key": f"slow-{uuid.uuid4()}"}
        )
        assert status == 201, donated
        pledge_id, payment_id = donated["data"]["pledge"]["pledgeId"], donated["data"]["payment"]["paymentId"]
        saga_input = {
            "pledgeId": pledge_id,
            "campaignId": campaign_id,
            "amount": 9_000,
            "currency": "BDT",
            "donorId": user_id,
            "paymentTimeoutSeconds": 3,
            "correlationId": None,
        }
        stack.client("stepfunctions").start_execution(
            stateMachineArn=stack.physical_name("DonationSagaStateMachine"),
            name=pledge_id,
            input=json.dumps(saga_input),
        )
        # When the wait times out
        outcome = finished(stack, pledge_id)
    finally:
        stack.resume("DonationsFunction")

    # Then the open payment is failed, the pledge fails with payment_timeout, and nothing counts
    assert outcome["status"] == "SUCCEEDED"
    assert entered(stack, pledge_id)[-4:] == [
        "PaymentTimedOut",
        "CompensatePayment",
        "FailPledge",
        "PledgeNotCompleted",
    ]
    failed = read_pledge(stack, pledge_id, donor)
    assert (failed["status"], failed["failureReason"]) == ("failed", "payment_timeout")
    status, payment = call(stack, "GET", f"/api/payments/{payment_id}", donor)
    assert (status, payment["data"]["status"]) == (200, "failed")
    # And the checkout was cancelled at the provider: the donor can no longer pay it
    status, _ = call(
        stack, "POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"}
    )
    assert status == 409

    # When a provider that could not cancel takes the money anyway, thirty minutes later
    status, answer = sandbox_webhook(stack, payment_id, "completed", 9_000)
    assert (status, answer["data"]["applied"]) == (200, True), answer

    # Then the money goes back by itself and an admin sees the flag
    admin = admin_token(stack)

    def given_back() -> dict[str, Any] | None:
        data = call(stack, "GET", f"/api/payments/{payment_id}", admin)[1]["data"]
        return data if data["status"] == "refunded" else None

    refunded = eventually(given_back, timeout=60)
    assert (refunded["refundedAmount"], refunded["flagReason"]) == (9_000, "captured_after_failure")
    assert read_pledge(stack, pledge_id, donor)["status"] == "failed"
    # And the resumed relay's own start is refused as a duplicate: still one execution for the pledge
    executions = stack.client("stepfunctions").list_executions(
        stateMachineArn=stack.physical_name("DonationSagaStateMachine")
    )["executions"]
    assert [e["name"] for e in executions].count(pledge_id) == 1
    assert completed_sums(stack, campaign_id) == []


def test_a_campaign_closed_while_the_payment_was_made_refunds_it_and_fails_the_pledge(stack) -> None:
    admin = admin_token(stack)
    campaign_id = active_campaign(stack, admin)
    _, donor = register(stack, "Late")
    pledge_id = pledge(stack, campaign_id, donor)["pledgeId"]
    awaiting_payment(stack, pledge_id, donor)

    # Given the campaign closes while the donor is paying
    status, closed = call(
        stack, "PATCH", f"/api/campaigns/{campaign_id}/status", admin, {"status": "completed"}
    )
    assert status == 200, closed
    payment_id = pay(stack, pledge_id, donor)

    # Then the captured payment is refunded and the pledge fails with campaign_closed
    assert finished(stack, pledge_id)["status"] == "SUCCEEDED"
    assert entered(stack, pledge_id)[-4:] == [
        "CampaignClosed",
        "CompensatePayment",
        "FailPledge",
        "PledgeNotCompleted",
    ]
    failed = read_pledge(stack, pledge_id, donor)
    assert (failed["status"], failed["failureReason"]) == ("failed", "campaign_closed")
    status, payment = call(stack, "GET", f"/api/payments/{payment_id}", admin)
    assert (payment["data"]["status"], payment["data"]["refundedAmount"]) == ("refunded", 150_000)
    assert completed_sums(stack, campaign_id) == []


def test_a_pledge_for_a_campaign_that_does_not_take_donations_fails_at_once(stack) -> None:
    _, donor = register(stack, "Early")

    pledge_id = pledge(stack, f"no-such-{uuid.uuid4().hex[:8]}", donor)["pledgeId"]

    assert finished(stack, pledge_id)["status"] == "SUCCEEDED"
    assert entered(stack, pledge_id) == [
        "ValidateCampaign",
        "CampaignInvalid",
        "CompensatePayment",
        "FailPledge",
        "PledgeNotCompleted",
    ]
    failed = read_pledge(stack, pledge_id, donor)
    assert (failed["status"], failed["failureReason"]) == ("failed", "campaign_invalid")

    # And the pledge can no longer be paid, once payments has heard of it
    def answered() -> tuple[int, Any] | None:
        body = {"pledgeId": pledge_id, "provider": "sandbox", "method": "bkash"}
        answer = call(
            stack, "POST", "/api/payments/initiate", donor, body, {"Idempotency-Key": f"late-{pledge_id}"}
        )
        return answer if answer[0] != 404 else None

    status, refused = eventually(answered, timeout=20)
    assert (status, refused["error"]["code"]) == (422, "PAYABLE_CLOSED")


def test_the_last_resort_gives_the_money_back_before_it_reports(stack) -> None:
    campaign_id = active_campaign(stack, admin_token(stack))
    user_id, donor = register(stack, "Stranded")
    body = {
        "campaignId": campaign_id,
        "amount": 7_000,
        "currency": "BDT",
        "provider": "sandbox",
        "method": "bkash",
    }
    stack.pause("DonationsFunction")
    try:
        # Given a donation already paid at the provider
        status, donated = call(
            stack,
            "POST",
            "/api/payments/donate",
            donor,
            body,
            {"Idempotency-Key": f"stranded-{uuid.uuid4()}"},
        )
        assert status == 201, donated
        pledge_id, payment_id = donated["data"]["pledge"]["pledgeId"], donated["data"]["payment"]["paymentId"]
        settle(stack, payment_id, "completed")
        # When a saga step fails with an error nothing catches (a malformed task input: a defect)
        saga_input = {
            "pledgeId": pledge_id,
            "campaignId": campaign_id,
            "amount": "7000",
            "currency": "BDT",
            "donorId": user_id,
            "paymentTimeoutSeconds": 60,
            "correlationId": None,
        }
        stack.client("stepfunctions").start_execution(
            stateMachineArn=stack.physical_name("DonationSagaStateMachine"),
            name=pledge_id,
            input=json.dumps(saga_input),
        )
        outcome = finished(stack, pledge_id)
    finally:
        stack.resume("DonationsFunction")

    # Then the saga still fails for an admin to see, but only after the money went back
    assert outcome["status"] == "FAILED"
    assert entered(stack, pledge_id) == [
        "ValidateCampaign",
        "CompensateBeforeReport",
        "ReportSagaFailure",
        "SagaFailed",
    ]
    status, payment = call(stack, "GET", f"/api/payments/{payment_id}", donor)
    assert (payment["data"]["status"], payment["data"]["refundedAmount"]) == ("refunded", 7_000)
    # And no second payment can start for it (its refunded payment still holds the payable, now closed)
    again = {"pledgeId": pledge_id, "provider": "sandbox", "method": "bkash"}
    status, refused = call(
        stack, "POST", "/api/payments/initiate", donor, again, {"Idempotency-Key": f"again-{pledge_id}"}
    )
    assert (status, refused["error"]["code"]) == (409, "PAYMENT_ALREADY_ACTIVE")
    assert completed_sums(stack, campaign_id) == []
