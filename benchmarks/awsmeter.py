"""What a workload costs on AWS, measured on the local stack: every AWS call, DynamoDB capacity units,
Lambda invocations and Step Functions transitions, priced at AWS list prices.

The local stack runs moto as a threaded server in this process, so a WSGI middleware in front of it
sees every call the workers make. moto's own ConsumedCapacity is a constant, so DynamoDB units are
computed here with DynamoDB's rules, from the items themselves (moto's item size, which follows the
documented attribute-name + value rule):

- write: ceil(size / 1 KB) of the larger of the item before and after; x2 inside TransactWriteItems;
  a ConditionCheck in a transaction is billed like a transactional write; a GSI costs one write per
  KB of its projected entry (its keys, the table's keys and the attributes it projects) when the
  entry appears, disappears or a projected attribute changes, two when its key moved, and nothing
  when only unprojected attributes changed (DynamoDB's documented GSI write rule);
- read: ceil(size / 4 KB) per GetItem, and of the summed size of the items a Query returned (the items
  a filter dropped are not visible here, so a filtered Query is under-counted); half for eventually
  consistent reads; x2 inside TransactGetItems.

Stream reads by Lambda event source mappings are free on AWS and are left out; so are SQS receives
that returned nothing (the pollers' idle baseline, which on AWS the event source mapping's long
polling also pays, independent of the workload).
"""

from __future__ import annotations

import copy
import io
import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

KB = 1024

# AWS list prices, us-east-1, November 2026 (USD).
PRICES = {
    "dynamodb_write_unit": 0.625 / 1_000_000,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1_000_000,  # on-demand read request unit
    "state_transition": 0.025 / 1_000,  # Step Functions Standard
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second_arm64": 0.0000133334,
    "sqs_request": 0.40 / 1_000_000,  # standard queue, per 64 KB chunk
    "eventbridge_event": 1.00 / 1_000_000,  # custom events published (delivery to SQS is free)
    "kms_request": 0.03 / 10_000,
    "ses_email": 0.10 / 1_000,
    "sns_sms": 0.00645,  # one US SMS segment; other countries differ widely
}

_FREE = {
    ("dynamodbstreams", op) for op in ("GetRecords", "GetShardIterator", "DescribeStream", "ListStreams")
}


