"""A payment and its state machine: pending → authorized → captured → completed → refunded.

Provider signals only ever move a payment forward. A signal for a state the payment has already
reached or passed (a late `authorized` after `completed`, a duplicate) is recorded and ignored;
`failed` ends any state before `completed`. One signal moves a failed payment: `captured` or
`completed` after we failed it (the provider took the money anyway, e.g. a payer confirming after the
saga gave up); it is recorded as it happened, and the service refunds and flags it. Refunds are
commands, tracked by amount.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.errors import Conflict, Unprocessable


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    COMPLETED = "completed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"


class Signal(StrEnum):
    """What a provider (by webhook, status check or reconciliation) says happened to a payment."""

    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    COMPLETED = "completed"
    FAILED = "failed"


class PayableKind(StrEnum):
    PLEDGE = "pledge"
    ORDER = "order"
    INVOICE = "invoice"


# How far along the success path each status is; a signal applies only when it moves this forward.
_PROGRESS: dict[PaymentStatus, int] = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.AUTHORIZED: 1,
    PaymentStatus.CAPTURED: 2,
    PaymentStatus.COMPLETED: 3,
    PaymentStatus.PARTIALLY_REFUNDED: 4,
    PaymentStatus.REFUNDED: 5,
}
_SIGNAL_TARGET: dict[Signal, PaymentStatus] = {
    Signal.AUTHORIZED: PaymentStatus.AUTHORIZED,
    Signal.CAPTURED: PaymentStatus.CAPTURED,
    Signal.COMPLETED: PaymentStatus.COMPLETED,
}
# Failure may end a payment only while no money has been settled.
FAILABLE = frozenset({PaymentStatus.PENDING, PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED})
# No money taken yet: what a compensation may still cancel and fail.
OPEN = frozenset({PaymentStatus.PENDING, PaymentStatus.AUTHORIZED})
# Captured money can be given back before the provider reports it settled.
REFUNDABLE = frozenset({PaymentStatus.CAPTURED, PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED})
# A provider took money for a payment we had already failed: recorded, then refunded and flagged.
CAPTURED_AFTER_FAILURE = "captured_after_failure"
TERMINAL = frozenset({PaymentStatus.FAILED, PaymentStatus.REFUNDED})


class Decision(BaseModel):
    """The state machine's answer to a signal: the status it leads to, or why it is ignored."""

    model_config = ConfigDict(frozen=True)

    applied: bool
    target: PaymentStatus
    reason: str | None = None


def decide(status: PaymentStatus, signal: Signal) -> Decision:
    """Where `signal` takes a payment in `status`. Never raises: unusable signals are ignored."""
    if status is PaymentStatus.FAILED:
        return _after_failure(signal)
    if signal is Signal.FAILED:
        if status in FAILABLE:
            return Decision(applied=True, target=PaymentStatus.FAILED)
        return Decision(applied=False, target=status, reason="payment_already_settled")
    target = _SIGNAL_TARGET[signal]
    if _PROGRESS[target] > _PROGRESS[status]:
        return Decision(applied=True, target=target)
    if target is status:
        return Decision(applied=False, target=status, reason="duplicate_signal")
    return Decision(applied=False, target=status, reason="stale_signal")


def _after_failure(signal: Signal) -> Decision:
    """Failed is final, except for money: a capture or completion means the provider took it anyway."""
    if signal in {Signal.CAPTURED, Signal.COMPLETED}:
        return Decision(applied=True, target=_SIGNAL_TARGET[signal], reason=CAPTURED_AFTER_FAILURE)
    return Decision(applied=False, target=PaymentStatus.FAILED, reason="payment_already_failed")


class PaymentNotRefundable(Unprocessable):
    code = "PAYMENT_NOT_REFUNDABLE"


class RefundExceedsCaptured(Unprocessable):
    code = "REFUND_EXCEEDS_CAPTURED"


class InvalidRefundAmount(Unprocessable):
    code = "INVALID_REFUND_AMOUNT"


class PaymentAlreadyActive(Conflict):
    code = "PAYMENT_ALREADY_ACTIVE"


_camel = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class Payable(BaseModel):
    """Something that can be paid, as its owning context announced it: amount and owner are theirs."""

    model_config = _camel

    kind: PayableKind
    payable_id: str = Field(min_length=1, max_length=128)
    amount: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    owner_id: str | None = None
    campaign_id: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.owner_id is None


class Payment(BaseModel):
    """One attempt to collect a payable's amount through one provider (amounts in minor units)."""

    model_config = _camel

    payment_id: str
    payable_kind: PayableKind
    payable_id: str
    owner_id: str | None
    amount: int = Field(gt=0)
    currency: str
    provider: str
    method: str
    status: PaymentStatus = PaymentStatus.PENDING
    provider_reference: str | None = None
    checkout_url: str | None = None
    captured_amount: int = 0
    refunded_amount: int = 0
    refund_reserved: int = 0
    flagged: bool = False
    flag_reason: str | None = None
    access_token_hash: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 0

    def on_signal(self, signal: Signal, now: datetime) -> tuple[Decision, Self]:
        """The decision for `signal` and the payment after it (unchanged when ignored)."""
        decision = decide(self.status, signal)
        if not decision.applied:
            return decision, self
        captured = self.amount if _PROGRESS.get(decision.target, 0) >= 2 else self.captured_amount
        return decision, self.model_copy(
            update={"status": decision.target, "captured_amount": captured, "updated_at": now}
        )

    @property
    def refundable_amount(self) -> int:
        """What may still be refunded: captured, less refunded and refunds under way."""
        return self.captured_amount - self.refunded_amount - self.refund_reserved

    def reserve_refund(self, amount: int | None, now: datetime) -> tuple[int, Self]:
        """Hold `amount` (None: all that is left) for a refund about to be sent to the provider."""
        if self.status not in REFUNDABLE:
            raise PaymentNotRefundable(
                f"A {self.status} payment cannot be refunded", details={"status": str(self.status)}
            )
        wanted = self.refundable_amount if amount is None else amount
        if wanted <= 0:
            raise InvalidRefundAmount("A refund must be a positive amount", details={"amount": wanted})
        if wanted > self.refundable_amount:
            raise RefundExceedsCaptured(
                "The refund is larger than what is left of the captured amount",
                details={
                    "requested": wanted,
                    "refundable": self.refundable_amount,
                    "currency": self.currency,
                },
            )
        return wanted, self.model_copy(
            update={"refund_reserved": self.refund_reserved + wanted, "updated_at": now}
        )

    def settle_refund(self, amount: int, now: datetime) -> Self:
        """The provider refunded `amount`: refunded in full, or partially refunded."""
        refunded = self.refunded_amount + amount
        status = (
            PaymentStatus.REFUNDED if refunded >= self.captured_amount else PaymentStatus.PARTIALLY_REFUNDED
        )
        return self.model_copy(
            update={
                "refunded_amount": refunded,
                "refund_reserved": self.refund_reserved - amount,
                "status": status,
                "updated_at": now,
            }
        )

    def release_refund(self, amount: int, now: datetime) -> Self:
        """The provider refused the refund: give the held amount back."""
        return self.model_copy(update={"refund_reserved": self.refund_reserved - amount, "updated_at": now})

    def flag(self, reason: str, now: datetime) -> Self:
        return self.model_copy(update={"flagged": True, "flag_reason": reason, "updated_at": now})

    def with_checkout(self, reference: str, checkout_url: str | None, now: datetime) -> Self:
        return self.model_copy(
            update={"provider_reference": reference, "checkout_url": checkout_url, "updated_at": now}
        )
