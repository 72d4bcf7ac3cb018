"""Payments' inbox: the payables other contexts announce (amount, currency, owner are theirs), and
the donation saga's waits with the outcomes that resume them (payments.saga)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harambee.consumer import EventConsumer, apply_once
from harambee.events import DomainEvent, InvalidEvent
from harambee.money import Money
from payments import repository, saga
from payments.domain.payment import Payable, PayableKind

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


consumer = EventConsumer(
    CONSUMER,
    {
        **dict.fromkeys(_ANNOUNCEMENTS, record_payable),
        "pledge.payment_awaited": saga.payment_awaited,
        "payment.completed": saga.payment_settled,
        "payment.failed": saga.payment_settled,
    },
)
