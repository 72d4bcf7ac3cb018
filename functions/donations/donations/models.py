"""Donations' request and response schemas (camelCase; requests refuse unknown fields)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from donations.domain.pledge import Pledge
from harambee.money import Money

# One @, no spaces, a dot in the domain, RFC 5321 lengths (identity's rule; email-validator would
# cost every cold start ~40 ms). The receipt email proves the rest.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def _valid_email(address: str) -> str:
    normalized = address.strip().lower()
    if len(normalized) > 254 or not _EMAIL.match(normalized):
        raise ValueError("not a valid email address")
    return normalized


EmailAddress = Annotated[str, AfterValidator(_valid_email)]

_request = ConfigDict(
    alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
)


class PledgeRequest(BaseModel):
    """A donation promise: amount in minor units of an ISO 4217 currency."""

    model_config = _request

    campaign_id: str = Field(min_length=1, max_length=64)
    amount: int = Field(description="Minor units (poisha, cents); positive")
    currency: str = Field(min_length=3, max_length=3)
    donor_email: EmailAddress | None = Field(None, description="Required when not signed in")
    donor_name: str | None = Field(None, min_length=1, max_length=200)
    is_anonymous: bool = Field(False, description="Hide the donor's name from the campaign's public list")
    message: str | None = Field(None, max_length=1000)
    locale: str | None = Field(
        None, min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
    )

    @field_validator("amount", mode="before")
    @classmethod
    def _integer_amount(cls, value: Any) -> Any:
        if isinstance(value, float | bool):
            raise ValueError("amount must be an integer number of minor units, never a float")
        return value

    def money(self) -> Money:
        """The amount as Money: a known currency, positive (422 otherwise)."""
        return Money(amount=self.amount, currency=self.currency).require_positive()


class DonateRequest(PledgeRequest):
    """WOLO's donate: a pledge and its payment in one call."""

    provider: Literal["sandbox", "sslcommerz", "wave", "stripe"]
    method: str = Field(min_length=1, max_length=32)


class PledgeView(BaseModel):
    """A pledge as its donor (or an admin) sees it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    pledge_id: str
    campaign_id: str
    donor_id: str | None
    donor_email: str
    donor_name: str | None
    is_anonymous: bool
    amount: int
    currency: str
    message: str | None
    status: str
    payment_id: str | None
    failure_reason: str | None
    refunded_amount: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, pledge: Pledge) -> dict[str, Any]:
        view = cls.model_validate(pledge.model_dump(exclude={"access_token_hash", "version"}))
        return view.model_dump(by_alias=True, mode="json")


def public_view(pledge: Pledge) -> dict[str, Any]:
    """A completed pledge on the campaign's public list: never the email, the name only if not hidden."""
    return {
        "pledgeId": pledge.pledge_id,
        "campaignId": pledge.campaign_id,
        "donorName": pledge.public_name,
        "isAnonymous": pledge.is_anonymous,
        "amount": pledge.amount,
        "currency": pledge.currency,
        "refundedAmount": pledge.refunded_amount,
        "message": pledge.message,
        "completedAt": pledge.completed_at.isoformat() if pledge.completed_at else None,
    }
