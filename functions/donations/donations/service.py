"""Donations' use cases: create and read pledges, the saga's steps, refunds of completed pledges.

Every change is one TransactWriteItems: the pledge (version-checked) and its event in the outbox.
A saga step that finds the pledge already where it would take it does nothing, so Step Functions
may retry any step after a lost response.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from donations import repository
from donations.domain.pledge import (
    CampaignSnapshot,
    FailureReason,
    Pledge,
    PledgeSignal,
    PledgeStatus,
    repeats,
)
from donations.models import PledgeRequest
from harambee.auth import Caller
from harambee.errors import Conflict, Forbidden, IdempotencyKeyReused, NotFound, Unprocessable
from harambee.events import DomainEvent, new_event
from harambee.observability import logger
from harambee.outbox import PendingWrite, TransactionContended, WriteConflict, outbox_put, transact_write
from harambee.pagination import Page, PageRequest

# Concurrent writers of one pledge (a saga step racing a refund) re-read and decide again.
MAX_ATTEMPTS = 5
_PLEDGE_IDS = uuid.UUID("5b0e3c1e-7f1a-4d8e-9a57-0c2f4f1d6a10")


class PledgeNotFound(NotFound):
    code = "PLEDGE_NOT_FOUND"


class DonorEmailRequired(Unprocessable):
    code = "DONOR_EMAIL_REQUIRED"


class PaymentDoesNotMatchPledge(Unprocessable):
    """The payment the saga was resumed with is not this pledge's (amount, currency or status)."""

    code = "PAYMENT_MISMATCH"


class PledgeNotSettled(Conflict):
    """A refund arrived before the saga confirmed the pledge; the message is retried later."""

    code = "PLEDGE_NOT_SETTLED"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pledge_id_for(idempotency_scope: str) -> str:
    """One pledge id per Idempotency-Key (scoped to caller and route): a retried request finds its pledge."""
    return str(uuid.uuid5(_PLEDGE_IDS, idempotency_scope))


# ------------------------------------------------------------------ create and read


class Created(NamedTuple):
    pledge: Pledge
    access_token: str | None


def create(request: PledgeRequest, caller: Caller | None, pledge_id: str) -> Created:
    """A pending pledge and `pledge.created`, in one transaction; anonymous donors get an access token."""
    money = request.money()
    donor_email = request.donor_email or (caller.email if caller else None)
    if not donor_email:
        raise DonorEmailRequired("An anonymous donor must give donorEmail", details={"field": "donorEmail"})
    access_token = secrets.token_urlsafe(24) if caller is None else None
    now = utcnow()
    pledge = Pledge(
        pledge_id=pledge_id,
        campaign_id=request.campaign_id,
        donor_id=caller.user_id if caller else None,
        donor_email=donor_email,
        donor_name=request.donor_name,
        is_anonymous=request.is_anonymous,
        amount=money.amount,
        currency=money.currency,
        message=request.message,
        locale=request.locale,
        access_token_hash=_hash(access_token) if access_token else None,
        created_at=now,
        updated_at=now,
    )
    write = PendingWrite([repository.put_new_pledge(pledge)])
    write.emit(new_event("pledge.created", pledge.created_data()))
    try:
        write.commit()
    except WriteConflict as conflict:
        if not conflict.failed_on(repository.pledge_pk(pledge_id), repository.PLEDGE_SK):
            raise
        return _resume(pledge, access_token)
    return Created(pledge, access_token)


def _resume(wanted: Pledge, access_token: str | None) -> Created:
    """The key's pledge exists (an earlier attempt died after writing it): the same request resumes it."""
    existing = repository.find_pledge(wanted.pledge_id)
    same = existing is not None and all(
        getattr(existing, name) == getattr(wanted, name)
        for name in ("campaign_id", "donor_id", "donor_email", "amount", "currency", "is_anonymous")
    )
    if existing is None or not same:
        raise IdempotencyKeyReused("This Idempotency-Key was used for another pledge")
    if access_token is None:
        return Created(existing, None)
    # The first token was never delivered; only a fresh one can be, so it replaces the old hash.
    rotated = existing.model_copy(update={"access_token_hash": _hash(access_token)})
    PendingWrite([repository.put_pledge(existing, rotated)]).commit()
    return Created(rotated.model_copy(update={"version": existing.version + 1}), access_token)


