"""The one Lambda entry every context uses: it tells the trigger by the event's shape and dispatches.

A context's function serves its HTTP routes (API Gateway REST proxy events, through Mangum), its
SQS inbox, its table's stream (the outbox relay), its schedules and its Step Functions tasks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from harambee.errors import BadRequest
from harambee.observability import correlation_id_from_http, instrument, logger, set_correlation_id

if TYPE_CHECKING:
    from fastapi import FastAPI

LambdaResult = dict[str, Any]
# No route takes more than a few KiB of JSON; refuse large bodies before parsing them.
MAX_BODY_CHARACTERS = 256 * 1024
EventHandler = Callable[[dict[str, Any], Any], LambdaResult]
Job = Callable[[dict[str, Any]], Any]


class Trigger(StrEnum):
    HTTP = "http"
    QUEUE = "queue"
    STREAM = "stream"
    SCHEDULE = "schedule"
    TASK = "task"
    UNKNOWN = "unknown"


_RECORD_SOURCES = {"aws:sqs": Trigger.QUEUE, "aws:dynamodb": Trigger.STREAM}


def classify(event: Any) -> Trigger:
    """Which trigger sent this event. Schedules and tasks carry our own small, documented shapes."""
    if not isinstance(event, dict):
        return Trigger.UNKNOWN
    if "httpMethod" in event and "requestContext" in event:
        return Trigger.HTTP
    records = event.get("Records")
    if isinstance(records, list):
        first = records[0] if records and isinstance(records[0], dict) else {}
        return _RECORD_SOURCES.get(first.get("eventSource", ""), Trigger.UNKNOWN)
    if isinstance(event.get("schedule"), str):
        return Trigger.SCHEDULE
    if isinstance(event.get("task"), str):
        return Trigger.TASK
    return Trigger.UNKNOWN


class UnknownJob(BadRequest):
    code = "UNKNOWN_JOB"


# "package.module:attribute": imported on the first event that needs it, so an HTTP cold start
# never pays for queue, schedule or task code (the batch utility alone is ~100 ms).
Reference = str


def _load[T](target: T | Reference) -> T:
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    loaded: T = getattr(importlib.import_module(module), attribute)
    return loaded


class LambdaEntry:
    """`handler = LambdaEntry(app, consumer=..., schedules={...}, tasks={...})` in a context's handler.py.

    Consumers, streams, schedules and tasks may be given as "module:attribute" references, loaded lazily.

    - HTTP: the FastAPI app behind Mangum.
    - QUEUE: `consumer(event, context)` returns the SQS partial batch response.
    - STREAM: the outbox relay by default (every table's stream is filtered to outbox items).
    - SCHEDULE: `{"schedule": "<job>"}` (the template's schedule Input) runs `schedules[job](event)`.
    - TASK: `{"task": "<name>", ...}` from a state machine runs `tasks[name](event)`; its exceptions
      surface to Step Functions by class name for Retry and Catch.
    """

    def __init__(
        self,
        app: FastAPI | None = None,
        *,
        consumer: EventHandler | Reference | None = None,
        stream: EventHandler | Reference | None = None,
        schedules: Mapping[str, Job | Reference] | None = None,
        tasks: Mapping[str, Job | Reference] | None = None,
    ) -> None:
        self._app = app
        self._http: Callable[[dict[str, Any], Any], Any] | None = None
        self._consumer = consumer
        self._stream = stream
        self._schedules = dict(schedules or {})
        self._tasks = dict(tasks or {})
        self._instrumented = instrument(self._dispatch)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        # Python looks `__call__` up on the class, so an instance attribute would never be called.
        return self._instrumented(event, context)

    def _dispatch(self, event: dict[str, Any], context: Any) -> Any:
        trigger = classify(event)
        logger.append_keys(trigger=str(trigger))
        match trigger:
            case Trigger.HTTP if self._app is not None:
                set_correlation_id(correlation_id_from_http(event))
                if len(event.get("body") or "") > MAX_BODY_CHARACTERS:
                    return _too_large(event)
                return self._http_adapter()(event, context)
            case Trigger.QUEUE if self._consumer is not None:
                return _load(self._consumer)(event, context)
            case Trigger.STREAM:
                return _load(self._stream or "harambee.relay:relay_outbox")(event, context)
            case Trigger.SCHEDULE:
                return self._run(self._schedules, event["schedule"], event)
            case Trigger.TASK:
                set_correlation_id(event.get("correlationId"))
                return self._run(self._tasks, event["task"], event)
        raise UnknownJob(f"This function does not handle {trigger} events")

    def _http_adapter(self) -> Callable[[dict[str, Any], Any], Any]:
        if self._http is None:
            from mangum import Mangum

            assert self._app is not None
            self._http = Mangum(self._app, lifespan="off")
        return self._http

    @staticmethod
    def _run(jobs: Mapping[str, Job | Reference], name: str, event: dict[str, Any]) -> Any:
        job = jobs.get(name)
        if job is None:
            raise UnknownJob(f"No job named {name!r}", details={"known": sorted(jobs)})
        logger.info("Running job", extra={"job": name})
        return _load(job)(event)


def _too_large(event: dict[str, Any]) -> LambdaResult:
    import json

    from harambee.envelope import failure

    request_id = str((event.get("requestContext") or {}).get("requestId", ""))
    message = f"Request body is larger than {MAX_BODY_CHARACTERS // 1024} KiB"
    return {
        "statusCode": 413,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(failure("PAYLOAD_TOO_LARGE", message, request_id)),
        "isBase64Encoded": False,
    }
