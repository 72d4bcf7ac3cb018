"""Payments' use cases: initiate, read, apply provider signals (webhook, verify, reconciliation), refund.

Every state change is one TransactWriteItems: the payment (version-checked), its history entry, the
payable's active-payment marker when it changes, and the domain event in the outbox.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from harambee.auth import Caller
from harambee.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from harambee.events import new_event
from harambee.money import exponent
from harambee.observability import logger
from harambee.outbox import PendingWrite, TransactionContended, TransactItem, WriteConflict
from payments import repository
from payments.domain.payment import (
    CAPTURED_AFTER_FAILURE,
    FAILABLE,
    REFUNDABLE,
    Decision,
    InvalidRefundAmount,
    PayableKind,
    Payment,
    PaymentAlreadyActive,
    PaymentNotRefundable,
    PaymentStatus,
    Signal,
)
from payments.providers import provider
from payments.providers.base import PaymentProvider, ProviderNotConfigured, ProviderUnavailable, WebhookEvent

# Concurrent writers of one payment (webhooks racing a verify) re-read and decide again.
MAX_ATTEMPTS = 5


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"


class PayableNotFound(NotFound):
    code = "PAYABLE_NOT_FOUND"


class ProviderUnavailableForPayments(Unprocessable):
    code = "PROVIDER_NOT_CONFIGURED"


class MethodNotSupported(Unprocessable):
    code = "METHOD_NOT_SUPPORTED"


class PayableClosed(Unprocessable):
    """The donation saga gave this pledge up (failed or compensated): it can no longer be paid."""

    code = "PAYABLE_CLOSED"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _event_data(payment: Payment, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "paymentId": payment.payment_id,
        f"{payment.payable_kind}Id": payment.payable_id,
        "payableKind": str(payment.payable_kind),
        "ownerId": payment.owner_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "provider": payment.provider,
        "method": payment.method,
        "status": str(payment.status),
    }
    data.update(extra)
    return data


# ------------------------------------------------------------------ initiate


def initiate(
    kind: PayableKind,
    payable_id: str,
    provider_name: str,
    method: str,
    caller: Caller | None,
    *,
    vouched: bool = False,
) -> Initiated:
    """A pending payment for the payable's own amount; returns it and its status access token.

    `vouched`: the payable's owning context started it for its owner (an IAM-authorised task).
    """
    found = repository.find_payable(kind, payable_id)
    if found is None:
        raise PayableNotFound(
            f"No {kind} {payable_id!r} is known to payments yet",
            details={"kind": str(kind), "id": payable_id},
        )
    payable, active = found
    if payable.owner_id is not None and not vouched:
        if caller is None:
            raise Unauthorized("Sign in to pay for this")
        if not caller.can_access(payable.owner_id):
            raise Forbidden("Only its owner can pay for this")
    if active is not None:
        raise PaymentAlreadyActive(
            f"This {kind} already has a payment that has not failed", details={"paymentId": active}
        )
    try:
        chosen = provider(provider_name)
    except ProviderNotConfigured as error:
        raise ProviderUnavailableForPayments(error.message, details=error.details) from error
    if method not in chosen.methods:
        raise MethodNotSupported(
            f"{provider_name} does not take {method!r}", details={"methods": sorted(chosen.methods)}
        )
    exponent(payable.currency)
    now = utcnow()
    access_token = secrets.token_urlsafe(24)
    payment = Payment(
        payment_id=str(uuid.uuid4()),
        payable_kind=kind,
        payable_id=payable_id,
        owner_id=payable.owner_id,
        amount=payable.amount,
        currency=payable.currency,
        provider=provider_name,
        method=method,
        access_token_hash=_hash(access_token),
        created_at=now,
        updated_at=now,
    )
    # The history's opening entry is the payment's own createdAt (repository.opening_entry).
    write = PendingWrite()
    write.add(repository.put_new_payment(payment))
    write.add(repository.claim_payable(payment))
    write.emit(new_event("payment.initiated", _event_data(payment)))
    try:
        write.commit()
    except WriteConflict as conflict:
        if any("closedReason" in (reason.item or {}) for reason in conflict.reasons):
            raise PayableClosed(f"This {kind} can no longer be paid") from conflict
        raise PaymentAlreadyActive(f"This {kind} already has a payment that has not failed") from conflict
    opened, client_secret = _open_checkout(chosen, payment)
    return Initiated(payment=opened, access_token=access_token, client_secret=client_secret)


class Initiated(NamedTuple):
    payment: Payment
    access_token: str
    client_secret: str | None


def _open_checkout(chosen: PaymentProvider, payment: Payment) -> tuple[Payment, str | None]:
    """Ask the provider for a checkout; a provider failure leaves the payment pending for reconciliation."""
    try:
        checkout = chosen.create_checkout(payment)
    except ProviderUnavailable:
        logger.warning("Provider unavailable at checkout; reconciliation will settle the payment")
        return payment, None
    now = utcnow()
    after = payment.with_checkout(checkout.provider_reference, checkout.checkout_url, now)
    # No event and one item: a plain conditional put, not a transaction (half the write units).
    if not repository.save_payment(payment, after):
        # A webhook already moved the payment on; the checkout reference is only informative.
        return repository.find_payment(payment.payment_id) or after, checkout.client_secret
    return after.model_copy(update={"version": payment.version + 1}), checkout.client_secret


# ------------------------------------------------------------------ read


def get(payment_id: str) -> Payment:
    payment = repository.find_payment(payment_id)
    if payment is None:
        raise PaymentNotFound(f"No payment {payment_id!r}")
    return payment


def get_for(payment_id: str, caller: Caller) -> Payment:
    """The payment, for its owner or an admin (an anonymous payment: admins only)."""
    payment = get(payment_id)
    if caller.is_admin or (payment.owner_id is not None and payment.owner_id == caller.user_id):
        return payment
    raise PaymentNotFound(f"No payment {payment_id!r}")


def get_with_token(payment_id: str, token: str | None) -> Payment:
    """The payment, for whoever holds the access token initiate returned."""
    payment = repository.find_payment(payment_id)
    if payment is None or not token or payment.access_token_hash is None:
        raise PaymentNotFound(f"No payment {payment_id!r}")
    if not secrets.compare_digest(payment.access_token_hash, _hash(token)):
        raise PaymentNotFound(f"No payment {payment_id!r}")
    return payment


# ------------------------------------------------------------------ signals


def _entry(
    before: PaymentStatus | None, after: PaymentStatus, source: str, at: datetime, **extra: Any
) -> dict[str, Any]:
    return {"at": at.isoformat(), "from": before, "to": after, "source": source, **extra}


def apply_signal(
    payment_id: str,
    signal: Signal,
    source: str,
    *,
    receipt: Callable[[dict[str, Any]], TransactItem] | None = None,
) -> tuple[Decision, Payment]:
    """Move the payment as the state machine says, with history and event, retrying lost races.

    `receipt`: the webhook's receipt for this history entry, which then needs no item of its own.
    """
    for _ in range(MAX_ATTEMPTS):
        payment = get(payment_id)
        now = utcnow()
        decision, after = payment.on_signal(signal, now)
        entry = _entry(
            payment.status, decision.target, source, now, signal=str(signal), applied=decision.applied
        )
        if decision.reason:
            entry["reason"] = decision.reason
        late = decision.applied and decision.reason == CAPTURED_AFTER_FAILURE
        if late:
            # Money taken for a payment we gave up: flagged with the move; our inbox refunds it.
            after = after.flag(CAPTURED_AFTER_FAILURE, now)
            entry["flagged"] = CAPTURED_AFTER_FAILURE
        write = PendingWrite(
            [receipt(entry) if receipt is not None else repository.history_put(payment_id, entry, now)]
        )
        if decision.applied:
            write.add(repository.put_payment(payment, after))
            if after.status is PaymentStatus.FAILED:
                write.add(repository.release_payable(payment))
            write.emit(
                new_event(f"payment.{after.status}", _event_data(after, previousStatus=str(payment.status)))
            )
            if late:
                write.emit(new_event("payment.flagged", _event_data(after, reason=after.flag_reason)))
        try:
            write.commit()
        except WriteConflict as conflict:
            if conflict.failed_on(repository.payment_pk(payment_id), repository.PAYMENT_SK):
                continue
            raise
        except TransactionContended:
            continue
        return decision, after
    raise TransactionContended("The payment kept changing under this update; try again")


# Where each provider puts its signature (SSLCommerz signs inside the form body).
SIGNATURE_HEADERS = ("harambee-signature", "stripe-signature", "wave-signature")


def receive_webhook(provider_name: str, headers: Mapping[str, str], raw_body: bytes) -> dict[str, Any]:
    """Verify, store and apply one provider notification; a repeat of an event id changes nothing."""
    chosen = provider(provider_name)
    now = utcnow()
    event = chosen.verify_webhook(headers, raw_body, now)
    if repository.find_webhook(provider_name, event.event_id, event.payment_id) is not None:
        return {"received": True, "duplicate": True}
    signature = next((headers[name] for name in SIGNATURE_HEADERS if name in headers), None)

    def receipt(outcome: dict[str, Any], entry: dict[str, Any] | None = None) -> TransactItem:
        return repository.webhook_receipt_put(
            provider_name,
            event.event_id,
            event.payment_id,
            raw_body=raw_body,
            signature=signature,
            outcome=outcome,
            at=now,
            entry=entry,
        )

    if event.signal is None or event.payment_id is None:
        outcome = {"result": "noted", "paymentId": event.payment_id}
        return _commit_receipt(PendingWrite([receipt(outcome)]), outcome)
    payment = repository.find_payment(event.payment_id)
    if payment is None or not _matches(payment, event):
        outcome = {
            "result": "unknown_payment" if payment is None else "amount_mismatch",
            "paymentId": event.payment_id,
        }
        logger.warning("Webhook for no payment of ours recorded", extra=outcome)
        return _commit_receipt(PendingWrite([receipt(outcome)]), outcome)
    received = {"result": "received", "paymentId": event.payment_id, "signal": str(event.signal)}
    try:
        decision, after = apply_signal(
            event.payment_id,
            event.signal,
            f"webhook:{event.event_id}",
            receipt=lambda entry: receipt(received, entry),
        )
    except WriteConflict as conflict:
        if conflict.failed_on(*repository.webhook_key(provider_name, event.event_id, event.payment_id)):
            return {"received": True, "duplicate": True}
        raise
    return {
        "received": True,
        "duplicate": False,
        "applied": decision.applied,
        "status": str(after.status),
    }


def _matches(payment: Payment, event: WebhookEvent) -> bool:
    if event.amount is not None and event.amount != payment.amount:
        return False
    return event.currency is None or event.currency.upper() == payment.currency


def _commit_receipt(write: PendingWrite, outcome: dict[str, Any]) -> dict[str, Any]:
    try:
        write.commit()
    except WriteConflict:
        return {"received": True, "duplicate": True}
    return {"received": True, "duplicate": False, "applied": False, "result": outcome["result"]}


def verify(payment_id: str, caller: Caller) -> Payment:
    """Ask the provider where the payment stands and apply what it says."""
    payment = get_for(payment_id, caller)
    if payment.status not in FAILABLE:
        return payment  # settled or failed: nothing the provider says can change it
    signal = provider(payment.provider).fetch_status(payment)
    if signal is None:
        return payment
    return apply_signal(payment_id, signal, f"api:verify:{caller.user_id}")[1]


# ------------------------------------------------------------------ refunds


def refund(
    payment_id: str,
    amount: int | None,
    reason: str,
    actor: str,
    *,
    source: str | None = None,
    audit: dict[str, Any] | None = None,
    compensation: bool = False,
) -> tuple[Payment, dict[str, Any]]:
    """Refund all that is left (amount None) or part of it: hold, ask the provider, then settle.

    `actor` is who asked (an admin's user id, or a system name); `audit` goes into `payment.refunded`
    when a person asked, for the admin audit log (docs/events.md). `compensation`: money given back
    because its pledge or payment was given up (`compensation: true` in the event; nothing counted it).
    """
    payment = get(payment_id)
    now = utcnow()
    held, reserved = payment.reserve_refund(amount, now)
    refund_id = str(uuid.uuid4())
    record = {
        "refundId": refund_id,
        "amount": held,
        "currency": payment.currency,
        "reason": reason,
        "requestedBy": actor,
        "requestedAt": now.isoformat(),
        "status": "requested",
    }
    hold = PendingWrite(
        [repository.put_payment(payment, reserved), repository.refund_put(payment_id, record, new=True)]
    )
    try:
        hold.commit()
    except (WriteConflict, TransactionContended) as error:
        raise TransactionContended("The payment changed while the refund was prepared; try again") from error
    reserved = reserved.model_copy(update={"version": payment.version + 1})
    try:
        receipt = provider(payment.provider).refund(reserved, held, refund_id)
    except ProviderUnavailable:
        _with_fresh_payment(payment_id, lambda fresh: _release_write(fresh, held, record))
        raise
    record = {**record, "status": "succeeded", "providerReference": receipt.provider_reference}
    settled = _with_fresh_payment(
        payment_id,
        lambda fresh: _settle_write(
            fresh,
            held,
            record,
            reason,
            source=source or f"api:refund:{actor}",
            audit=audit,
            compensation=compensation,
        ),
    )
    return settled, record


def _settle_write(
    fresh: Payment,
    held: int,
    record: dict[str, Any],
    reason: str,
    *,
    source: str,
    audit: dict[str, Any] | None,
    compensation: bool = False,
) -> tuple[PendingWrite, Payment]:
    done = utcnow()
    settled = fresh.settle_refund(held, done)
    entry = _entry(fresh.status, settled.status, source, done, refundId=record["refundId"], amount=held)
    write = PendingWrite(
        [
            repository.put_payment(fresh, settled),
            repository.refund_put(fresh.payment_id, {**record, "settledAt": done.isoformat()}, new=False),
            repository.history_put(fresh.payment_id, {**entry, "reason": reason}, done),
        ]
    )
    data = _event_data(
        settled,
        refundId=record["refundId"],
        refundAmount=held,
        refundedAmount=settled.refunded_amount,
        reason=reason,
    )
    if compensation:
        data["compensation"] = True
    if audit is not None:
        data["audit"] = {
            **audit,
            "after": {"status": str(settled.status), "refundedAmount": settled.refunded_amount},
        }
    write.emit(new_event("payment.refunded", data))
    return write, settled


def _release_write(fresh: Payment, held: int, record: dict[str, Any]) -> tuple[PendingWrite, Payment]:
    released = fresh.release_refund(held, utcnow())
    write = PendingWrite(
        [
            repository.put_payment(fresh, released),
            repository.refund_put(fresh.payment_id, {**record, "status": "failed"}, new=False),
        ]
    )
    return write, released


def _with_fresh_payment(payment_id: str, build: Callable[[Payment], tuple[PendingWrite, Payment]]) -> Payment:
    """Once the provider has acted, its result must be recorded: re-read and retry lost races."""
    for _ in range(MAX_ATTEMPTS):
        fresh = get(payment_id)
        write, after = build(fresh)
        try:
            write.commit()
        except (WriteConflict, TransactionContended):
            continue
        return after.model_copy(update={"version": fresh.version + 1})
    raise TransactionContended("The payment kept changing while its refund was recorded")


# ------------------------------------------------------------------ reconciliation


def refund_remaining(payment_id: str, reason: str, actor: str, source: str) -> Payment | None:
    """Refund whatever is left of a payment's captured money; None when nothing is (already refunded,
    or another refund holds it): so the saga's compensation and the late-money net may race safely."""
    for _ in range(MAX_ATTEMPTS):
        payment = get(payment_id)
        if payment.status not in REFUNDABLE or payment.refundable_amount <= 0:
            return None
        try:
            return refund(payment_id, None, reason, actor, source=source, compensation=True)[0]
        except (InvalidRefundAmount, PaymentNotRefundable):
            return None
        except TransactionContended:
            continue  # the hold lost a race: read again (a hold that won leaves nothing to refund)
    raise TransactionContended("The payment kept changing while its refund was prepared")


