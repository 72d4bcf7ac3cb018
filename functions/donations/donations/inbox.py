"""Donations' inbox: refunds of a completed pledge's payment (`payment.refunded`, payableKind pledge)."""

from __future__ import annotations

from harambee.consumer import EventConsumer, already_processed, apply_once
from harambee.events import DomainEvent, InvalidEvent
from harambee.outbox import TransactionContended, WriteConflict

CONSUMER = "donations"
MAX_ATTEMPTS = 5


def payment_refunded(event: DomainEvent) -> None:
    """Record the refund on the pledge and emit `pledge.refunded`, exactly once per event."""
    from donations import repository, service

    if event.data.get("payableKind") != "pledge":
        return  # orders' and invoices' refunds are not ours
    if not event.data.get("pledgeId") or not isinstance(event.data.get("refundAmount"), int):
        raise InvalidEvent("payment.refunded without pledgeId or refundAmount", details=event.data)
    # The marker is checked first: a full refund's redelivery must not be judged against the new status.
    if already_processed(event, CONSUMER):
        return
    pledge_pk = repository.pledge_pk(str(event.data["pledgeId"]))
    for _ in range(MAX_ATTEMPTS):
        items, _after = service.refund_items(event)
        try:
            apply_once(event, CONSUMER, items)
        except WriteConflict as conflict:
            if conflict.failed_on(pledge_pk, repository.PLEDGE_SK):
                continue  # the pledge changed since it was read: decide again
            raise
        except TransactionContended:
            continue
        return
    raise TransactionContended("The pledge kept changing while its refund was recorded")


consumer = EventConsumer(CONSUMER, {"payment.refunded": payment_refunded})
