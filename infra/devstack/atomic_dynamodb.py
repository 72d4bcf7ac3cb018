"""DynamoDB's atomicity and isolation for the threaded moto server the local stack runs.

moto applies a TransactWriteItems item by item and, when one condition fails, puts back a deep copy
of every table it took before starting. Under concurrent requests (worker processes, pollers, the
gateway: the local stack is concurrent by design) that restore erases the writes other requests made
in between, and its whole-table copy makes every transaction cost O(table). DynamoDB does neither.

Here DynamoDB requests are served one at a time (a lock around them in the server's WSGI app), and a
transaction checks every condition first and writes only when all hold: a cancelled transaction
writes nothing and emits no stream record, without copying any table.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.RLock()
_installed = False


class SerializedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time (streams and other services run freely)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with _lock:
            return list(self.app(environ, start_response))


def install(server: Any) -> None:
    """Serialise DynamoDB on a started ThreadedMotoServer and make its transactions atomic."""
    global _installed  # noqa: PLW0603 - moto's backend classes are process-global; so is this patch
    server._server.app = SerializedDynamoDB(server._server.app)
    with _lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend

        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign,assignment]
        _installed = True


def _key(backend: Any, operation: dict[str, Any]) -> dict[str, Any]:
    if "Key" in operation:
        return dict(operation["Key"])
    table = backend.get_table(operation["TableName"])
    names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
    return {name: operation["Item"][name] for name in names}


Planned = tuple[str, dict[str, Any], dict[str, Any], Any]  # kind, operation, key, item before


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.exceptions import TooManyTransactionsException, TransactionCanceledException

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    planned = _plan(backend, transact_items)
    errors = [_condition_error(kind, operation, current) for kind, operation, _, current in planned]
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    _apply(backend, planned)


def _plan(backend: Any, transact_items: list[dict[str, Any]]) -> list[Planned]:
    from moto.dynamodb.exceptions import MultipleTransactionsException, TransactWriteSingleOpException

    seen: set[tuple[str, str]] = set()
    planned: list[Planned] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        kind, operation = next(iter(entry.items()))
        key = _key(backend, operation)
        identity = (str(operation["TableName"]), str(sorted(key.items())))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        planned.append((kind, operation, key, backend.get_item(operation["TableName"], key)))
    return planned


def _condition_error(kind: str, operation: dict[str, Any], current: Any) -> tuple[Any, Any, Any]:
    from moto.dynamodb.comparisons import get_filter_expression

    condition = operation.get("ConditionExpression")
    if not condition or get_filter_expression(
        condition, operation.get("ExpressionAttributeNames"), operation.get("ExpressionAttributeValues")
    ).expr(current):
        return (None, None, None)
    old = None
    if operation.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", "The conditional request failed", old)


def _apply(backend: Any, planned: list[Planned]) -> None:
    applied: list[tuple[str, dict[str, Any], Any]] = []
    try:
        for kind, operation, key, current in planned:
            table_name = operation["TableName"]
            if kind == "Put":
                backend.put_item(table_name, operation["Item"])
            elif kind == "Delete":
                backend.delete_item(table_name, key)
            elif kind == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=operation["UpdateExpression"],
                    expression_attribute_names=operation.get("ExpressionAttributeNames"),
                    expression_attribute_values=operation.get("ExpressionAttributeValues"),
                )
            if kind != "ConditionCheck":
                applied.append((table_name, key, current))
    except Exception:
        # An expression moto rejects only while applying it (a type error in an update): undo the
        # items already written, as DynamoDB would have validated before writing anything.
        for table_name, key, before in reversed(applied):
            if before is None:
                backend.delete_item(table_name, key)
            else:
                backend.put_item(table_name, before.to_json()["Attributes"])
        raise


_BACKEND_OPERATIONS = ("get_item", "put_item", "update_item", "delete_item", "query", "transact_write_items")


@contextmanager
def serialized_backend() -> Iterator[None]:
    """The same guarantees for in-process `mock_aws`: tests that race threads on moto's backend."""
    from moto.dynamodb.models import DynamoDBBackend

    originals = {name: getattr(DynamoDBBackend, name) for name in _BACKEND_OPERATIONS}
    stock = dict(originals)

    def locked(operation: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(operation)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _lock:
                return operation(*args, **kwargs)

        return call

    originals["transact_write_items"] = _transact_write_items
    for name, operation in originals.items():
        setattr(DynamoDBBackend, name, locked(operation))
    try:
        yield
    finally:
        for name, operation in stock.items():
            setattr(DynamoDBBackend, name, operation)
