"""The admin context's pipeline canary, driven with the sample events in events/admin/.

The last test runs the whole loop in moto: a waiting execution's token goes out through the
outbox, stream, relay, bus and inbox, and the consumer resumes the execution.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from moto import mock_aws

from admin.handler import handler
from harambee import aws
from tests.support.events import FakeLambdaContext, load_event
from tests.unit.kernel import harness

HEARTBEATS = {"source": [{"prefix": "harambee."}], "detail-type": ["platform.heartbeat"]}


@pytest.fixture
def admin_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), harness.fresh_caches():
        name = harness.context_table("AdminTable")
        harness.use_context(monkeypatch, "admin", name)
        harness.create_bus()
        yield name


@pytest.fixture
def inbox(admin_table: str) -> str:
    return harness.subscribe("admin-inbox", HEARTBEATS)


def _outbox_rows(table: str) -> list[dict]:
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("OUTBOX#")]


def test_canary_emit_writes_a_heartbeat_to_the_outbox(admin_table: str) -> None:
    task = load_event("admin/task_canary_emit")

    result = handler(task, FakeLambdaContext())

    (row,) = _outbox_rows(admin_table)
    envelope = json.loads(row["envelope"]["S"])
    assert result == {"eventId": envelope["eventId"]}
    assert envelope["eventType"] == "platform.heartbeat"
    assert envelope["source"] == "harambee.admin"
    assert envelope["correlationId"] == task["correlationId"]
    assert envelope["data"]["taskToken"] == task["taskToken"]
    assert envelope["data"]["executionName"] == task["executionName"]
    assert datetime.fromisoformat(envelope["data"]["emittedAt"]).utcoffset() == timedelta(0)


def test_the_stream_record_of_the_outbox_is_relayed_to_the_bus(admin_table: str, inbox: str) -> None:
    record = load_event("admin/stream_outbox_insert")

    assert handler(record, FakeLambdaContext()) == {"batchItemFailures": []}

    (message,) = harness.receive(inbox)
    delivered = json.loads(message["Body"])
    assert delivered["detail-type"] == "platform.heartbeat"
    assert delivered["detail"] == json.loads(record["Records"][0]["dynamodb"]["NewImage"]["envelope"]["S"])


def test_a_heartbeat_for_a_task_that_is_already_closed_is_acknowledged(admin_table: str) -> None:
    # The sample's token belongs to no running execution: Step Functions answers InvalidToken.
    delivery = load_event("admin/sqs_heartbeat")

    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}
    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}
    event_id = json.loads(delivery["Records"][0]["body"])["detail"]["eventId"]
    assert harness.get_item(admin_table, f"PROCESSED#{event_id}", "admin") is not None


def test_canary_failed_reports_the_failure_as_a_metric(
    admin_table: str, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()

    result = handler(load_event("admin/task_canary_failed"), FakeLambdaContext())

    assert result == {"reported": True, "executionName": "canary-2026-11-22T09-00"}
    printed = capfd.readouterr().out
    emitted = [json.loads(line) for line in printed.splitlines() if '"_aws"' in line]
    assert [metric["PipelineCanaryFailed"] for metric in emitted if "PipelineCanaryFailed" in metric] == [
        [1.0]
    ]


def _waiting_execution() -> tuple[str, str]:
    """A running execution waiting on a task token, as EmitHeartbeat waits (the token comes by SQS here,
    because moto cannot run Lambda tasks in process)."""
    sqs = aws.client("sqs")
    tokens_url = sqs.create_queue(QueueName="canary-tokens")["QueueUrl"]
    definition = {
        "StartAt": "EmitHeartbeat",
        "States": {
            "EmitHeartbeat": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": tokens_url, "MessageBody": {"taskToken.$": "$$.Task.Token"}},
                "TimeoutSeconds": 60,
                "ResultPath": "$.heartbeat",
                "End": True,
            }
        },
    }
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="pipeline-canary",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/canary",
    )
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="canary-1", input="{}")
    for _ in range(100):
        messages = sqs.receive_message(QueueUrl=tokens_url, WaitTimeSeconds=0).get("Messages", [])
        if messages:
            return execution["executionArn"], json.loads(messages[0]["Body"])["taskToken"]
        time.sleep(0.05)
    raise AssertionError("the execution never asked for its heartbeat")


def _finished(execution_arn: str) -> dict:
    sfn = aws.client("stepfunctions")
    for _ in range(100):
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError("the execution is still waiting")


def test_the_heartbeat_round_trip_resumes_the_canary_with_its_latency(admin_table: str, inbox: str) -> None:
    execution_arn, token = _waiting_execution()
    task = {**load_event("admin/task_canary_emit"), "taskToken": token, "executionName": "canary-1"}

    # outbox -> stream -> relay -> bus -> admin inbox -> consumer
    handler(task, FakeLambdaContext())
    assert handler(harness.stream_event(admin_table), FakeLambdaContext()) == {"batchItemFailures": []}
    delivery = harness.sqs_event(harness.receive(inbox))
    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}

    finished = _finished(execution_arn)
    assert finished["status"] == "SUCCEEDED"
    heartbeat = json.loads(finished["output"])["heartbeat"]
    assert heartbeat["executionName"] == "canary-1"
    assert isinstance(heartbeat["latencyMs"], int)
    assert heartbeat["latencyMs"] >= 0

    # A redelivered heartbeat after the task closed has no second effect and is not an error.
    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}
