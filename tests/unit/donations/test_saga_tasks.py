"""The saga's tasks on DonationsFunction: each step once, with its event; wrong states refused."""

from __future__ import annotations

from typing import Any

import pytest

from donations.service import PaymentDoesNotMatchPledge, PledgeNotSettled
from harambee.errors import InvalidTransition
from tests.unit.donations.conftest import CAMPAIGN, complete, create_pledge, pledge_item, task
from tests.unit.kernel import harness


def test_the_wait_marks_the_pledge_and_hands_its_token_to_payments_in_one_write(
    donations_table: str,
) -> None:
    # Given a pending pledge
    pledge_id = create_pledge().data["pledgeId"]
    version = pledge_item(donations_table, pledge_id)["version"]

    # When the saga's wait starts
    answer = task("donations.await-payment", pledgeId=pledge_id, taskToken="token-1")

    # Then the pledge is payment_initiated after one update, with both events
    stored = pledge_item(donations_table, pledge_id)
    assert (stored["status"], stored["version"]) == ("payment_initiated", version + 1)
    [initiated] = harness.outbox_events(donations_table, "pledge.payment_initiated")
    assert initiated["data"] == {
        "pledgeId": pledge_id,
        "campaignId": "c-1",
        "donorId": "u-donor",
        "amount": 150_000,
        "currency": "BDT",
    }
    [awaited] = harness.outbox_events(donations_table, "pledge.payment_awaited")
    assert awaited["data"] == {"pledgeId": pledge_id, "taskToken": "token-1"}
    assert answer == {"eventId": awaited["eventId"]}


def test_a_retried_wait_only_hands_over_its_new_token(donations_table: str) -> None:
    # Given a wait whose answer was lost (Step Functions retries the state with a new token)
    pledge_id = create_pledge().data["pledgeId"]
    task("donations.await-payment", pledgeId=pledge_id, taskToken="token-1")
    version = pledge_item(donations_table, pledge_id)["version"]

    # When the retry runs
    task("donations.await-payment", pledgeId=pledge_id, taskToken="token-2")

    # Then the pledge is unchanged, payment_initiated is announced once, and payments gets both tokens
    assert pledge_item(donations_table, pledge_id)["version"] == version
    assert len(harness.outbox_events(donations_table, "pledge.payment_initiated")) == 1
    tokens = [
        event["data"]["taskToken"]
        for event in harness.outbox_events(donations_table, "pledge.payment_awaited")
    ]
    assert sorted(tokens) == ["token-1", "token-2"]


@pytest.mark.parametrize("settled", ["completed", "failed"])
def test_a_settled_pledge_does_not_await_a_payment(donations_table: str, settled: str) -> None:
    # Given a pledge the saga already completed or failed
    pledge_id = create_pledge().data["pledgeId"]
    if settled == "completed":
        complete(pledge_id)
    else:
        task("donations.fail-pledge", pledgeId=pledge_id, reason="campaign_invalid")
    awaited_before = len(harness.outbox_events(donations_table, "pledge.payment_awaited"))

    # When a wait starts for it, Then it is refused and no token reaches payments
    with pytest.raises(PledgeNotSettled):
        task("donations.await-payment", pledgeId=pledge_id, taskToken="token-late")
    assert len(harness.outbox_events(donations_table, "pledge.payment_awaited")) == awaited_before
    assert pledge_item(donations_table, pledge_id)["status"] == settled


def test_given_a_completed_payment_when_confirmed_then_pledge_completed_carries_the_campaign(
    donations_table: str,
) -> None:
    pledge_id = create_pledge(donorName="Rahim").data["pledgeId"]

    complete(pledge_id, payment_id="pay-9")
    payment = {"paymentId": "pay-9", "status": "completed", "amount": 150_000, "currency": "BDT"}
    # A retried step (its first answer lost) changes nothing.
    task("donations.confirm-pledge", pledgeId=pledge_id, campaign=CAMPAIGN, payment=payment)

    stored = pledge_item(donations_table, pledge_id)
    assert (stored["status"], stored["paymentId"]) == ("completed", "pay-9")
    [event] = harness.outbox_events(donations_table, "pledge.completed")
    data = event["data"]
    assert (data["paymentId"], data["campaignTitle"], data["campaignOwnerId"], data["campaignType"]) == (
        "pay-9",
        "Clean water for Sylhet",
        "u-owner",
        "emergency",
    )
    assert (data["donorName"], data["amount"], data["currency"]) == ("Rahim", 150_000, "BDT")
    assert data["completedAt"]


