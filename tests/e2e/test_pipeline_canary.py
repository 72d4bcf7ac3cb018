"""The pipeline canary state machine: Lambda tasks in process, a task-token wait, and its Catch path."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


def _finished(stack, execution_arn: str) -> dict | None:
    described = stack.client("stepfunctions").describe_execution(executionArn=execution_arn)
    return described if described["status"] != "RUNNING" else None


def _entered_states(stack, execution_arn: str) -> list[str]:
    history = stack.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history["events"]
        if "stateEnteredEventDetails" in event
    ]


def test_given_a_healthy_pipeline_when_the_canary_runs_then_it_succeeds(stack):
    machine = stack.physical_name("PipelineCanaryStateMachine")

    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=str(uuid.uuid4()), input=json.dumps({"timeoutSeconds": 25})
    )

    finished = eventually(lambda: _finished(stack, started["executionArn"]), timeout=40, interval=0.3)
    assert finished["status"] == "SUCCEEDED", finished
    assert "ReportFailure" not in _entered_states(stack, started["executionArn"])


def test_given_admin_stops_consuming_when_the_canary_times_out_then_it_reports_and_fails(stack):
    machine = stack.physical_name("PipelineCanaryStateMachine")
    stack.pause("AdminFunction")
    try:
        started = stack.client("stepfunctions").start_execution(
            stateMachineArn=machine, name=str(uuid.uuid4()), input=json.dumps({"timeoutSeconds": 2})
        )
        finished = eventually(lambda: _finished(stack, started["executionArn"]), timeout=30, interval=0.3)
    finally:
        stack.resume("AdminFunction")

    assert finished["status"] == "FAILED"
    assert "ReportFailure" in _entered_states(stack, started["executionArn"])


def test_given_the_canary_schedule_when_fired_then_an_execution_starts(stack):
    fired = stack.fire("PipelineCanaryStateMachine.EveryFifteenMinutes")

    assert fired.execution_arn
    described = stack.client("stepfunctions").describe_execution(executionArn=fired.execution_arn)
    assert json.loads(described["input"]) == {"timeoutSeconds": 25}
    eventually(lambda: _finished(stack, fired.execution_arn), timeout=40, interval=0.3)
