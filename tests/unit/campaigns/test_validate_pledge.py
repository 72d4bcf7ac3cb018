"""The donation saga's check: a campaign takes a pledge only while active, not past its end date,
in its own currency; every refusal is a `CampaignNotAcceptingDonations` with the reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from campaigns.domain.campaign import CampaignStatus
from tests.unit.campaigns.conftest import invoke, stored, today


def check(campaign_id: str, amount: Any = 10_000, currency: str = "BDT") -> Any:
    task = {
        "task": "campaigns.validate-pledge",
        "campaignId": campaign_id,
        "amount": amount,
        "currency": currency,
    }
    return invoke(task)


def test_an_active_campaign_in_the_pledges_currency_accepts_it(campaigns_table: str) -> None:
    campaign = stored()
    assert check(campaign.campaign_id) == {
        "campaignId": campaign.campaign_id,
        "title": "Surgery for Amina",
        "ownerId": "u-owner",
        "type": "medical",
        "currency": "BDT",
        "status": "active",
        "endDate": campaign.end_date.isoformat(),
    }


def test_the_last_day_still_accepts_and_the_currency_is_case_insensitive(campaigns_table: str) -> None:
    campaign = stored(end_date=today())
    assert check(campaign.campaign_id, currency="bdt")["campaignId"] == campaign.campaign_id


@pytest.mark.parametrize(
    ("changes", "currency", "reason"),
    [
        ({"status": CampaignStatus.DRAFT}, "BDT", "not_active"),
        ({"status": CampaignStatus.COMPLETED}, "BDT", "not_active"),
        ({"status": CampaignStatus.CANCELLED}, "BDT", "not_active"),
        ({"status": CampaignStatus.EXPIRED}, "BDT", "not_active"),
        # The expiry run has not happened yet, but the end date is behind us.
        ({"end_date": today() - timedelta(days=1)}, "BDT", "expired"),
        ({}, "USD", "currency_mismatch"),
        ({"deleted": True, "status": CampaignStatus.CANCELLED}, "BDT", "not_found"),
    ],
)
def test_given_a_campaign_that_cannot_take_the_pledge_then_the_task_fails_with_the_reason(
    campaigns_table: str, changes: dict[str, Any], currency: str, reason: str
) -> None:
    from campaigns.tasks import CampaignNotAcceptingDonations

    campaign = stored(**changes)
    with pytest.raises(CampaignNotAcceptingDonations) as refused:
        check(campaign.campaign_id, currency=currency)
    # Step Functions' Catch matches the Lambda errorType, which is this class name.
    assert type(refused.value).__name__ == "CampaignNotAcceptingDonations"
    assert str(refused.value) == reason


def test_an_unknown_campaign_is_not_found(campaigns_table: str) -> None:
    from campaigns.tasks import CampaignNotAcceptingDonations

    with pytest.raises(CampaignNotAcceptingDonations, match=r"^not_found$"):
        check("no-such-campaign")


@pytest.mark.parametrize("amount", [0, -5, "100", 12.5, None])
def test_a_malformed_task_input_is_a_defect_not_a_refusal(campaigns_table: str, amount: Any) -> None:
    from campaigns.tasks import InvalidPledgeCheck

    campaign = stored()
    with pytest.raises(InvalidPledgeCheck):
        check(campaign.campaign_id, amount=amount)
