"""A campaign (CareForAll) or a birthday pot (WOLO) and its status machine.

draft → active (admin approval) → completed | cancelled | expired; a draft may also be cancelled.
completed, cancelled and expired are final. Reaching the goal does not change the status: the
campaign stays active (donors may keep giving) and `campaign.goal_reached` is emitted once.
A campaign accepts donations through the whole of its end date (UTC), even before the expiry run.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.errors import InvalidTransition, Unprocessable


class CampaignType(StrEnum):
    MEDICAL = "medical"
    EDUCATION = "education"
    EMERGENCY = "emergency"
    LONG_TERM = "long_term"
    BIRTHDAY = "birthday"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


# People create these through POST /api/campaigns; birthday campaigns only exist as pots.
CREATABLE_TYPES = frozenset(CampaignType) - {CampaignType.BIRTHDAY}

TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE, CampaignStatus.CANCELLED}),
    CampaignStatus.ACTIVE: frozenset(
        {CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.EXPIRED}
    ),
    CampaignStatus.COMPLETED: frozenset(),
    CampaignStatus.CANCELLED: frozenset(),
    CampaignStatus.EXPIRED: frozenset(),
}
FINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
# Statuses a public listing may show (drafts await approval; cancelled campaigns are not promoted).
LISTABLE_STATUSES = frozenset({CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.EXPIRED})


def check_transition(current: CampaignStatus, target: CampaignStatus) -> None:
    """Raise InvalidTransition (422) unless `current` may move to `target`."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"A campaign cannot go from {current} to {target}",
            details={"from": str(current), "to": str(target), "allowed": sorted(TRANSITIONS[current])},
        )


