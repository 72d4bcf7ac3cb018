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


def test_the_create_and_search_events_make_a_draft_that_search_does_not_show(campaigns: str) -> None:
    import json

    from campaigns.handler import handler

    created = handler(load_event("campaigns/api_create_campaign"), FakeLambdaContext())
    assert created["statusCode"] == 201
    assert json.loads(created["body"])["data"]["status"] == "draft"
    searched = handler(load_event("campaigns/api_search_campaigns"), FakeLambdaContext())
    assert searched["statusCode"] == 200
    assert json.loads(searched["body"])["data"] == []  # drafts are never listed


def test_the_pledge_completed_event_counts_once(campaigns: str) -> None:
    from campaigns import repository
    from campaigns.handler import handler

    event = load_event("campaigns/sqs_pledge_completed")
    _active_campaign("c-3f6b2a10")
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert repository.find_totals("c-3f6b2a10").raised == 150_000


def test_a_full_refund_delivered_before_its_completion_leaves_nothing_counted(campaigns: str) -> None:
    from campaigns import repository
    from campaigns.handler import handler

    _active_campaign("c-3f6b2a10")
    refund, completion = (
        load_event("campaigns/sqs_pledge_refunded"),
        load_event("campaigns/sqs_pledge_completed"),
    )
    # Given the refund overtook the completion on the bus; each is also redelivered
    for event in (refund, refund, completion, completion):
        assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    totals = repository.find_totals("c-3f6b2a10")
    assert (totals.raised, totals.donations, totals.donors) == (0, 0, 0)


def test_the_schedule_events_run_their_jobs(campaigns: str) -> None:
    from campaigns import inbox
    from campaigns.handler import handler
    from harambee.events import DomainEvent

    birthday = datetime.now(UTC).date() + timedelta(days=30)
    born = (
        birthday.replace(year=1990)
        if (birthday.month, birthday.day) != (2, 29)
        else birthday.replace(year=1992)
    )
    inbox.birthdate_changed(
        DomainEvent(
            event_type="profile.birthdate_changed",
            source="harambee.profiles",
            data={"userId": "u-awa", "dateOfBirth": born.isoformat()},
        )
    )
    assert handler(load_event("campaigns/schedule_birthday_pots"), FakeLambdaContext()) == {
        "created": 1,
        "existing": 0,
    }
    _active_campaign("c-ended")
    assert handler(load_event("campaigns/schedule_expire_campaigns"), FakeLambdaContext()) == {
        "expired": 0,
        "closingSoon": 0,
    }