def get(pledge_id: str) -> Pledge:
    pledge = repository.find_pledge(pledge_id)
    if pledge is None:
        raise PledgeNotFound(f"No pledge {pledge_id!r}")
    return pledge


def get_for(pledge_id: str, caller: Caller | None, token: str | None) -> Pledge:
    """The pledge for its donor, an admin, or whoever holds its access token; 404 for everyone else."""
    pledge = repository.find_pledge(pledge_id)
    if pledge is not None:
        if caller is not None and pledge.donor_id is not None and caller.can_access(pledge.donor_id):
            return pledge
        if caller is not None and caller.is_admin:
            return pledge
        if (
            token
            and pledge.access_token_hash
            and secrets.compare_digest(pledge.access_token_hash, _hash(token))
        ):
            return pledge
    raise PledgeNotFound(f"No pledge {pledge_id!r}")


def pledges_of_user(user_id: str, caller: Caller, page: PageRequest) -> Page[Pledge]:
    if not caller.can_access(user_id):
        raise Forbidden("Only that user or an admin may list these pledges")
    pledges, cursor = repository.pledges_of_donor(user_id, page)
    return Page[Pledge](items=pledges, next=cursor, limit=page.limit)


def completed_of_campaign(campaign_id: str, page: PageRequest) -> Page[Pledge]:
    pledges, cursor = repository.completed_pledges_of_campaign(campaign_id, page)
    return Page[Pledge](items=pledges, next=cursor, limit=page.limit)


# ------------------------------------------------------------------ the saga's steps


def _change(
    pledge_id: str,
    signal: PledgeSignal,
    move: Callable[[Pledge, datetime], tuple[Pledge, DomainEvent]],
) -> Pledge:
    """Apply one saga step with its event, unless the pledge is already there; retry lost races."""
    for _ in range(MAX_ATTEMPTS):
        pledge = get(pledge_id)
        if repeats(pledge.status, signal):
            logger.info("Saga step already applied", extra={"pledgeId": pledge_id, "signal": str(signal)})
            return pledge
        after, event = move(pledge, utcnow())
        write = PendingWrite([repository.put_pledge(pledge, after)])
        write.emit(event)
        try:
            write.commit()
        except WriteConflict as conflict:
            if conflict.failed_on(repository.pledge_pk(pledge_id), repository.PLEDGE_SK):
                continue
            raise
        except TransactionContended:
            continue
        return after.model_copy(update={"version": pledge.version + 1})
    raise TransactionContended("The pledge kept changing under this step; try again")


def await_payment(pledge_id: str, task_token: str) -> str:
    """Mark the pledge payment_initiated and hand the wait's task token to payments, in one write.

    One transaction: the pledge (version-checked) with `pledge.payment_initiated` and
    `pledge.payment_awaited` {pledgeId, taskToken}. A retried step (a new token, the pledge already
    marked) only re-announces the token, on the condition that the pledge still awaits its payment.
    """
    awaited = new_event("pledge.payment_awaited", {"pledgeId": pledge_id, "taskToken": task_token})
    for _ in range(MAX_ATTEMPTS):
        pledge = get(pledge_id)
        if pledge.status is PledgeStatus.PAYMENT_INITIATED:
            return _announce_token(pledge_id, awaited)
        if pledge.status is not PledgeStatus.PENDING:
            raise PledgeNotSettled(
                f"A {pledge.status} pledge does not await a payment", details={"status": str(pledge.status)}
            )
        initiated = new_event(
            "pledge.payment_initiated",
            {
                "pledgeId": pledge.pledge_id,
                "campaignId": pledge.campaign_id,
                "donorId": pledge.donor_id,
                "amount": pledge.amount,
                "currency": pledge.currency,
            },
        )
        write = PendingWrite([repository.put_pledge(pledge, pledge.mark_payment_initiated(utcnow()))])
        write.emit(initiated)
        write.emit(awaited)
        try:
            write.commit()
        except WriteConflict as conflict:
            if conflict.failed_on(repository.pledge_pk(pledge_id), repository.PLEDGE_SK):
                continue
            raise
        except TransactionContended:
            continue
        return awaited.event_id
    raise TransactionContended("The pledge kept changing under this step; try again")


