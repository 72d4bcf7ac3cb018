"""The campaigns sample events (events/campaigns) drive the function as Lambda would deliver them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from tests.support.events import FakeLambdaContext, load_event
from tests.unit.kernel import harness


@pytest.fixture
def campaigns(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("CampaignsTable")
        harness.use_context(monkeypatch, "campaigns", name)
        yield name


def _active_campaign(campaign_id: str, currency: str = "BDT") -> None:
    from campaigns import repository
    from campaigns.domain.campaign import Campaign, CampaignStatus, CampaignType
    from harambee.outbox import transact_write

    now = datetime.now(UTC)
    campaign = Campaign(
        campaign_id=campaign_id,
        owner_id="u-owner",
        type=CampaignType.MEDICAL,
        status=CampaignStatus.ACTIVE,
        title="Surgery for Amina",
        goal_amount=500_000,
        currency=currency,
        start_date=now.date(),
        end_date=now.date() + timedelta(days=30),
        created_at=now,
        updated_at=now,
    )
    transact_write(repository.put_new_campaign(campaign))


def test_the_validate_pledge_task_returns_the_campaign(campaigns: str) -> None:
    from campaigns.handler import handler

    event = load_event("campaigns/task_validate_pledge")
    _active_campaign(event["campaignId"])
    result = handler(event, FakeLambdaContext())
    assert (result["campaignId"], result["status"], result["currency"]) == (
        event["campaignId"],
        "active",
        "BDT",
    )


def test_the_validate_pledge_task_refuses_another_currency_by_class_name(campaigns: str) -> None:
    from campaigns.handler import handler

    event = load_event("campaigns/task_validate_pledge")
    _active_campaign(event["campaignId"], currency="XOF")
    with pytest.raises(Exception, match=r"^currency_mismatch$") as refused:
        handler(event, FakeLambdaContext())
    assert (type(refused.value).__name__, str(refused.value)) == (
        "CampaignNotAcceptingDonations",
        "currency_mismatch",
    )