class Campaign(BaseModel):
    """The stored campaign document (camelCase JSON); `version` guards concurrent saves."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    campaign_id: str
    owner_id: str
    type: CampaignType
    status: CampaignStatus
    title: str
    description: str = ""
    goal_amount: int | None = Field(None, description="Minor units; pots may have no goal")
    currency: str
    start_date: date
    end_date: date
    beneficiary_name: str | None = None
    beneficiary_details: str | None = None
    image_url: str | None = None
    documents: list[str] = Field(default_factory=list)
    visibility: Visibility = Visibility.PUBLIC
    share_token: str | None = None
    auto_created: bool = False
    deleted: bool = False
    closing_soon_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @property
    def is_pot(self) -> bool:
        return self.type is CampaignType.BIRTHDAY

    @property
    def publicly_listable(self) -> bool:
        return not self.deleted and self.visibility is Visibility.PUBLIC and self.status in LISTABLE_STATUSES

    def expired_on(self, today: date) -> bool:
        """True once the end date is behind us (donations are accepted all through the end date)."""
        return self.end_date < today

    def snapshot(self) -> dict[str, object]:
        """The campaign as events carry it (docs/events.md), without the share token."""
        return {
            "campaignId": self.campaign_id,
            "ownerId": self.owner_id,
            "title": self.title,
            "type": str(self.type),
            "status": str(self.status),
            "goalAmount": self.goal_amount,
            "currency": self.currency,
            "startDate": self.start_date.isoformat(),
            "endDate": self.end_date.isoformat(),
            "visibility": str(self.visibility),
            "beneficiaryName": self.beneficiary_name,
            "autoCreated": self.auto_created,
            "deleted": self.deleted,
            "createdAt": self.created_at.isoformat(timespec="milliseconds"),
        }


# ------------------------------------------------------------------ who sees what


def visible_to(campaign: Campaign, viewer_id: str | None, *, is_admin: bool, share_token: str | None) -> bool:
    """Drafts, deleted campaigns and private pots: owner and admins; unlisted pots also the link holder."""
    if is_admin or (viewer_id is not None and viewer_id == campaign.owner_id and not campaign.deleted):
        return True
    if campaign.deleted or campaign.status is CampaignStatus.DRAFT:
        return False
    if campaign.visibility is Visibility.PRIVATE:
        return False
    if campaign.visibility is Visibility.UNLISTED:
        return share_token_matches(campaign, share_token)
    return True


def share_token_matches(campaign: Campaign, presented: str | None) -> bool:
    if not presented or not campaign.share_token:
        return False
    return hmac.compare_digest(presented.encode(), campaign.share_token.encode())


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


# ------------------------------------------------------------------ edits

CAMPAIGN_FIELDS = frozenset(
    {
        "title",
        "description",
        "goal_amount",
        "currency",
        "start_date",
        "end_date",
        "beneficiary_name",
        "beneficiary_details",
        "image_url",
        "documents",
    }
)
POT_FIELDS = frozenset({"title", "description", "goal_amount", "visibility", "image_url"})
# Once donors can give, the owner may only refine the story; money terms change only by an admin,
# and never the currency (pledges were made in it) or the start date (it has started).
_OWNER_EDITABLE = {
    CampaignStatus.DRAFT: CAMPAIGN_FIELDS,
    CampaignStatus.ACTIVE: frozenset({"description", "beneficiary_details", "image_url", "documents"}),
}
_ADMIN_EDITABLE = {
    CampaignStatus.DRAFT: CAMPAIGN_FIELDS,
    CampaignStatus.ACTIVE: CAMPAIGN_FIELDS - {"currency", "start_date"},
}


class FieldsNotEditable(Unprocessable):
    code = "FIELDS_NOT_EDITABLE"


def editable_fields(campaign: Campaign, *, by_admin: bool) -> frozenset[str]:
    if campaign.deleted:
        return frozenset()
    if campaign.is_pot:
        return POT_FIELDS if campaign.status is CampaignStatus.ACTIVE else frozenset()
    rules = _ADMIN_EDITABLE if by_admin else _OWNER_EDITABLE
    return rules.get(campaign.status, frozenset())


def apply_changes(
    campaign: Campaign, changes: dict[str, object], *, by_admin: bool, today: date, now: datetime
) -> Campaign:
    """The campaign with `changes` applied, or FieldsNotEditable / Unprocessable naming what is refused."""
    refused = sorted(set(changes) - editable_fields(campaign, by_admin=by_admin))
    if refused:
        raise FieldsNotEditable(
            f"These fields cannot change while the campaign is {campaign.status}",
            details={"fields": refused, "status": str(campaign.status)},
        )
    updated = campaign.model_copy(update={**changes, "updated_at": now})
    if updated.end_date <= updated.start_date:
        raise Unprocessable("endDate must be after startDate", details={"field": "endDate"})
    if "end_date" in changes and updated.status is CampaignStatus.ACTIVE and updated.end_date < today:
        raise Unprocessable("An active campaign cannot end in the past", details={"field": "endDate"})
    return updated


def changed_fields(before: Campaign, after: Campaign) -> list[str]:
    """camelCase names of the fields whose values differ (for `campaign.updated`)."""
    ignored = {"version", "updated_at", "share_token"}
    old, new = before.model_dump(), after.model_dump()
    return [to_camel(name) for name in new if name not in ignored and old.get(name) != new[name]]


class NotAccepting(StrEnum):
    """Why a campaign refuses a donation (the saga's `CampaignNotAcceptingDonations` message)."""

    NOT_FOUND = "not_found"
    NOT_ACTIVE = "not_active"
    EXPIRED = "expired"
    CURRENCY_MISMATCH = "currency_mismatch"


def refusal(campaign: Campaign | None, currency: str, today: date) -> NotAccepting | None:
    """Why `campaign` cannot take a donation in `currency` today, or None when it can."""
    if campaign is None or campaign.deleted:
        return NotAccepting.NOT_FOUND
    if campaign.status is not CampaignStatus.ACTIVE:
        return NotAccepting.NOT_ACTIVE
    if campaign.expired_on(today):
        return NotAccepting.EXPIRED
    if campaign.currency != currency.upper():
        return NotAccepting.CURRENCY_MISMATCH
    return None


def today_utc() -> date:
    return datetime.now(UTC).date()