def _announce_token(pledge_id: str, awaited: DomainEvent) -> str:
    try:
        transact_write(
            [repository.pledge_in_status(pledge_id, PledgeStatus.PAYMENT_INITIATED), outbox_put(awaited)]
        )
    except WriteConflict as conflict:
        pledge = get(pledge_id)
        raise PledgeNotSettled(
            f"A {pledge.status} pledge does not await a payment", details={"status": str(pledge.status)}
        ) from conflict
    return awaited.event_id


def confirm(pledge_id: str, campaign: CampaignSnapshot, payment: dict[str, Any]) -> Pledge:
    """The payment completed: the pledge is completed, with the campaign's details for its readers."""

    def move(pledge: Pledge, now: datetime) -> tuple[Pledge, DomainEvent]:
        paid = (payment.get("status"), payment.get("amount"), payment.get("currency"))
        if paid != ("completed", pledge.amount, pledge.currency) or not payment.get("paymentId"):
            raise PaymentDoesNotMatchPledge(
                "The payment does not settle this pledge",
                details={"payment": payment, "amount": pledge.amount, "currency": pledge.currency},
            )
        completed = pledge.complete(str(payment["paymentId"]), campaign, now)
        return completed, new_event("pledge.completed", completed.completed_data())

    return _change(pledge_id, PledgeSignal.COMPLETED, move)


def fail(pledge_id: str, reason: FailureReason) -> Pledge:
    def move(pledge: Pledge, now: datetime) -> tuple[Pledge, DomainEvent]:
        failed = pledge.fail(reason, now)
        data = {**failed.created_data(), "reason": str(reason), "failedAt": now.isoformat()}
        return failed, new_event("pledge.failed", data)

    return _change(pledge_id, PledgeSignal.FAILED, move)


def saga_failed(pledge_id: str, execution_name: str, error: str, cause: str | None) -> str:
    """The saga's last resort: announce it for an admin, once per execution even if retried."""
    data = {"pledgeId": pledge_id, "executionName": execution_name, "error": error, "cause": cause}
    event = new_event("pledge.saga_failed", data).model_copy(
        update={"event_id": str(uuid.uuid5(_PLEDGE_IDS, f"saga_failed#{execution_name}"))}
    )
    try:
        transact_write([outbox_put(event)])
    except WriteConflict:
        logger.info("Saga failure already announced", extra={"execution": execution_name})
    logger.error("Donation saga failed", extra=data)
    return event.event_id


# ------------------------------------------------------------------ refunds after completion


def refund_items(event: DomainEvent) -> tuple[list[dict[str, Any]], Pledge | None]:
    """TransactItems recording `payment.refunded` on its completed pledge (none when not ours)."""
    data = event.data
    pledge = get(str(data["pledgeId"]))
    if data.get("compensation") and pledge.status is not PledgeStatus.COMPLETED:
        # Payments gave back money for a pledge given up (compensation, last resort, late money):
        # nothing counted it, and a pledge stranded by the last resort would never settle to retry.
        return [], None
    if pledge.status in (PledgeStatus.PENDING, PledgeStatus.PAYMENT_INITIATED):
        # The saga has not confirmed it yet (or is compensating): try again once it has decided.
        raise PledgeNotSettled(
            "The pledge is not settled yet; the refund will be retried",
            details={"pledgeId": pledge.pledge_id, "status": str(pledge.status)},
        )
    if pledge.status is PledgeStatus.FAILED:
        # The saga's own compensation refunded a payment whose pledge never completed: nothing counted it.
        return [], None
    now = utcnow()
    refund_amount = int(data["refundAmount"])
    after = pledge.refund(refund_amount, now)
    refunded = {
        **after.completed_data(),
        "refundAmount": refund_amount,
        "refundedAmount": after.refunded_amount,
        "fullyRefunded": after.fully_refunded,
        "reason": data.get("reason"),
        "refundedAt": now.isoformat(),
    }
    write = PendingWrite([repository.put_pledge(pledge, after)])
    write.emit(new_event("pledge.refunded", refunded))
    return write.items, after
