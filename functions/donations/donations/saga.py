"""The donation saga's tasks on DonationsFunction (infra/statemachines/donation_saga.asl.json).

Each task takes the state's Payload, does one step through `service`, and answers a small JSON.
Exceptions surface to Step Functions by class name, for the machine's Retry and Catch.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from donations import repository, service
from donations.domain.pledge import CampaignSnapshot, FailureReason

_task = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class PledgeTask(BaseModel):
    model_config = _task

    pledge_id: str = Field(min_length=1)


class AwaitPaymentTask(PledgeTask):
    task_token: str = Field(min_length=1)


class ConfirmTask(PledgeTask):
    campaign: CampaignSnapshot
    payment: dict[str, Any]


class FailTask(PledgeTask):
    reason: FailureReason


class CaughtError(BaseModel):
    """What a Catch with ResultPath puts in the state: Step Functions' {Error, Cause}."""

    model_config = ConfigDict(extra="ignore")

    Error: str = "Unknown"
    Cause: str | None = None


class SagaFailedTask(PledgeTask):
    execution_name: str
    error: CaughtError = Field(default_factory=CaughtError)


class CompletedSumsTask(BaseModel):
    model_config = _task

    campaign_id: str | None = Field(None, min_length=1)


def await_payment(task: dict[str, Any]) -> dict[str, Any]:
    request = AwaitPaymentTask.model_validate(task)
    return {"eventId": service.await_payment(request.pledge_id, request.task_token)}


def confirm_pledge(task: dict[str, Any]) -> dict[str, Any]:
    request = ConfirmTask.model_validate(task)
    pledge = service.confirm(request.pledge_id, request.campaign, request.payment)
    return {"pledgeId": pledge.pledge_id, "status": str(pledge.status), "paymentId": pledge.payment_id}


def fail_pledge(task: dict[str, Any]) -> dict[str, Any]:
    request = FailTask.model_validate(task)
    pledge = service.fail(request.pledge_id, request.reason)
    return {"pledgeId": pledge.pledge_id, "status": str(pledge.status), "reason": str(request.reason)}


def report_saga_failure(task: dict[str, Any]) -> dict[str, Any]:
    request = SagaFailedTask.model_validate(task)
    event_id = service.saga_failed(
        request.pledge_id, request.execution_name, request.error.Error, request.error.Cause
    )
    return {"eventId": event_id}


def completed_sums(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Per campaign and currency: net amount and count of completed pledges (the totals check)."""
    return repository.completed_sums(CompletedSumsTask.model_validate(task).campaign_id)