@pytest.mark.parametrize(
    "payment",
    [
        {"paymentId": "p", "status": "completed", "amount": 1, "currency": "BDT"},
        {"paymentId": "p", "status": "completed", "amount": 150_000, "currency": "USD"},
        {"paymentId": "p", "status": "failed", "amount": 150_000, "currency": "BDT"},
        {"status": "completed", "amount": 150_000, "currency": "BDT"},
    ],
    ids=["amount", "currency", "status", "no-payment-id"],
)
def test_a_payment_that_does_not_settle_the_pledge_is_refused(
    donations_table: str, payment: dict[str, Any]
) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    task("donations.await-payment", pledgeId=pledge_id, taskToken="token-1")

    with pytest.raises(PaymentDoesNotMatchPledge):
        task("donations.confirm-pledge", pledgeId=pledge_id, campaign=CAMPAIGN, payment=payment)
    assert pledge_item(donations_table, pledge_id)["status"] == "payment_initiated"


def test_confirming_a_pledge_that_never_awaited_payment_is_an_invalid_transition(
    donations_table: str,
) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    payment = {"paymentId": "p", "status": "completed", "amount": 150_000, "currency": "BDT"}

    with pytest.raises(InvalidTransition):
        task("donations.confirm-pledge", pledgeId=pledge_id, campaign=CAMPAIGN, payment=payment)


@pytest.mark.parametrize("marked", [False, True], ids=["pending", "payment_initiated"])
def test_failing_a_pledge_records_the_reason_once(donations_table: str, marked: bool) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    if marked:
        task("donations.await-payment", pledgeId=pledge_id, taskToken="token-1")

    task("donations.fail-pledge", pledgeId=pledge_id, reason="payment_timeout")
    task("donations.fail-pledge", pledgeId=pledge_id, reason="payment_timeout")

    assert pledge_item(donations_table, pledge_id)["failureReason"] == "payment_timeout"
    [event] = harness.outbox_events(donations_table, "pledge.failed")
    assert (event["data"]["reason"], event["data"]["pledgeId"]) == ("payment_timeout", pledge_id)
    assert event["data"]["failedAt"]


def test_a_completed_pledge_cannot_be_failed_and_an_unknown_reason_is_refused(donations_table: str) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    complete(pledge_id)

    with pytest.raises(InvalidTransition):
        task("donations.fail-pledge", pledgeId=pledge_id, reason="payment_failed")
    with pytest.raises(ValueError, match="reason"):
        task("donations.fail-pledge", pledgeId=pledge_id, reason="bored")


def test_the_last_resort_is_announced_once_per_execution(donations_table: str) -> None:
    error = {"Error": "States.TaskFailed", "Cause": "boom"}

    task("donations.saga-failed", pledgeId="pl-1", executionName="pl-1", error=error)
    task("donations.saga-failed", pledgeId="pl-1", executionName="pl-1", error=error)

    [event] = harness.outbox_events(donations_table, "pledge.saga_failed")
    assert event["data"] == {
        "pledgeId": "pl-1",
        "executionName": "pl-1",
        "error": "States.TaskFailed",
        "cause": "boom",
    }


def test_completed_sums_count_completed_pledges_net_of_refunds_by_campaign_and_in_all(
    donations_table: str,
) -> None:
    from donations import service
    from tests.unit.donations.conftest import refunded

    first = create_pledge().data["pledgeId"]
    second = create_pledge(amount=50_000).data["pledgeId"]
    other = create_pledge(campaignId="c-2", amount=700, currency="USD").data["pledgeId"]
    create_pledge()  # pending: not counted
    complete(first)
    complete(second, payment_id="pay-2", amount=50_000)
    task("donations.await-payment", pledgeId=other, taskToken="token-1")
    usd = {"paymentId": "pay-3", "status": "completed", "amount": 700, "currency": "USD"}
    task("donations.confirm-pledge", pledgeId=other, campaign={**CAMPAIGN, "campaignId": "c-2"}, payment=usd)
    items, _ = service.refund_items(refunded(first, 30_000, 30_000))
    from harambee.outbox import transact_write

    transact_write(items)

    assert task("donations.completed-sums", campaignId="c-1") == [
        {"campaignId": "c-1", "currency": "BDT", "amount": 170_000, "count": 2}
    ]
    assert task("donations.completed-sums") == [
        {"campaignId": "c-1", "currency": "BDT", "amount": 170_000, "count": 2},
        {"campaignId": "c-2", "currency": "USD", "amount": 700, "count": 1},
    ]
