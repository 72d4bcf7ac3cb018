"""Tasks donations runs on payments for its pledges (IAM lets only DonationsFunction invoke them).

- `payments.initiate-pledge` (WOLO's donate, RequestResponse): donations owns the pledge, so the task
  carries the payable itself; it is recorded as the inbox would record `pledge.created`, then the
  payment starts for the donor. Domain errors come back as `{"error": ...}` for the caller's HTTP answer.
- `payments.compensate-pledge` (donation saga, on every path that fails a pledge and before its last
  resort): the pledge is given up, so its payable is closed to new payments; an open payment is
  cancelled at the provider (where it can be) and failed, unless the provider says it went through;
  money taken (captured or completed) is refunded. Repeats find nothing left to do. A provider that
  cannot be reached raises `ProviderUnavailable`, which the state machine retries for hours.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.errors import DomainError
from harambee.money import Money
from harambee.observability import logger
from payments import repository, service
from payments.domain.payment import OPEN, REFUNDABLE, Payable, PayableKind, PaymentStatus, Signal
from payments.models import started_view
from payments.providers import provider

COMPENSATION_ACTOR = "system:donation-saga"
_task = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class PledgePayable(BaseModel):
    model_config = _task

    pledge_id: str = Field(min_length=1, max_length=128)
    campaign_id: str | None = None
    donor_id: str | None = None
    amount: int
    currency: str


class InitiatePledgeTask(BaseModel):
    model_config = _task

    pledge: PledgePayable
    provider: str = Field(min_length=1, max_length=32)
    method: str = Field(min_length=1, max_length=32)


class CompensatePledgeTask(BaseModel):
    model_config = _task

    pledge_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=64)


class PayableMismatch(DomainError):
    status = 422
    code = "PAYABLE_MISMATCH"


def initiate_pledge(task: dict[str, Any]) -> dict[str, Any]:
    request = InitiatePledgeTask.model_validate(task)
    try:
        money = Money(amount=request.pledge.amount, currency=request.pledge.currency).require_positive()
        payable = Payable(
            kind=PayableKind.PLEDGE,
            payable_id=request.pledge.pledge_id,
            amount=money.amount,
            currency=money.currency,
            owner_id=request.pledge.donor_id,
            campaign_id=request.pledge.campaign_id,
        )
        if not repository.record_payable(payable):
            raise PayableMismatch("This pledge is known with another amount or currency")
        initiated = service.initiate(
            PayableKind.PLEDGE, payable.payable_id, request.provider, request.method, None, vouched=True
        )
    except DomainError as error:
        refused = {
            "status": error.status,
            "code": error.code,
            "message": error.message,
            "details": error.details,
        }
        return {"error": refused}
    return {"payment": started_view(initiated)}


def compensate_pledge(task: dict[str, Any]) -> dict[str, Any]:
    request = CompensatePledgeTask.model_validate(task)
    pledge_id = request.pledge_id
    repository.close_payable(PayableKind.PLEDGE, pledge_id, request.reason)
    found = repository.find_payable(PayableKind.PLEDGE, pledge_id)
    if found is None or found[1] is None:
        return {"pledgeId": pledge_id, "result": "no_payment"}
    payment = service.get(found[1])
    source = f"saga:compensate:{request.reason}"
    result = "nothing_to_do"
    if payment.status in OPEN:
        # Cancel first, so a payer still holding the checkout cannot pay later; the provider's answer
        # also says whether the money was taken before it could cancel.
        signal = provider(payment.provider).cancel(payment)
        if signal is not None and signal is not Signal.FAILED:
            payment = service.apply_signal(payment.payment_id, signal, source)[1]
    if payment.status in OPEN:
        # A completion racing this failure is not lost: the payment is then settled, refunded below.
        payment = service.apply_signal(payment.payment_id, Signal.FAILED, source)[1]
        if payment.status is PaymentStatus.FAILED:
            result = "failed"
    if payment.status in REFUNDABLE:
        refunded = service.refund_remaining(
            payment.payment_id, f"Donation not completed: {request.reason}", COMPENSATION_ACTOR, source
        )
        if refunded is not None:
            payment, result = refunded, "refunded"
    logger.info("Pledge payment compensated", extra={"pledgeId": pledge_id, "result": result})
    return {
        "pledgeId": pledge_id,
        "paymentId": payment.payment_id,
        "result": result,
        "status": str(payment.status),
    }
