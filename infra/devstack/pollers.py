"""The template's event source mappings: SQS queues and DynamoDB streams polled into Lambda batches.

They follow Lambda's documented behaviour: batch size and batching window, filter criteria,
partial batch responses (ReportBatchItemFailures), bisecting a failing stream batch, retry limits,
and an on-failure destination for stream batches. SQS redrive to the DLQ is moto's own (lazily, on
the receive after maxReceiveCount).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack.filters import any_filter_matches
from devstack.intrinsics import REGION
from devstack.workers import Invocation

Invoke = Callable[[str, Any], Invocation]
Log = Callable[[str], None]

FAST_POLL_SECONDS = 0.1
IDLE_POLL_SECONDS = 0.4


class Poller:
    """A thread that polls one event source for one function; it can be paused and resumed."""

    def __init__(self, name: str, function: str, invoke: Invoke, log: Log) -> None:
        self.name = name
        self.function = function
        self.invoke = invoke
        self.log = log
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, name=f"poller-{name}", daemon=True)

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def signal_stop(self) -> None:
        """Ask the thread to stop without waiting (so many pollers stop in parallel)."""
        self._stop.set()
        self._running.set()

    def stop(self) -> None:
        self.signal_stop()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        delay = FAST_POLL_SECONDS
        while not self._stop.is_set():
            self._running.wait()
            if self._stop.is_set():
                break
            try:
                busy = self.poll_once()
            except Exception as exc:
                self.log(f"{self.name}: poll failed: {type(exc).__name__}: {exc}")
                busy = False
            # Poll fast while there is traffic, slower when idle, so 20 idle pollers stay cheap.
            delay = FAST_POLL_SECONDS if busy else min(IDLE_POLL_SECONDS, delay * 1.5)
            self._stop.wait(delay)

    def poll_once(self) -> bool:
        """Poll the source once; True when there was something to do."""
        raise NotImplementedError


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received SQS message as Lambda's SQS event record."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(value["BinaryValue"]).decode()
            if "BinaryValue" in value
            else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])],
            "dataType": value.get("DataType"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_item_ids(payload: Any, known: set[str]) -> set[str] | None:
    """The itemIdentifiers of a partial batch response; None when the response is malformed (all failed)."""
    if not isinstance(payload, dict) or not payload.get("batchItemFailures"):
        return set()
    failures = payload["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    ids = {str(item.get("itemIdentifier") or "") for item in failures if isinstance(item, dict)}
    if len(ids) != len(failures) or "" in ids or not ids <= known:
        return None
    return ids


def _filter_view(record: dict[str, Any]) -> dict[str, Any]:
    # Lambda matches an SQS filter against the body parsed as JSON when it is JSON.
    try:
        return {**record, "body": json.loads(record["body"])}
    except (TypeError, ValueError):
        return record


@dataclass(frozen=True)
class MappingSettings:
    """The Properties of a SAM SQS or DynamoDB event, resolved."""

    batch_size: int
    window_seconds: float
    report_failures: bool
    filters: list[dict[str, Any]]
    max_retries: int = -1
    bisect: bool = False
    starting_position: str = "LATEST"
    on_failure_queue_url: str | None = None

    @classmethod
    def from_properties(
        cls, props: dict[str, Any], default_batch: int, on_failure_url: str | None
    ) -> MappingSettings:
        return cls(
            batch_size=int(props.get("BatchSize", default_batch)),
            window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            filters=list((props.get("FilterCriteria") or {}).get("Filters") or []),
            max_retries=int(props.get("MaximumRetryAttempts", -1)),
            bisect=bool(props.get("BisectBatchOnFunctionError", False)),
            starting_position=str(props.get("StartingPosition", "LATEST")),
            on_failure_queue_url=on_failure_url,
        )


class SqsPoller(Poller):
    """Lambda's SQS event source mapping: delete what succeeded, leave failures to reappear."""

    def __init__(
        self,
        name: str,
        function: str,
        invoke: Invoke,
        log: Log,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        settings: MappingSettings,
    ) -> None:
        super().__init__(name, function, invoke, log)
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.settings = settings

    def _receive(self, count: int) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, count),
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages") or [])

    def _gather(self) -> list[dict[str, Any]]:
        messages = self._receive(self.settings.batch_size)
        if not messages:
            return []
        deadline = time.monotonic() + self.settings.window_seconds
        while len(messages) < self.settings.batch_size and time.monotonic() < deadline and not self.stopping:
            more = self._receive(self.settings.batch_size - len(messages))
            messages.extend(more)
            if not more:
                self._stop.wait(FAST_POLL_SECONDS)
        return messages

    def poll_once(self) -> bool:
        messages = self._gather()
        if not messages:
            return False
        records = [sqs_record(message, self.queue_arn) for message in messages]
        wanted = [r for r in records if any_filter_matches(self.settings.filters, _filter_view(r))]
        # Lambda deletes messages its filters drop: they are never delivered.
        self._delete([r for r in records if r not in wanted])
        if not wanted:
            return True
        invocation = self.invoke(self.function, {"Records": wanted})
        if invocation.error:
            self.log(
                f"{self.name}: batch of {len(wanted)} failed ({invocation.error_type}); left on the queue"
            )
            return True
        failed: set[str] | None = set()
        if self.settings.report_failures:
            failed = failed_item_ids(invocation.payload, {r["messageId"] for r in wanted})
        if failed is None:
            self.log(f"{self.name}: malformed batchItemFailures; the whole batch is retried")
            return True
        self._delete([r for r in wanted if r["messageId"] not in failed])
        return True

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)


def stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams record (boto3 shape) as Lambda's stream event record."""
    change = dict(record.get("dynamodb") or {})
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


class StreamPoller(Poller):
    """Lambda's DynamoDB stream event source mapping, one shard after another, in order."""

    def __init__(
        self,
        name: str,
        function: str,
        invoke: Invoke,
        log: Log,
        *,
        streams: Any,
        sqs: Any,
        stream_arn: str,
        function_arn: str,
        settings: MappingSettings,
    ) -> None:
        super().__init__(name, function, invoke, log)
        self.streams = streams
        self.sqs = sqs
        self.stream_arn = stream_arn
        self.function_arn = function_arn
        self.settings = settings
        self._iterators: dict[str, str | None] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._first_seen: dict[str, float] = {}
        self._last_sequence: dict[str, str] = {}
        self.start_shards()

    def start_shards(self) -> None:
        """Position an iterator on every shard now, so LATEST means "from when the stack started"."""
        shards = (
            self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"].get("Shards") or []
        )
        position = (
            self.settings.starting_position if self.settings.starting_position != "AT_TIMESTAMP" else "LATEST"
        )
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=position
                )["ShardIterator"]
                self._iterators[shard_id] = iterator
                self._pending[shard_id] = []

    def poll_once(self) -> bool:
        busy = False
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is not None:
                answer = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                self._iterators[shard_id] = answer.get("NextShardIterator")
                if answer.get("Records"):
                    self._last_sequence[shard_id] = str(answer["Records"][-1]["dynamodb"]["SequenceNumber"])
                else:
                    self._reposition(shard_id)
                arrived = [stream_record(r, self.stream_arn) for r in answer.get("Records") or []]
                kept = [r for r in arrived if any_filter_matches(self.settings.filters, r)]
                if kept and not self._pending[shard_id]:
                    self._first_seen[shard_id] = time.monotonic()
                self._pending[shard_id].extend(kept)
                busy = busy or bool(arrived)
            busy = self._drain(shard_id) or busy
        return busy

    def _reposition(self, shard_id: str) -> None:
        """Re-open an idle shard after the last record read.

        moto rolls a failed TransactWriteItems back by swapping in a deep copy of each table it
        touched, stream shard included, so an iterator taken before then reads a shard nobody
        writes to any more. A fresh iterator always reads the table's current shard.
        """
        last = self._last_sequence.get(shard_id)
        if last is not None:
            request = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
        elif self.settings.starting_position == "TRIM_HORIZON":
            request = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            return
        self._iterators[shard_id] = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, **request
        )["ShardIterator"]

    def _drain(self, shard_id: str) -> bool:
        pending = self._pending[shard_id]
        if not pending:
            return False
        waited = time.monotonic() - self._first_seen.get(shard_id, 0.0)
        if len(pending) < self.settings.batch_size and waited < self.settings.window_seconds:
            return True
        while pending and not self.stopping:
            batch, pending[:] = pending[: self.settings.batch_size], pending[self.settings.batch_size :]
            self._deliver(shard_id, batch)
        return True

    def _attempt(self, batch: list[dict[str, Any]]) -> tuple[int | None, bool]:
        """Index of the first record to retry (None: all done), and whether the function itself failed."""
        invocation = self.invoke(self.function, {"Records": batch})
        if invocation.error:
            return 0, True
        if not self.settings.report_failures:
            return None, False
        sequence = [str(r["dynamodb"].get("SequenceNumber")) for r in batch]
        failed = failed_item_ids(invocation.payload, set(sequence))
        if failed is None:
            return 0, False
        if not failed:
            return None, False
        return min(sequence.index(item) for item in failed), False

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        work: deque[tuple[list[dict[str, Any]], int]] = deque([(batch, 0)])
        while work and not self.stopping:
            chunk, retries = work.popleft()
            first_failed, function_error = self._attempt(chunk)
            if first_failed is None:
                continue
            remaining = chunk[first_failed:]
            if function_error and self.settings.bisect and len(remaining) > 1:
                # Bisecting does not use up the retry budget (as on Lambda).
                middle = len(remaining) // 2
                work.extendleft([(remaining[middle:], retries), (remaining[:middle], retries)])
                continue
            if 0 <= self.settings.max_retries <= retries:
                self._send_to_on_failure(shard_id, remaining, retries + 1)
                continue
            work.appendleft((remaining, retries + 1))
            self._stop.wait(min(1.0, 0.1 * 2**retries))

    def _send_to_on_failure(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        self.log(
            f"{self.name}: {len(records)} record(s) failed {attempts} time(s); "
            "sent to the on-failure destination"
        )
        if not self.settings.on_failure_queue_url:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first.get("SequenceNumber"),
                "endSequenceNumber": last.get("SequenceNumber"),
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.settings.on_failure_queue_url, MessageBody=json.dumps(body))


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
