"""The query routes' response schemas (camelCase), built from the read models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from query.domain.projection import CurrencyStatistics, Donation, progress_percentage
from query.repository import CampaignTotals, PlatformTotals

_response = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _attribute(item: dict[str, Any] | None, name: str) -> Any:
    value = (item or {}).get(name)
    if not value:
        return None
    if "N" in value:
        return int(value["N"])
    return value.get("S")


class TotalsView(BaseModel):
    model_config = _response

    campaign_id: str
    title: str | None
    type: str | None
    status: str | None
    currency: str | None
    goal_amount: int | None
    raised_amount: int
    donation_count: int
    donor_count: int
    progress_percentage: float
    last_donation_at: str | None
    goal_reached_at: str | None

    @classmethod
    def of(cls, totals: CampaignTotals) -> dict[str, Any]:
        campaign = totals.campaign
        goal = _attribute(campaign, "goalAmount")
        return cls(
            campaign_id=totals.campaign_id,
            title=_attribute(campaign, "title"),
            type=_attribute(campaign, "campaignType"),
            status=_attribute(campaign, "status"),
            currency=totals.currency,
            goal_amount=goal,
            raised_amount=totals.raised,
            donation_count=totals.donations,
            donor_count=totals.donors,
            progress_percentage=progress_percentage(totals.raised, goal),
            last_donation_at=totals.last_donation_at,
            goal_reached_at=_attribute(campaign, "goalReachedAt"),
        ).model_dump(mode="json", by_alias=True)


class DonationView(BaseModel):
    """One donation in a history: the donor's name only where they let it show; never an email."""

    model_config = _response

    pledge_id: str
    campaign_id: str
    campaign_title: str | None
    donor_name: str | None
    is_anonymous: bool
    amount: int
    refunded_amount: int
    net_amount: int
    currency: str
    message: str | None
    status: str
    donated_at: datetime

    @classmethod
    def of(cls, donation: Donation) -> dict[str, Any]:
        return cls(
            pledge_id=donation.pledge_id,
            campaign_id=donation.campaign_id,
            campaign_title=donation.campaign_title,
            donor_name=None if donation.is_anonymous else donation.donor_name,
            is_anonymous=donation.is_anonymous,
            amount=donation.amount,
            refunded_amount=donation.refunded_amount,
            net_amount=donation.net_amount,
            currency=donation.currency,
            message=donation.message,
            status=donation.status,
            donated_at=donation.completed_at,
        ).model_dump(mode="json", by_alias=True)


class RankedCampaignView(BaseModel):
    model_config = _response

    campaign_id: str
    title: str | None
    type: str | None
    status: str | None
    currency: str | None
    goal_amount: int | None
    raised_amount: int
    progress_percentage: float

    @classmethod
    def of(cls, item: dict[str, Any]) -> dict[str, Any]:
        raised = _attribute(item, "rankedRaised") or 0
        goal = _attribute(item, "goalAmount")
        return cls(
            campaign_id=_attribute(item, "campaignId"),
            title=_attribute(item, "title"),
            type=_attribute(item, "campaignType"),
            status=_attribute(item, "status"),
            currency=_attribute(item, "currency"),
            goal_amount=goal,
            raised_amount=raised,
            progress_percentage=progress_percentage(raised, goal),
        ).model_dump(mode="json", by_alias=True)


def statistics_view(statistics: dict[str, CurrencyStatistics]) -> list[dict[str, Any]]:
    return [statistics[currency].model_dump(mode="json", by_alias=True) for currency in sorted(statistics)]


def platform_view(totals: PlatformTotals) -> dict[str, Any]:
    return {
        "totalRaised": [{"currency": c, "amount": totals.raised[c]} for c in sorted(totals.raised)],
        "totalDonations": totals.donations,
        "totalDonors": totals.donors,
        "totalCampaigns": totals.campaigns,
        "activeCampaigns": totals.active_campaigns,
    }
