"""GET totals cost at 1,000 and 100,000 completed donations: DynamoDB read units and latency.

One campaign receives completed donations through the real projection (pledge.completed events in
SQS batches of 10 handed to the query function's handler, which applies them exactly once), all in
process with moto. At each count, GET /api/query/campaigns/{id}/totals is served by the same handler
(API Gateway event -> Mangum -> FastAPI -> repository) `--reads` times.

Read units come from the items the handler's DynamoDB calls returned, captured with a botocore hook
on the handler's own client, priced with DynamoDB's rule (a Query costs the summed size of the items
it read, rounded up to 4 KB, halved when eventually consistent). moto reports a constant
ConsumedCapacity, so it is printed only for reference. Item sizes use moto's implementation of the
documented rule (attribute names + values).

    python benchmarks/totals.py [--donations 1000,100000] [--reads 200] [--json PATH] [--check]

Two costs of moto itself, which DynamoDB does not have, grow with the table and would swamp the
figures; this script removes them (`--stock-moto` keeps them, to see the difference):

- every base-table Query sorts ALL items of the table and keeps those of the partition, so its time
  grows with every donation stored; DynamoDB reads one partition by its key. Here a base-table
  Query is served from the partition moto already keeps by hash key (same items, same order).
- every TransactWriteItems deep-copies the whole table, once per item, as its rollback backup, which
  makes filling the table quadratic. Here the backup holds only the items the transaction touches
  and they are restored on failure, as moto does.

The table is the template's QueryTable without its stream (it only carries the query context's
outbox to the relay; the projection emits nothing), so moto keeps no stream records in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN_ID = "c-bench-viral"
BATCH_SIZE = 10
RATIO_TARGET = 1.2
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Measurement:
    donations: int
    items_read: int
    bytes_read: int
    read_units: float
    moto_reported_units: float
    median_ms: float
    p95_ms: float
    raised: int
    donation_count: int
    donor_count: int
    fill_seconds: float


# ------------------------------------------------------------------ environment


# Lambda-like environment of QueryFunction, with fake credentials for moto.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_SERVICE_NAME": "query",
    "POWERTOOLS_METRICS_NAMESPACE": "Harambee",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "TABLE_NAME": "bench-QueryTable",
    "STAGE": "local",
}


def _environment() -> None:
    os.environ.update(ENVIRONMENT)


@contextmanager
def item_backups_for_transactions() -> Iterator[None]:
    """moto's TransactWriteItems with a backup of the touched items instead of the whole table."""
    from moto.dynamodb.models import DynamoDBBackend, Table
    from moto.dynamodb.models import copy as moto_copy

    original = DynamoDBBackend.transact_write_items

    class TablesAsIs:
        """moto's `copy` module, except that a Table "copy" is the table itself (a no-op backup)."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for entry in transact_items:
            operation = next(iter(entry.values()))
            table = self.get_table(operation["TableName"])
            if "Key" in operation:
                key = operation["Key"]
            else:
                names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
                key = {name: operation["Item"][name] for name in names}
            current = self.get_item(operation["TableName"], key)
            saved.append((operation["TableName"], key, current.to_json()["Attributes"] if current else None))
        import moto.dynamodb.models as models

        models.copy = TablesAsIs  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(saved):
                if attributes is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise
        finally:
            models.copy = moto_copy

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


@contextmanager
def partition_reads_for_queries() -> Iterator[None]:
    """moto's base-table Query over the queried partition only, instead of over the sorted table."""
    import inspect

    from moto.dynamodb.models.table import Table

    original = Table.query
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key, index = bound.arguments.get("hash_key"), bound.arguments.get("index_name")
        if index is not None or hash_key is None or not self.range_key_attr:
            return original(self, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: sorted(partition, key=lambda item: (item.hash_key, item.range_key))
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original  # type: ignore[method-assign]


# ------------------------------------------------------------------ the workload


def _pledge_completed(number: int) -> Any:
    from harambee.events import DomainEvent

    # Every third donation comes from a donor who gave before; one in five is anonymous (by email).
    donor = number // 3 if number % 3 == 0 else number
    anonymous = number % 5 == 0
    at = T0 + timedelta(seconds=number)
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        event_type="pledge.completed",
        source="harambee.donations",
        timestamp=at,
        data={
            "pledgeId": f"pl-bench-{number:07d}",
            "campaignId": CAMPAIGN_ID,
            "donorId": None if anonymous else f"u-bench-{donor}",
            "donorEmail": f"donor{donor}@example.org",
            "donorName": None if anonymous else f"Donor {donor}",
            "isAnonymous": anonymous,
            "amount": 1_000 + number % 9_000,
            "currency": "BDT",
            "message": None,
            "locale": "en",
            "createdAt": at.isoformat(),
            "paymentId": f"pay-bench-{number:07d}",
            "campaignTitle": "Benchmark: a viral campaign",
            "campaignOwnerId": "u-bench-owner",
            "campaignType": "emergency",
            "completedAt": at.isoformat(),
        },
    )


