"""Low-level DynamoDB reads shared by the boto3 repositories.

`batch_get` is BatchGetItem done right once: chunks of 100 keys, unprocessed keys asked again with
capped backoff, and the found items returned in the keys' order (a key with no item is left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harambee import aws
from harambee.outbox import TransactionContended

Item = dict[str, Any]

BATCH_GET_LIMIT = 100
BATCH_ATTEMPTS = 8
_FIRST_BACKOFF_SECONDS = 0.05
_MAX_BACKOFF_SECONDS = 1.0


def _identity(key: Item, names: Sequence[str]) -> tuple[Any, ...]:
    """A hashable form of the key attributes `names` of a key or an item ({"S": "x"} -> ("S", "x"))."""
    return tuple((name, *next(iter(key[name].items()))) for name in names)


def batch_get(table: str, keys: Sequence[Item], *, consistent: bool = False) -> list[Item]:
    """The items of `keys` (full primary keys) in the keys' order; missing items are left out.

    Raises TransactionContended when DynamoDB keeps keys unprocessed after BATCH_ATTEMPTS reads.
    """
    if not keys:
        return []
    names = sorted(keys[0])
    unique: dict[tuple[Any, ...], Item] = {}
    for key in keys:
        unique.setdefault(_identity(key, names), {name: key[name] for name in names})
    wanted = list(unique.values())
    found: dict[tuple[Any, ...], Item] = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        for item in _batch_get_chunk(table, wanted[start : start + BATCH_GET_LIMIT], consistent):
            found[_identity(item, names)] = item
    return [found[identity] for identity in (_identity(key, names) for key in keys) if identity in found]


def _batch_get_chunk(table: str, keys: list[Item], consistent: bool) -> list[Item]:
    import time

    items: list[Item] = []
    pending = keys
    for attempt in range(BATCH_ATTEMPTS):
        if attempt:
            time.sleep(min(_FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1), _MAX_BACKOFF_SECONDS))
        response = aws.dynamodb().batch_get_item(
            RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}}
        )
        items.extend(response.get("Responses", {}).get(table, []))
        unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
        pending = list(unprocessed.get(table, {}).get("Keys", []))
        if not pending:
            return items
    raise TransactionContended("DynamoDB kept some keys unprocessed; try again")
