"""Payments' inbox: the payables other contexts announce (amount, currency, owner are theirs), the
donation saga's waits with the outcomes that resume them (payments.saga), and the late-money net:
a payment completed for a failed pledge is flagged, and a payment flagged for late money is refunded
(our own `payment.flagged`). Both are idempotent by state: a repeat finds the flag raised and nothing
left to refund; a provider that cannot refund now fails the message, which SQS retries (then DLQ)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harambee.consumer import EventConsumer, apply_once
from harambee.events import DomainEvent, InvalidEvent
from harambee.money import Money
from payments import repository, saga, service
from payments.domain.payment import Payable, PayableKind, PaymentStatus

CONSUMER = "payments"

# eventType -> (payable kind, id field, owner field)
_ANNOUNCEMENTS = {
    "pledge.created": (PayableKind.PLEDGE, "pledgeId", "donorId"),
    "order.created": (PayableKind.ORDER, "orderId", "buyerId"),
    "invoice.issued": (PayableKind.INVOICE, "invoiceId", "customerId"),
}


def payable_of(event: DomainEvent) -> Payable:
    kind, id_field, owner_field = _ANNOUNCEMENTS[event.event_type]
    data: dict[str, Any] = event.data
    try:
        money = Money(amount=data["amount"], currency=data["currency"])
        return Payable(
            kind=kind,
            payable_id=str(data[id_field]),
            amount=money.amount,
            currency=money.currency,
            owner_id=data.get(owner_field) or None,
            campaign_id=data.get("campaignId"),
        )
    except (KeyError, ValidationError, ValueError) as error:
        raise InvalidEvent(f"{event.event_type} does not describe a payable", details=str(error)) from error


def record_payable(event: DomainEvent) -> None:
    apply_once(event, CONSUMER, [repository.payable_upsert(payable_of(event))])


def payment_completed(event: DomainEvent) -> None:
    if event.data.get("previousStatus") == str(PaymentStatus.FAILED):
        return  # taken after we failed it: no saga waits for it; its own flag refunds it
    saga.payment_settled(event)
    if event.data.get("payableKind") == str(PayableKind.PLEDGE):
        service.check_completed_pledge(str(event.data["pledgeId"]), str(event.data["paymentId"]))


def payment_flagged(event: DomainEvent) -> None:
    reason = event.data.get("reason")
    if reason in service.LATE_MONEY:
        service.give_back_late_money(str(event.data["paymentId"]), str(reason))


consumer = EventConsumer(
    CONSUMER,
    {
        **dict.fromkeys(_ANNOUNCEMENTS, record_payable),
        "pledge.payment_awaited": saga.payment_awaited,
        "payment.completed": payment_completed,
        "payment.failed": saga.payment_settled,
        "payment.flagged": payment_flagged,
    },
)
