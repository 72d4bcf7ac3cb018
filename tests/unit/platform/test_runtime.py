"""The one Lambda entry: it tells triggers apart by shape and dispatches to the right code."""

from __future__ import annotations

from typing import Any

import pytest

from harambee.runtime import LambdaEntry, Trigger, UnknownJob, classify
from tests.support.events import FakeLambdaContext, api_event


def test_each_trigger_is_recognised_by_its_shape() -> None:
    assert classify(api_event("GET", "/api/x/health")) is Trigger.HTTP
    assert classify({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}) is Trigger.QUEUE
    assert classify({"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {}}]}) is Trigger.STREAM
    assert classify({"schedule": "expire-campaigns"}) is Trigger.SCHEDULE
    assert classify({"task": "pledge.validate", "pledgeId": "p-1"}) is Trigger.TASK
    assert classify({"Records": []}) is Trigger.UNKNOWN
    assert classify(["not", "an", "event"]) is Trigger.UNKNOWN


def test_schedules_and_tasks_run_their_named_job() -> None:
    ran: list[tuple[str, dict[str, Any]]] = []
    entry = LambdaEntry(
        schedules={"expire-campaigns": lambda event: ran.append(("schedule", event)) or {"expired": 3}},
        tasks={"pledge.validate": lambda event: {"valid": event["pledgeId"] == "p-1"}},
    )
    assert entry({"schedule": "expire-campaigns"}, FakeLambdaContext()) == {"expired": 3}
    assert entry({"task": "pledge.validate", "pledgeId": "p-1"}, FakeLambdaContext()) == {"valid": True}
    assert ran == [("schedule", {"schedule": "expire-campaigns"})]


def test_an_unknown_job_fails_loudly_with_the_known_names() -> None:
    entry = LambdaEntry(tasks={"pledge.validate": lambda event: None})
    with pytest.raises(UnknownJob) as raised:
        entry({"task": "pledge.teleport"}, FakeLambdaContext())
    assert raised.value.details == {"known": ["pledge.validate"]}


def test_a_trigger_the_function_does_not_take_is_refused() -> None:
    entry = LambdaEntry()  # no app, no consumer
    with pytest.raises(UnknownJob):
        entry(api_event("GET", "/api/x/health"), FakeLambdaContext())
    with pytest.raises(UnknownJob):
        entry({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, FakeLambdaContext())


def test_queue_batches_go_to_the_consumer() -> None:
    seen: list[str] = []

    def consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(record["messageId"] for record in event["Records"])
        return {"batchItemFailures": []}

    entry = LambdaEntry(consumer=consumer)
    batch = {"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": "{}"}]}
    assert entry(batch, FakeLambdaContext()) == {"batchItemFailures": []}
    assert seen == ["m-1"]


def test_jobs_named_by_reference_are_imported_only_when_their_event_arrives() -> None:
    import sys

    entry = LambdaEntry(tasks={"dump": "json:dumps"}, consumer="tests.support.lazy_probe:consumer")
    assert "tests.support.lazy_probe" not in sys.modules
    assert entry({"task": "dump", "x": 1}, FakeLambdaContext()) == '{"task": "dump", "x": 1}'
    batch = {"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": "{}"}]}
    assert entry(batch, FakeLambdaContext()) == {"batchItemFailures": [], "seen": ["m-1"]}
    assert "tests.support.lazy_probe" in sys.modules
