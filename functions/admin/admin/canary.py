"""The pipeline canary: a heartbeat goes out through the outbox and must come back through the inbox.

outbox row -> table stream -> relay -> event bus -> AdminSubscriptionRule -> AdminQueue -> consumer,
which resumes the waiting execution with SendTaskSuccess. A timeout or error fails the execution.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from admin.models import HEARTBEAT, CanaryFailed, EmitHeartbeat, Heartbeat, HeartbeatReturned
from harambee import aws
from harambee.consumer import once_externally
from harambee.events import DomainEvent, new_event
from harambee.observability import logger, metrics
from harambee.outbox import outbox_put, transact_write

CONSUMER = "admin"
# The task is already closed: the heartbeat came back before (a redelivery), or too late. Either
# way there is nothing left to resume, and retrying the message would never change that.
FINISHED_TASK_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def emit_heartbeat(task: dict[str, Any]) -> dict[str, Any]:
    """Task `canary.emit`: write the heartbeat to the admin table's outbox; the wait does the rest."""
    request = EmitHeartbeat.model_validate(task)
    heartbeat = Heartbeat(
        task_token=request.task_token, execution_name=request.execution_name, emitted_at=datetime.now(UTC)
    )
    event = new_event(HEARTBEAT, heartbeat.model_dump(mode="json", by_alias=True))
    transact_write([outbox_put(event)])
    logger.info(
        "Canary heartbeat emitted", extra={"eventId": event.event_id, "execution": request.execution_name}
    )
    return {"eventId": event.event_id}


def resume_canary(event: DomainEvent) -> None:
    """Consumer of platform.heartbeat: resume the waiting execution with the round-trip latency."""
    heartbeat = Heartbeat.model_validate(event.data)
    once_externally(event, CONSUMER, lambda: _send_task_success(event, heartbeat))


def _send_task_success(event: DomainEvent, heartbeat: Heartbeat) -> None:
    from botocore.exceptions import ClientError

    received_at = datetime.now(UTC)
    returned = HeartbeatReturned(
        event_id=event.event_id,
        execution_name=heartbeat.execution_name,
        emitted_at=heartbeat.emitted_at,
        received_at=received_at,
        latency_ms=max(0, int((received_at - heartbeat.emitted_at).total_seconds() * 1000)),
    )
    try:
        aws.stepfunctions().send_task_success(
            taskToken=heartbeat.task_token, output=returned.model_dump_json(by_alias=True)
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in FINISHED_TASK_ERRORS:
            raise
        logger.warning(
            "Canary task already finished", extra={"execution": heartbeat.execution_name, "code": code}
        )
        return
    metrics.add_metric(name="PipelineCanaryLatency", unit="Milliseconds", value=returned.latency_ms)
    logger.info(
        "Canary resumed", extra={"execution": heartbeat.execution_name, "latencyMs": returned.latency_ms}
    )


def report_failure(task: dict[str, Any]) -> dict[str, Any]:
    """Task `canary.failed`: the heartbeat did not come back in time (system notifications come later)."""
    failure = CanaryFailed.model_validate(task)
    logger.error(
        "Pipeline canary failed",
        extra={
            "execution": failure.execution_name,
            "error": failure.error.get("Error"),
            "cause": failure.error.get("Cause"),
        },
    )
    metrics.add_metric(name="PipelineCanaryFailed", unit="Count", value=1)
    return {"reported": True, "executionName": failure.execution_name}
