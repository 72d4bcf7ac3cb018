"""What one pledge adds to its campaign's totals, and how a new fact about it changes that.

The totals are the sum of what each pledge currently contributes. An event never adds its amount
blindly: it turns the pledge's stored share (or none) into a new one and the totals move by the
difference, so a refund delivered before its completion, or a redelivery, ends at the same totals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, Self

from harambee.events import InvalidEvent


@dataclass(frozen=True)
class Share:
    """A pledge's part of the totals: its net amount, and 1 while it still counts as a donation."""

    raised: int = 0
    donations: int = 0

    def minus(self, before: Share) -> Share:
        return Share(self.raised - before.raised, self.donations - before.donations)


NOTHING = Share()


def donor_of(data: dict[str, Any]) -> str:
    """Who gave, as query counts them: the user id, else the lower-cased email (hashed, never stored)."""
    if donor_id := data.get("donorId"):
        who = f"user:{donor_id}"
    elif isinstance(email := data.get("donorEmail"), str) and email.strip():
        who = f"email:{email.strip().lower()}"
    else:
        raise InvalidEvent("A pledge needs a donorId or a donorEmail to count its donor")
    return hashlib.sha256(who.encode()).hexdigest()[:32]


def _positive(data: dict[str, Any], field: str) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidEvent(f"`{field}` must be a positive integer of minor units", details={field: value})
    return value


@dataclass(frozen=True)
class PledgeTally:
    """The per-pledge record: what this pledge counts for; refunds only grow, in any arrival order."""

    pledge_id: str
    campaign_id: str
    donor: str
    amount: int
    refunded: int = 0
    fully_refunded: bool = False
    version: int = 0

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> Self:
        """From `pledge.completed`, or `pledge.refunded` (which carries the completed pledge too)."""
        pledge_id, campaign_id = data.get("pledgeId"), data.get("campaignId")
        if (
            not isinstance(pledge_id, str)
            or not pledge_id
            or not isinstance(campaign_id, str)
            or not campaign_id
        ):
            raise InvalidEvent("A pledge event needs its pledgeId and campaignId")
        amount = _positive(data, "amount")
        refunded = 0
        if "refundAmount" in data:
            # `refundedAmount` is the running total (order-proof); one refund alone is its own total.
            refunded = _positive(data, "refundedAmount" if "refundedAmount" in data else "refundAmount")
        return cls(
            pledge_id=pledge_id,
            campaign_id=campaign_id,
            donor=donor_of(data),
            amount=amount,
            refunded=min(refunded, amount),
            fully_refunded=bool(data.get("fullyRefunded")) or refunded >= amount,
        )

    def share(self) -> Share:
        return Share(self.amount - self.refunded, 0 if self.fully_refunded else 1)

    def merged_with(self, later: PledgeTally) -> PledgeTally:
        """This pledge after learning `later`'s facts (the stored donor and amount stay)."""
        return replace(
            self,
            refunded=max(self.refunded, min(later.refunded, self.amount)),
            fully_refunded=self.fully_refunded or later.fully_refunded,
        )


def share_of(tally: PledgeTally | None) -> Share:
    return tally.share() if tally is not None else NOTHING


def joined_or_left(active_before: int, change: int) -> int:
    """+1 when a donor's first counted donation arrives, -1 when their last one stops counting."""
    return int(active_before + change > 0) - int(active_before > 0)
