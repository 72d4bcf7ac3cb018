"""A pledge's payment resumes the donation saga's wait, once, whatever order the two halves arrive in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harambee.events import DomainEvent
from tests.unit.kernel import harness
from tests.unit.payments.conftest import announce, invoke


class StepFunctions:
    """What Step Functions does with task tokens: the first answer closes one; later ones are refused."""

    def __init__(self) -> None:
        self.resumed: dict[str, tuple[str, dict[str, Any]]] = {}

    def _close(self, token: str, outcome: tuple[str, dict[str, Any]]) -> None:
        if token in self.resumed:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "closed"}}, "SendTaskSuccess")
        self.resumed[token] = outcome

    def send_task_success(self, taskToken: str, output: str) -> None:  # noqa: N803 - boto3 names
        self._close(taskToken, ("success", json.loads(output)))

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> None:  # noqa: N803
        self._close(taskToken, (error, json.loads(cause)))


@pytest.fixture
def states(payments_table: str, monkeypatch: pytest.MonkeyPatch) -> StepFunctions:
    from harambee import aws

    fake = StepFunctions()
    # payments.saga calls aws.stepfunctions() through the kernel module, so patching it there suffices
    monkeypatch.setattr(aws, "stepfunctions", lambda: fake)
    return fake


def awaited(pledge_id: str, token: str) -> DomainEvent:
    data = {"pledgeId": pledge_id, "taskToken": token}
    return DomainEvent(event_type="pledge.payment_awaited", source="harambee.donations", data=data)


def settled(pledge_id: str, status: str, kind: str = "pledge") -> DomainEvent:
    data = {
        "paymentId": f"pay-{pledge_id}",
        f"{kind}Id": pledge_id,
        "payableKind": kind,
        "amount": 150_000,
        "currency": "BDT",
        "provider": "sandbox",
        "status": status,
    }
    return DomainEvent(event_type=f"payment.{status}", source="harambee.payments", data=data)


def deliver(*events: DomainEvent) -> None:
    assert invoke(harness.deliveries(*events)) == {"batchItemFailures": []}


@pytest.mark.parametrize("token_first", [True, False], ids=["token-first", "outcome-first"])
def test_a_completed_payment_resumes_the_saga_once_in_either_order(
    states: StepFunctions, token_first: bool
) -> None:
    token, outcome = awaited("pl-1", "token-1"), settled("pl-1", "completed")
    deliver(*((token, outcome) if token_first else (outcome, token)))
    deliver(token, outcome)  # both redelivered
    assert states.resumed == {
        "token-1": (
            "success",
            {
                "paymentId": "pay-pl-1",
                "status": "completed",
                "amount": 150_000,
                "currency": "BDT",
                "provider": "sandbox",
            },
        )
    }


def test_a_failed_payment_fails_the_saga_wait(states: StepFunctions) -> None:
    deliver(awaited("pl-2", "token-2"), settled("pl-2", "failed"))
    error, cause = states.resumed["token-2"]
    assert (error, cause["status"]) == ("PaymentFailed", "failed")


def test_orders_and_invoices_have_no_saga_to_resume(states: StepFunctions) -> None:
    deliver(settled("order-1", "completed", kind="order"))
    assert states.resumed == {}


def test_a_wait_without_an_outcome_yet_resumes_nothing(states: StepFunctions) -> None:
    deliver(awaited("pl-3", "token-3"))
    assert states.resumed == {}
    assert announce("pledge.created", {"pledgeId": "pl-3", "amount": 100, "currency": "BDT"}) == {
        "batchItemFailures": []
    }
