"""The donation saga's campaign check (Step Functions task `campaigns.validate-pledge`).

Step Functions matches Catch and Retry on the Lambda errorType, which is the exception's class
name: a refusal raises `CampaignNotAcceptingDonations` whose message is the bare reason
(not_found, not_active, expired, currency_mismatch), so the saga can both catch and explain it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaigns import repository
from campaigns.domain.campaign import NotAccepting, refusal, today_utc
from harambee.errors import BadRequest, Unprocessable
from harambee.observability import logger


class CampaignNotAcceptingDonations(Unprocessable):
    code = "CAMPAIGN_NOT_ACCEPTING_DONATIONS"

    def __init__(self, reason: NotAccepting, campaign_id: str) -> None:
        super().__init__(str(reason), details={"campaignId": campaign_id, "reason": str(reason)})
        self.reason = reason


class InvalidPledgeCheck(BadRequest):
    """The task's input is malformed: a defect in the state machine, not a refusal."""

    code = "INVALID_TASK_INPUT"


class PledgeCheck(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", alias_generator=None)

    campaign_id: str = Field(alias="campaignId", min_length=1, max_length=64)
    amount: int = Field(gt=0, strict=True)
    currency: str = Field(min_length=3, max_length=3)


def validate_pledge(event: dict[str, Any]) -> dict[str, Any]:
    """The campaign a pledge is for, when it takes donations now in the pledge's currency."""
    try:
        check = PledgeCheck.model_validate(event)
    except ValidationError as error:
        raise InvalidPledgeCheck("campaigns.validate-pledge needs campaignId, amount and currency") from error
    campaign = repository.find_campaign(check.campaign_id)
    reason = refusal(campaign, check.currency, today_utc())
    if reason is not None:
        logger.info("Campaign refuses the pledge", extra={"campaignId": check.campaign_id, "reason": reason})
        raise CampaignNotAcceptingDonations(reason, check.campaign_id)
    assert campaign is not None
    return {
        "campaignId": campaign.campaign_id,
        "title": campaign.title,
        "ownerId": campaign.owner_id,
        "type": str(campaign.type),
        "currency": campaign.currency,
        "status": str(campaign.status),
        "endDate": campaign.end_date.isoformat(),
    }
