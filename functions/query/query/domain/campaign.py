"""A campaign as the read models know it: the latest snapshot the campaigns context published."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from harambee.events import InvalidEvent
from query.domain.projection import ACTIVE_STATUS

# Only these appear in the public ranking; a draft or cancelled campaign is not a "top" campaign.
RANKED_STATUSES = frozenset({"active", "completed", "expired"})


class CampaignSnapshot(BaseModel):
    """The fields of a campaign snapshot the totals show, stamped with the event's time for ordering."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str = Field(min_length=1)
    owner_id: str | None = None
    title: str | None = None
    type: str | None = None
    status: str | None = None
    visibility: str = "public"
    deleted: bool = False
    goal_amount: int | None = Field(None, ge=0)
    currency: str | None = None
    end_date: str | None = None
    snapshot_at: AwareDatetime

    @classmethod
    def from_event(cls, data: dict[str, Any], at: datetime) -> Self:
        try:
            return cls(
                campaign_id=str(data["campaignId"]),
                owner_id=data.get("ownerId"),
                title=data.get("title"),
                type=data.get("type"),
                status=data.get("status"),
                visibility=data.get("visibility") or "public",
                deleted=bool(data.get("deleted", False)),
                goal_amount=data.get("goalAmount"),
                currency=str(data["currency"]).upper() if data.get("currency") else None,
                end_date=data.get("endDate"),
                snapshot_at=at,
            )
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            raise InvalidEvent("The event does not describe a campaign", details=str(error)) from error

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE_STATUS


def is_ranked(status: str | None, visibility: str | None, deleted: bool = False) -> bool:
    return visibility == "public" and status in RANKED_STATUSES and not deleted


def is_public(visibility: str | None, status: str | None, deleted: bool) -> bool:
    """Whether anyone may read the campaign's donor list and totals (an unknown campaign is not)."""
    return visibility == "public" and status not in (None, "draft") and not deleted


def may_read(
    *,
    visibility: str | None,
    status: str | None,
    deleted: bool,
    owner_id: str | None,
    viewer_id: str | None,
    is_admin: bool,
) -> bool:
    """As the campaign page: a pot that is not public (unlisted or private), a draft or an unknown
    campaign is its owner's and admins'; a deleted one admins' only. A share link opens the pot
    page in campaigns, never its donor list here."""
    if is_admin or is_public(visibility, status, deleted):
        return True
    return not deleted and viewer_id is not None and owner_id is not None and viewer_id == owner_id
