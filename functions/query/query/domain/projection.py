"""What one donation contributes to the read models, and how a new fact changes that contribution.

Every aggregate (campaign shards, donor counts, user and platform statistics) is the sum of the
contributions of the donations journalled in the table. An event never adds its amount blindly: it
turns the stored donation (or none) into a new one, and the aggregates move by the difference. That
is why events may arrive in any order, a refund may precede its completion, and a rebuild from the
journal gives the same numbers as the live projection.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from harambee.events import InvalidEvent
from harambee.money import InvalidAmount, exponent

# Shards per campaign and for the platform. A DynamoDB item takes about 1,000 writes a second; ten
# shards let one campaign take ten times that, and a totals read still touches at most 11 small
# items (under 4 KB: half a read unit). Changing it needs `query.rebuild`, which redistributes.
SHARD_COUNT = 10
ACTIVE_STATUS = "active"


def shard_of(key: str, shards: int = SHARD_COUNT) -> int:
    """A stable shard for `key` (a pledge or campaign id): the same on every delivery and rebuild."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def donor_key(donor_id: str | None, email: str | None) -> str:
    """Registered donors count by user id; anonymous ones by a hash of their address (never stored)."""
    if donor_id:
        return f"user:{donor_id}"
    if email and email.strip():
        digest = hashlib.sha256(f"harambee-donor:{email.strip().lower()}".encode()).hexdigest()
        return f"email:{digest[:40]}"
    raise InvalidEvent("A donation needs a donorId or a donorEmail to count its donor")


class Contribution(BaseModel):
    """A donation's share of the aggregates: its net amount and whether it still counts as a donation."""

    model_config = ConfigDict(frozen=True)

    net: int = 0
    active: int = 0

    def minus(self, before: Contribution) -> Contribution:
        return Contribution(net=self.net - before.net, active=self.active - before.active)


NOTHING = Contribution()


class Donation(BaseModel):
    """A completed pledge as the read models know it (the journal entry), refunds included."""

    model_config = ConfigDict(frozen=True)

    pledge_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    campaign_title: str | None = None
    donor_id: str | None = None
    donor_key: str
    donor_name: str | None = None
    is_anonymous: bool = False
    amount: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    message: str | None = None
    completed_at: AwareDatetime
    refunded_amount: int = Field(0, ge=0)
    fully_refunded: bool = False

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> Self:
        """From `pledge.completed` or `pledge.refunded` data (the latter carries the completed fields)."""
        try:
            is_anonymous = bool(data.get("isAnonymous", False))
            refunded = int(data.get("refundedAmount") or 0)
            amount = int(data["amount"])
            currency = str(data["currency"]).upper()
            exponent(currency)  # an ISO 4217 code with a minor unit, or the event is refused
            return cls(
                pledge_id=str(data["pledgeId"]),
                campaign_id=str(data["campaignId"]),
                campaign_title=data.get("campaignTitle"),
                donor_id=data.get("donorId") or None,
                donor_key=donor_key(data.get("donorId"), data.get("donorEmail")),
                # Hidden names are never stored, so no read path can leak them.
                donor_name=None if is_anonymous else data.get("donorName"),
                is_anonymous=is_anonymous,
                amount=amount,
                currency=currency,
                message=data.get("message"),
                completed_at=data.get("completedAt") or data.get("createdAt"),
                refunded_amount=min(refunded, amount),
                fully_refunded=bool(data.get("fullyRefunded")) or refunded >= amount,
            )
        except (KeyError, TypeError, ValueError, ValidationError, InvalidAmount) as error:
            raise InvalidEvent(
                "The event does not describe a completed pledge", details=str(error)
            ) from error

    @property
    def net_amount(self) -> int:
        return self.amount - self.refunded_amount

    @property
    def status(self) -> str:
        if self.fully_refunded:
            return "refunded"
        return "partially_refunded" if self.refunded_amount else "completed"

    def contribution(self) -> Contribution:
        return Contribution(net=self.net_amount, active=0 if self.fully_refunded else 1)

    def merged_with(self, later: Donation) -> Donation:
        """This donation after learning `later`'s facts: refunds only ever grow, in any arrival order."""
        return self.model_copy(
            update={
                "refunded_amount": max(self.refunded_amount, later.refunded_amount),
                "fully_refunded": self.fully_refunded or later.fully_refunded,
            }
        )


def contribution_of(donation: Donation | None) -> Contribution:
    return donation.contribution() if donation is not None else NOTHING


class Counted(BaseModel):
    """A distinct-count membership (a donor of a campaign, a donor of the platform): active donations."""

    model_config = ConfigDict(frozen=True)

    active: int = 0
    version: int = 0

    def after(self, change: int) -> Counted:
        return Counted(active=self.active + change, version=self.version + 1)

    def joined_or_left(self, change: int) -> int:
        """+1 when this change makes the member count, -1 when it stops counting, else 0."""
        before, after = self.active > 0, self.active + change > 0
        return int(after) - int(before)


class CurrencyStatistics(BaseModel):
    """One donor's giving in one currency."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    currency: str
    total_donated: int = 0
    donation_count: int = 0
    campaigns_supported: int = 0
    first_donation_at: datetime | None = None
    last_donation_at: datetime | None = None

    def after(self, change: Contribution, campaigns: int, at: datetime) -> CurrencyStatistics:
        return self.model_copy(
            update={
                "total_donated": self.total_donated + change.net,
                "donation_count": self.donation_count + change.active,
                "campaigns_supported": self.campaigns_supported + campaigns,
                "first_donation_at": min(self.first_donation_at or at, at),
                "last_donation_at": max(self.last_donation_at or at, at),
            }
        )


def progress_percentage(raised: int, goal: int | None) -> float:
    """Raised over goal in percent, two decimals (integer maths, so no float drift accumulates)."""
    if not goal or goal <= 0:
        return 0.0
    return (raised * 10_000 // goal) / 100