@dataclass
class Usage:
    """Totals since the meter started (or since `reset`)."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    write_units_by_table: Counter[str] = field(default_factory=Counter)
    # "<table> <pk prefix>" (the part of pk before its first '#'): which items the units went to
    write_units_by_item: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    invocation_ms: float = 0.0
    events_published: int = 0
    sqs_requests: int = 0
    emails: int = 0
    sms: int = 0
    kms_requests: int = 0

    def aws_calls(self) -> int:
        return sum(count for key, count in self.calls.items() if key not in _FREE)


class AwsMeter:
    """Install on a running `devstack.stack.LocalStack`: `meter = AwsMeter.install(stack)`."""

    def __init__(self, app: Callable[..., Iterable[bytes]], region: str, account: str) -> None:
        self._app = app
        self._region = region
        self._account = account
        self._lock = threading.Lock()
        self.usage = Usage()

    @classmethod
    def install(cls, stack: Any) -> AwsMeter:
        server = stack.moto._server
        meter = cls(server.app, region=stack.client("sts").meta.region_name, account="123456789012")
        server.app = meter
        pools = stack.pools
        invoke = pools.invoke

        def counted(logical_id: str, event: Any) -> Any:
            invocation = invoke(logical_id, event)
            with meter._lock:
                meter.usage.invocations[logical_id] += 1
                meter.usage.invocation_ms += invocation.duration_ms
            return invocation

        pools.invoke = counted
        return meter

    def reset(self) -> Usage:
        with self._lock:
            finished, self.usage = self.usage, Usage()
        return finished

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, operation = _operation(environ, body)
        request = _json(body) if service == "dynamodb" else None
        before = self._images(request, operation) if request is not None else []
        chunks = list(self._app(environ, start_response))
        if service == "sqs" and operation == "ReceiveMessage" and b'"Messages"' not in b"".join(chunks):
            return chunks  # an idle poll: the pollers' baseline, not the workload's
        with self._lock:
            self.usage.calls[(service, operation)] += 1
            self._count_messaging(service, operation, body)
        if request is not None:
            self._count_dynamodb(operation, request, before, _json(b"".join(chunks)))
        return chunks

    def _count_messaging(self, service: str, operation: str, body: bytes) -> None:
        if service == "events" and operation == "PutEvents":
            self.usage.events_published += len((_json(body) or {}).get("Entries", []))
        elif service == "sqs":
            self.usage.sqs_requests += 1
        elif service in ("ses", "sesv2") and operation in ("SendEmail", "SendRawEmail"):
            self.usage.emails += 1
        elif service == "sns" and operation == "Publish" and b"PhoneNumber" in body:
            self.usage.sms += 1
        elif service == "kms":
            self.usage.kms_requests += 1

    # ------------------------------------------------------------------ DynamoDB units

    def _backend(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self._account][self._region]

    def _writes(self, operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool, str]]:
        """(table, key, transactional, kind) for every item the request writes."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = request.get("TableName", "")
            return [(table, self._key_of(table, request.get("Key") or request.get("Item") or {}), False, "w")]
        if operation == "TransactWriteItems":
            writes = []
            for entry in request.get("TransactItems", []):
                (kind, spec), *_ = entry.items()
                table = spec.get("TableName", "")
                writes.append(
                    (table, self._key_of(table, spec.get("Key") or spec.get("Item") or {}), True, kind)
                )
            return writes
        if operation == "BatchWriteItem":
            return [
                (
                    table,
                    self._key_of(table, (r.get("PutRequest") or {}).get("Item") or r["DeleteRequest"]["Key"]),
                    False,
                    "w",
                )
                for table, requests in request.get("RequestItems", {}).items()
                for r in requests
            ]
        return []

    def _key_of(self, table_name: str, attributes: dict[str, Any]) -> dict[str, Any]:
        try:
            table = self._backend().get_table(table_name)
        except Exception:
            return {}
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {name: attributes[name] for name in names if name in attributes}

    def _image(self, table_name: str, key: dict[str, Any]) -> Any:
        try:
            return self._backend().get_item(table_name, key)
        except Exception:
            return None

    def _images(self, request: dict[str, Any], operation: str) -> list[Any]:
        # Copies: moto updates an item in place, and the before image must stay as it was.
        return [
            copy.deepcopy(self._image(table, key)) for table, key, _, _ in self._writes(operation, request)
        ]

    def _count_dynamodb(
        self, operation: str, request: dict[str, Any], before: list[Any], response: dict[str, Any] | None
    ) -> None:
        units = 0.0
        by_table: Counter[str] = Counter()
        by_item: Counter[str] = Counter()
        for (table, key, transactional, kind), old in zip(
            self._writes(operation, request), before, strict=True
        ):
            new = self._image(table, key) if kind != "ConditionCheck" else old
            size = max(_size(old), _size(new))
            item_units = max(1, math.ceil(size / KB)) * (2 if transactional else 1)
            index_units = 0 if kind == "ConditionCheck" else self._index_writes(table, old, new)
            units += item_units + index_units
            by_table[table] += item_units + index_units
            by_item[f"{table} {_prefix(key)}{' (tx)' if transactional else ''}"] += item_units + index_units
        reads = self._reads(operation, request, response or {})
        with self._lock:
            self.usage.write_units += units
            self.usage.write_units_by_table.update(by_table)
            self.usage.write_units_by_item.update(by_item)
            self.usage.read_units += reads

    def _index_writes(self, table_name: str, old: Any, new: Any) -> int:
        try:
            table = self._backend().get_table(table_name)
        except Exception:
            return 0
        total = 0
        for index in table.global_indexes:
            names = [schema["AttributeName"] for schema in index.schema]
            was, now = _index_key(old, names), _index_key(new, names)
            before = index.project(old) if was is not None else None
            after = index.project(new) if now is not None else None
            if was is not None and now is not None and was == now:
                if _attributes(before) != _attributes(after):
                    total += _entry_units(before, after)
                continue
            total += _entry_units(before) + _entry_units(after)
        return total

    @staticmethod
    def _reads(operation: str, request: dict[str, Any], response: dict[str, Any]) -> float:
        def units(items: list[dict[str, Any]], consistent: bool, factor: float = 1.0) -> float:
            size = sum(_wire_size(item) for item in items)
            return max(1, math.ceil(size / (4 * KB))) * (1.0 if consistent else 0.5) * factor

        consistent = bool(request.get("ConsistentRead"))
        if operation == "GetItem":
            return units([response.get("Item") or {}], consistent)
        if operation in ("Query", "Scan"):
            return units(response.get("Items") or [], consistent)
        if operation == "BatchGetItem":
            return sum(
                units([item], False) for items in (response.get("Responses") or {}).values() for item in items
            )
        if operation == "TransactGetItems":
            return sum(units([r.get("Item") or {}], True, 2.0) for r in response.get("Responses") or [])
        return 0.0


def _operation(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scope = authorization.split("Credential=", 1)[1].split("/") if "Credential=" in authorization else []
    service = scope[3] if len(scope) > 3 else "unknown"
    if target:
        prefix, _, operation = target.partition(".")
        if prefix.startswith("DynamoDBStreams"):
            return "dynamodbstreams", operation
        return service, operation
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
        if action:
            return service, action
    path = environ.get("PATH_INFO", "")
    if service == "lambda" and path.endswith("/invocations"):
        return service, "Invoke"
    if service in ("ses", "sesv2") and path.endswith("/outbound-emails"):
        return service, "SendEmail"
    return service, f"{environ.get('REQUEST_METHOD', '')} {path.split('/')[1] if '/' in path else path}"


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _prefix(key: dict[str, Any]) -> str:
    value = next((str(next(iter(attribute.values()))) for attribute in key.values()), "")
    return value.split("#", 1)[0]


def _size(item: Any) -> int:
    return int(item.size()) if item is not None else 0


def _index_key(item: Any, names: list[str]) -> tuple[Any, ...] | None:
    if item is None or any(name not in item.attrs for name in names):
        return None
    return tuple(str(item.attrs[name].value) for name in names)


def _attributes(item: Any) -> dict[str, Any]:
    return {name: value.to_json() for name, value in item.attrs.items()} if item is not None else {}


def _entry_units(*entries: Any) -> int:
    """Write units of one index entry (the larger image when it was rewritten), 0 for none."""
    present = [entry for entry in entries if entry is not None]
    if not present:
        return 0
    return max(1, math.ceil(max(_size(entry) for entry in present) / KB))


def _wire_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item in wire format (names + values), for read units."""
    from moto.dynamodb.models.dynamo_type import Item

    if not item:
        return 0
    return int(Item(hash_key=None, range_key=None, attrs=item).size())