def _campaign_created() -> Any:
    from harambee.events import DomainEvent

    return DomainEvent(
        event_type="campaign.created",
        source="harambee.campaigns",
        timestamp=T0 - timedelta(days=1),
        data={
            "campaignId": CAMPAIGN_ID,
            "ownerId": "u-bench-owner",
            "title": "Benchmark: a viral campaign",
            "type": "emergency",
            "status": "active",
            "goalAmount": 10_000_000_000,
            "currency": "BDT",
            "visibility": "public",
        },
    )


def _sqs_batch(events: list[Any]) -> dict[str, Any]:
    """The SQS event the inbox's event source mapping delivers: EventBridge events as message bodies."""
    records = []
    for event in events:
        body = {
            "version": "0",
            "id": f"bus-{event.event_id}",
            "detail-type": event.event_type,
            "source": event.source,
            "account": "123456789012",
            "time": event.to_envelope()["timestamp"],
            "region": "us-east-1",
            "resources": [],
            "detail": event.to_envelope(),
        }
        records.append(
            {
                "messageId": event.event_id,
                "receiptHandle": f"handle-{event.event_id}",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench-QueryQueue",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def _deliver(handler: Any, context: Any, events: list[Any]) -> None:
    response = handler(_sqs_batch(events), context)
    if response != {"batchItemFailures": []}:
        raise SystemExit(f"The projection failed part of a batch: {response}")


def _fill(handler: Any, context: Any, start: int, stop: int, *, progress: bool) -> float:
    began = time.perf_counter()
    for first in range(start, stop, BATCH_SIZE):
        _deliver(
            handler, context, [_pledge_completed(n) for n in range(first, min(first + BATCH_SIZE, stop))]
        )
        done = min(first + BATCH_SIZE, stop)
        if progress and done % 10_000 == 0:
            rate = (done - start) / (time.perf_counter() - began)
            print(f"  ... {done:,} donations applied ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return time.perf_counter() - began


class ReadMeter:
    """Every Query/GetItem of the handler's DynamoDB client: its items and whether it read consistently."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]], bool, float]] = []
        self._consistent = False

    def request(self, params: dict[str, Any], **_: Any) -> None:
        self._consistent = bool(params.get("ConsistentRead", False))

    def response(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name not in ("Query", "GetItem"):
            return
        items = parsed.get("Items") or ([parsed["Item"]] if "Item" in parsed else [])
        reported = float((parsed.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0))
        self.calls.append((model.name, items, self._consistent, reported))

    def reset(self) -> None:
        self.calls.clear()


def _item_size(item: dict[str, Any]) -> int:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    return int(Item(DynamoType(item["pk"]), DynamoType(item["sk"]), item).size())


def read_units(size: int, *, consistent: bool) -> float:
    """DynamoDB: one unit per 4 KB (rounded up, at least one) strongly consistent, half eventually."""
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


def _totals_request() -> dict[str, Any]:
    """events/query/api_campaign_totals.json, for the benchmark's campaign."""
    event: dict[str, Any] = json.loads((ROOT / "events/query/api_campaign_totals.json").read_text())
    event["path"] = f"/api/query/campaigns/{CAMPAIGN_ID}/totals"
    event["pathParameters"] = {"campaignId": CAMPAIGN_ID}
    event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{event['path']}"
    return event


class _Context:
    """The parts of the Lambda context object Powertools and Mangum read."""

    function_name = "bench-QueryFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-QueryFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _measure(handler: Any, context: Any, meter: ReadMeter, reads: int) -> dict[str, Any]:
    event = _totals_request()
    for _ in range(10):  # warm-up: imports, clients, Mangum
        handler(copy.deepcopy(event), context)
    timings: list[float] = []
    meter.reset()
    body: dict[str, Any] = {}
    for _ in range(reads):
        request = copy.deepcopy(event)
        started = time.perf_counter()
        response = handler(request, context)
        timings.append((time.perf_counter() - started) * 1000)
        if response["statusCode"] != 200:
            raise SystemExit(f"GET totals answered {response['statusCode']}: {response['body']}")
        body = json.loads(response["body"])["data"]
    per_read = list(meter.calls)
    if len(per_read) != reads:
        raise SystemExit(f"Expected one DynamoDB call per GET totals, saw {len(per_read)} for {reads}")
    name, items, consistent, reported = per_read[-1]
    size = sum(_item_size(item) for item in items)
    timings.sort()
    return {
        "call": name,
        "items_read": len(items),
        "bytes_read": size,
        "read_units": read_units(size, consistent=consistent),
        "moto_reported_units": reported,
        "median_ms": statistics.median(timings),
        "p95_ms": timings[max(0, math.ceil(0.95 * len(timings)) - 1)],
        "body": body,
    }


def run(counts: list[int], reads: int, *, progress: bool, stock_moto: bool = False) -> list[Measurement]:
    _environment()
    from contextlib import ExitStack

    from moto import mock_aws

    with ExitStack() as stack:
        stack.enter_context(mock_aws())
        if not stock_moto:
            stack.enter_context(item_backups_for_transactions())
            stack.enter_context(partition_reads_for_queries())
        from devstack.provision import table_definition
        from devstack.template import Template
        from harambee import aws
        from query.handler import handler

        dynamodb = aws.dynamodb()
        definition = table_definition(Template(), "QueryTable", os.environ["TABLE_NAME"])
        definition.pop("StreamSpecification", None)
        dynamodb.create_table(**definition)
        meter = ReadMeter()
        dynamodb.meta.events.register("provide-client-params.dynamodb", meter.request)
        dynamodb.meta.events.register("after-call.dynamodb", meter.response)
        asyncio.set_event_loop(asyncio.new_event_loop())
        context = _Context()
        _deliver(handler, context, [_campaign_created()])
        results: list[Measurement] = []
        applied = 0
        for count in sorted(counts):
            fill = _fill(handler, context, applied, count, progress=progress)
            applied = count
            figures = _measure(handler, context, meter, reads)
            body = figures.pop("body")
            if body["donationCount"] != count:
                raise SystemExit(f"Totals count {body['donationCount']} donations, {count} were applied")
            figures.pop("call")
            results.append(
                Measurement(
                    donations=count,
                    raised=body["raisedAmount"],
                    donation_count=body["donationCount"],
                    donor_count=body["donorCount"],
                    fill_seconds=round(fill, 1),
                    **figures,
                )
            )
        return results


def _print(results: list[Measurement]) -> bool:
    print("GET /api/query/campaigns/{id}/totals through the query handler (in process, moto)")
    print("read units: computed from the items the handler's Query returned (4 KB rule, eventually")
    print("consistent); moto's own ConsumedCapacity is a constant, shown for reference only.\n")
    header = (
        f"{'donations':>10} {'items':>6} {'bytes':>6} {'RCU':>5} {'moto RCU':>8} "
        f"{'median ms':>9} {'p95 ms':>7} {'raised':>14} {'donors':>7} {'fill s':>7}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        print(
            f"{m.donations:>10,} {m.items_read:>6} {m.bytes_read:>6} {m.read_units:>5.1f} "
            f"{m.moto_reported_units:>8.1f} {m.median_ms:>9.2f} {m.p95_ms:>7.2f} {m.raised:>14,} "
            f"{m.donor_count:>7,} {m.fill_seconds:>7.1f}"
        )
    base, top = results[0], results[-1]
    units_ratio = top.read_units / base.read_units
    latency_ratio = top.median_ms / base.median_ms
    within = units_ratio <= RATIO_TARGET and latency_ratio <= RATIO_TARGET
    print(
        f"\nratio {top.donations:,} / {base.donations:,} donations: read units {units_ratio:.2f}, "
        f"median latency {latency_ratio:.2f} (target <= {RATIO_TARGET}): {'ok' if within else 'OVER'}"
    )
    return within


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--donations", default="1000,100000", help="comma-separated counts (default 1000,100000)"
    )
    parser.add_argument("--reads", type=int, default=200, help="GET totals per count (default 200)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio is over the target")
    parser.add_argument("--quiet", action="store_true", help="no progress lines while filling")
    parser.add_argument(
        "--stock-moto", action="store_true", help="keep moto's whole-table Query sort and transaction backups"
    )
    args = parser.parse_args(argv)
    counts = sorted({int(part.replace("_", "")) for part in args.donations.split(",") if part.strip()})
    if len(counts) < 2 or counts[0] < 1:
        parser.error("give at least two positive counts, e.g. --donations 1000,100000")
    results = run(counts, args.reads, progress=not args.quiet, stock_moto=args.stock_moto)
    within = _print(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=2) + "\n")
    return 1 if args.check and not within else 0


if __name__ == "__main__":
    raise SystemExit(main())
