"""Resuming the donation saga: when a pledge's payment completes or fails, its waiting task token
gets the outcome (SendTaskSuccess, or SendTaskFailure with error `PaymentFailed`).

The token arrives as `pledge.payment_awaited` {pledgeId, taskToken} (emitted by the saga's wait
task in donations), the outcome as our own `payment.completed` / `payment.failed`. Either may come
first, so both are written to one item per pledge (`PAYABLE#pledge#<id>` / `SAGA`) with an update
that returns the item: whichever lands second sees both and resumes. Sending twice is harmless:
Step Functions refuses a token that is already closed, and that refusal is acknowledged.
"""

from __future__ import annotations

import json
import time
from typing import Any

from harambee import aws
from harambee.consumer import once_externally
from harambee.events import DomainEvent
from harambee.observability import logger
from harambee.settings import platform_settings
from payments.domain.payment import PayableKind
from payments.repository import payable_pk

CONSUMER = "payments-saga"
SAGA_SK = "SAGA"
# Longer than the saga's longest wait; then DynamoDB removes the item.
RETENTION_SECONDS = 7 * 24 * 3600
# Step Functions' answers for a token that can no longer be resumed: already resumed, timed out, gone.
_CLOSED_TOKEN = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


def payment_awaited(event: DomainEvent) -> None:
    item = _record(
        str(event.data["pledgeId"]), "taskToken = :token", {":token": {"S": str(event.data["taskToken"])}}
    )
    _resume_if_ready(event, item)


def payment_settled(event: DomainEvent) -> None:
    if event.data.get("payableKind") != "pledge":
        return  # orders and invoices have no saga waiting
    outcome = json.dumps(
        {key: event.data.get(key) for key in ("paymentId", "status", "amount", "currency", "provider")}
    )
    item = _record(str(event.data["pledgeId"]), "outcome = :outcome", {":outcome": {"S": outcome}})
    _resume_if_ready(event, item)


def _record(pledge_id: str, assignment: str, values: dict[str, Any]) -> dict[str, Any]:
    """Set one half on the pledge's saga item and return the whole item as it now is."""
    answer = aws.dynamodb().update_item(
        TableName=platform_settings().table_name,
        Key={"pk": {"S": payable_pk(PayableKind.PLEDGE, pledge_id)}, "sk": {"S": SAGA_SK}},
        UpdateExpression=f"SET {assignment}, #ttl = :ttl",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={**values, ":ttl": {"N": str(int(time.time()) + RETENTION_SECONDS)}},
        ReturnValues="ALL_NEW",
    )
    item: dict[str, Any] = answer["Attributes"]
    return item


def _resume_if_ready(event: DomainEvent, item: dict[str, Any]) -> None:
    token = item.get("taskToken", {}).get("S")
    outcome = item.get("outcome", {}).get("S")
    if token and outcome:
        once_externally(event, CONSUMER, lambda: _resume(token, json.loads(outcome)))


def _resume(token: str, outcome: dict[str, Any]) -> None:
    from botocore.exceptions import ClientError

    states = aws.stepfunctions()
    try:
        if outcome.get("status") == "completed":
            states.send_task_success(taskToken=token, output=json.dumps(outcome))
        else:
            states.send_task_failure(taskToken=token, error="PaymentFailed", cause=json.dumps(outcome))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _CLOSED_TOKEN:
            raise
        logger.info("Saga token already closed; acknowledged", extra={"paymentId": outcome.get("paymentId")})
