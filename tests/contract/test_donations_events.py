"""The donations sample events (events/donations/) drive DonationsFunction as `sam local invoke -e` would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from tests.support.events import FakeLambdaContext, load_event
from tests.unit.kernel import harness

PLEDGE_ID = "pl-sample-1"


@pytest.fixture
def donations(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from donations import settings

    with mock_aws(), harness.fresh_caches():
        table = harness.context_table("DonationsTable")
        harness.context_table("IdempotencyTable", harness.IDEMPOTENCY_TABLE)
        harness.use_context(monkeypatch, "donations", table)
        settings.donations_settings.cache_clear()
        yield table
        settings.donations_settings.cache_clear()


def _invoke(event: dict[str, Any]) -> Any:
    from donations.handler import handler
    from tests.unit.payments.conftest import ensure_event_loop

    ensure_event_loop()
    return handler(event, FakeLambdaContext())


def _completed_pledge() -> None:
    """The sample pledge, completed by the saga's own service calls."""
    from donations import service
    from donations.domain.pledge import CampaignSnapshot, Pledge
    from donations.repository import put_new_pledge
    from harambee.outbox import transact_write

    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    pledge = Pledge(
        pledge_id=PLEDGE_ID,
        campaign_id="c-sample-1",
        donor_id=None,
        donor_email="amina@example.org",
        amount=150_000,
        currency="BDT",
        created_at=now,
        updated_at=now,
    )
    transact_write([put_new_pledge(pledge)])
    service.await_payment(PLEDGE_ID, "token-sample")
    campaign = CampaignSnapshot(
        campaign_id="c-sample-1", title="Water", owner_id="u-o", type="medical", currency="BDT"
    )
    payment = {"paymentId": "pay-sample-1", "status": "completed", "amount": 150_000, "currency": "BDT"}
    service.confirm(PLEDGE_ID, campaign, payment)


def test_the_anonymous_pledge_event_creates_a_pledge_with_its_event(donations: str) -> None:
    response = _invoke(load_event("donations/api_create_pledge_anonymous"))

    body = json.loads(response["body"])
    assert response["statusCode"] == 201, body
    assert (body["data"]["status"], body["data"]["donorId"]) == ("pending", None)
    assert body["data"]["accessToken"]
    [created] = harness.outbox_events(donations, "pledge.created")
    assert (created["data"]["donorName"], created["data"]["isAnonymous"]) == (None, True)


def test_the_saga_and_refund_events_move_the_sample_pledge(donations: str) -> None:
    from donations import service

    _completed_pledge()

    assert _invoke(load_event("donations/sqs_payment_refunded")) == {"batchItemFailures": []}
    assert _invoke(load_event("donations/task_completed_sums")) == [
        {"campaignId": "c-sample-1", "currency": "BDT", "amount": 100_000, "count": 1}
    ]
    listed = json.loads(_invoke(load_event("donations/api_campaign_pledges"))["body"])
    assert [(p["pledgeId"], p["refundedAmount"]) for p in listed["data"]] == [(PLEDGE_ID, 50_000)]
    assert service.get(PLEDGE_ID).refunded_amount == 50_000


def test_the_await_task_event_refuses_a_completed_pledge(donations: str) -> None:
    from donations.service import PledgeNotSettled

    _completed_pledge()

    with pytest.raises(PledgeNotSettled):
        _invoke(load_event("donations/task_await_payment"))
    assert [
        event["data"]["taskToken"] for event in harness.outbox_events(donations, "pledge.payment_awaited")
    ] == ["token-sample"]
