"""A pledge and its lifecycle: pending → payment_initiated → completed → refunded, or failed.

The saga moves a pledge (mark initiated, confirm, fail); refunds of its payment arrive as events.
`transition` is the whole table; it is tested pair by pair (5 statuses by 4 signals).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.errors import InvalidTransition, Unprocessable


class PledgeStatus(StrEnum):
    PENDING = "pending"
    PAYMENT_INITIATED = "payment_initiated"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"


class PledgeSignal(StrEnum):
    """What happens to a pledge: the saga's steps, and a refund of its payment."""

    PAYMENT_INITIATED = "payment_initiated"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"


class FailureReason(StrEnum):
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_TIMEOUT = "payment_timeout"
    CAMPAIGN_CLOSED = "campaign_closed"
    CAMPAIGN_INVALID = "campaign_invalid"


# (status, signal) -> status; every pair not here is an invalid transition.
_TRANSITIONS: dict[tuple[PledgeStatus, PledgeSignal], PledgeStatus] = {
    (PledgeStatus.PENDING, PledgeSignal.PAYMENT_INITIATED): PledgeStatus.PAYMENT_INITIATED,
    (PledgeStatus.PENDING, PledgeSignal.FAILED): PledgeStatus.FAILED,
    (PledgeStatus.PAYMENT_INITIATED, PledgeSignal.COMPLETED): PledgeStatus.COMPLETED,
    (PledgeStatus.PAYMENT_INITIATED, PledgeSignal.FAILED): PledgeStatus.FAILED,
    # A partial refund keeps the pledge completed; `Pledge.refund` decides which.
    (PledgeStatus.COMPLETED, PledgeSignal.REFUNDED): PledgeStatus.REFUNDED,
}


def transition(status: PledgeStatus, signal: PledgeSignal) -> PledgeStatus:
    """The status `signal` leads to from `status`; InvalidTransition (422) when it may not happen."""
    target = _TRANSITIONS.get((status, signal))
    if target is None:
        raise InvalidTransition(
            f"A {status} pledge cannot become {signal}",
            details={"status": str(status), "signal": str(signal)},
        )
    return target


def repeats(status: PledgeStatus, signal: PledgeSignal) -> bool:
    """Whether the pledge already is where this saga step would take it (a retried step is a no-op)."""
    return signal is not PledgeSignal.REFUNDED and str(status) == str(signal)


class RefundExceedsPledge(Unprocessable):
    code = "REFUND_EXCEEDS_PLEDGE"


class Pledge(BaseModel):
    """One donation promise; amounts in minor units of `currency`."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    pledge_id: str
    campaign_id: str
    donor_id: str | None
    donor_email: str
    donor_name: str | None = None
    is_anonymous: bool = False
    amount: int = Field(gt=0)
    currency: str
    message: str | None = None
    locale: str | None = None
    status: PledgeStatus = PledgeStatus.PENDING
    payment_id: str | None = None
    campaign_title: str | None = None
    campaign_owner_id: str | None = None
    campaign_type: str | None = None
    failure_reason: FailureReason | None = None
    refunded_amount: int = 0
    access_token_hash: str | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    refunded_at: datetime | None = None
    version: int = 0

    @property
    def public_name(self) -> str | None:
        """The donor's name where others may see it: hidden when the donor asked."""
        return None if self.is_anonymous else self.donor_name

    def _moved(self, signal: PledgeSignal, at: datetime, **changes: Any) -> Self:
        return self.model_copy(
            update={"status": transition(self.status, signal), "updated_at": at, **changes}
        )

    def mark_payment_initiated(self, at: datetime) -> Self:
        return self._moved(PledgeSignal.PAYMENT_INITIATED, at)

    def complete(self, payment_id: str, campaign: CampaignSnapshot, at: datetime) -> Self:
        return self._moved(
            PledgeSignal.COMPLETED,
            at,
            payment_id=payment_id,
            campaign_title=campaign.title,
            campaign_owner_id=campaign.owner_id,
            campaign_type=campaign.type,
            completed_at=at,
        )

    def fail(self, reason: FailureReason, at: datetime) -> Self:
        return self._moved(PledgeSignal.FAILED, at, failure_reason=reason, failed_at=at)

    def refund(self, refund_amount: int, at: datetime) -> Self:
        """Record a refund of the pledge's payment; the pledge is `refunded` once all of it is back."""
        if refund_amount <= 0:
            raise RefundExceedsPledge("A refund must be positive", details={"refundAmount": refund_amount})
        target = transition(self.status, PledgeSignal.REFUNDED)
        refunded = self.refunded_amount + refund_amount
        if refunded > self.amount:
            raise RefundExceedsPledge(
                "Refunds would exceed the pledge",
                details={"amount": self.amount, "refundedAmount": refunded},
            )
        status = target if refunded == self.amount else self.status
        return self.model_copy(
            update={"status": status, "refunded_amount": refunded, "refunded_at": at, "updated_at": at}
        )

    @property
    def fully_refunded(self) -> bool:
        return self.refunded_amount >= self.amount

    def created_data(self) -> dict[str, Any]:
        """`pledge.created`'s data (docs/events.md); later pledge events extend it."""
        return {
            "pledgeId": self.pledge_id,
            "campaignId": self.campaign_id,
            "donorId": self.donor_id,
            "donorEmail": self.donor_email,
            "donorName": self.public_name,
            "isAnonymous": self.is_anonymous,
            "amount": self.amount,
            "currency": self.currency,
            "message": self.message,
            "locale": self.locale,
            "createdAt": self.created_at.isoformat(),
        }

    def completed_data(self) -> dict[str, Any]:
        return {
            **self.created_data(),
            "paymentId": self.payment_id,
            "campaignTitle": self.campaign_title,
            "campaignOwnerId": self.campaign_owner_id,
            "campaignType": self.campaign_type,
            "completedAt": self.completed_at.isoformat() if self.completed_at else None,
        }


class CampaignSnapshot(BaseModel):
    """What campaigns' `validate-pledge` task answered about the campaign (camelCase as sent)."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")

    campaign_id: str
    title: str
    owner_id: str | None = None
    type: str
    currency: str
    status: str | None = None
    end_date: str | None = None
