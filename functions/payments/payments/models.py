"""Payments' request and response schemas (camelCase; requests refuse unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from payments.domain.payment import PayableKind, Payment, PaymentStatus

if TYPE_CHECKING:
    from payments.service import Initiated

_request = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
_response = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class InitiatePayment(BaseModel):
    """Names exactly one thing to pay; the amount and currency are that thing's, never the client's."""

    model_config = _request

    pledge_id: str | None = Field(None, min_length=1, max_length=128)
    order_id: str | None = Field(None, min_length=1, max_length=128)
    invoice_id: str | None = Field(None, min_length=1, max_length=128)
    provider: Literal["sandbox", "sslcommerz", "wave", "stripe"]
    method: str = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _exactly_one_payable(self) -> Self:
        named = [name for name in ("pledge_id", "order_id", "invoice_id") if getattr(self, name)]
        if len(named) != 1:
            raise ValueError("name exactly one of pledgeId, orderId, invoiceId")
        return self

    @property
    def payable(self) -> tuple[PayableKind, str]:
        if self.pledge_id:
            return PayableKind.PLEDGE, self.pledge_id
        if self.order_id:
            return PayableKind.ORDER, self.order_id
        assert self.invoice_id
        return PayableKind.INVOICE, self.invoice_id


class RefundRequest(BaseModel):
    model_config = _request

    amount: int | None = Field(None, gt=0, description="Minor units; omit to refund all that is left")
    reason: str = Field(min_length=3, max_length=500)


class SandboxCompletion(BaseModel):
    model_config = _request

    outcome: Literal["success", "completed", "failure"] = Field(
        description="success: authorized, captured, completed; completed: the one completion signal; "
        "failure: authorized, failed"
    )
    duplicates: int = Field(1, ge=1, le=50)
    shuffle: bool = False


class PaymentView(BaseModel):
    model_config = _response

    payment_id: str
    payable_kind: PayableKind
    payable_id: str
    owner_id: str | None
    amount: int
    currency: str
    provider: str
    method: str
    status: PaymentStatus
    provider_reference: str | None
    checkout_url: str | None
    captured_amount: int
    refunded_amount: int
    flagged: bool
    flag_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, payment: Payment) -> dict[str, Any]:
        view = cls.model_validate(
            payment.model_dump(exclude={"access_token_hash", "version", "refund_reserved"})
        )
        return view.model_dump(by_alias=True, mode="json")


def started_view(initiated: Initiated) -> dict[str, Any]:
    """What starting a payment answers: the payment, its checkout, and its status access token."""
    payment = initiated.payment
    return {
        **PaymentView.of(payment),
        "paymentReference": payment.provider_reference,
        "accessToken": initiated.access_token,
        # Only for providers whose client confirms the payment (Stripe); replays return it again.
        "clientSecret": initiated.client_secret,
    }


def status_view(payment: Payment) -> dict[str, Any]:
    return {
        "paymentId": payment.payment_id,
        "status": str(payment.status),
        "amount": payment.amount,
        "currency": payment.currency,
        "updatedAt": payment.updated_at.isoformat(),
    }