LATE_MONEY_ACTOR = "system:payments"
COMPLETED_FOR_CLOSED_PLEDGE = "completed_for_closed_pledge"
# Flags that mean "money taken where nothing will follow": the payments inbox refunds on them.
LATE_MONEY = frozenset({CAPTURED_AFTER_FAILURE, COMPLETED_FOR_CLOSED_PLEDGE})


def check_completed_pledge(pledge_id: str, payment_id: str) -> Payment | None:
    """A pledge's payment completed: if its payable is closed (the pledge failed), flag it for refund.

    The saga's compensation refunds what it finds completed itself; this catches what it cannot see.
    One read per donation (the payable's closedReason); the payment is read only when it is closed.
    """
    if repository.payable_closed(PayableKind.PLEDGE, pledge_id) is None:
        return None
    payment = get(payment_id)
    if payment.status not in REFUNDABLE or payment.refundable_amount <= 0:
        return None  # the compensation already gave it back
    logger.warning("Payment completed for a failed pledge", extra={"paymentId": payment_id})
    return flag_once(payment_id, COMPLETED_FOR_CLOSED_PLEDGE, "late-money")


def give_back_late_money(payment_id: str, reason: str) -> Payment | None:
    """Refund what is left of a payment flagged for late money; None when nothing is (a repeat)."""
    return refund_remaining(
        payment_id,
        f"Money taken after the payment was given up: {reason}",
        LATE_MONEY_ACTOR,
        f"late-money:{reason}",
    )


def flag_once(payment_id: str, reason: str, source: str) -> Payment:
    """`flag` on a fresh read, retried when the payment changed meanwhile; a flagged payment stays as is."""
    for _ in range(MAX_ATTEMPTS):
        payment = get(payment_id)
        if payment.flagged and payment.flag_reason == reason:
            return payment
        try:
            return flag(payment, reason, source)
        except (WriteConflict, TransactionContended):
            continue
    raise TransactionContended("The payment kept changing while it was flagged")


def flag(payment: Payment, reason: str, source: str) -> Payment:
    """Mark a payment for an admin (once), with history and a payment.flagged event."""
    now = utcnow()
    flagged = payment.flag(reason, now)
    write = PendingWrite(
        [
            repository.put_payment(payment, flagged),
            repository.history_put(
                payment.payment_id, _entry(payment.status, payment.status, source, now, flagged=reason), now
            ),
        ]
    )
    write.emit(new_event("payment.flagged", _event_data(flagged, reason=reason)))
    write.commit()
    return flagged
