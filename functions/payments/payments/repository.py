"""Payments' storage in PaymentsTable (boto3 TransactItems, so every change commits with its event).

Access patterns (pk / sk; indexes):
  payment by id                PAYMENT#<id> / PAYMENT (document JSON, version for optimistic locking)
  a payment's history          PAYMENT#<id> / HISTORY#<at>#<n>   (query, begins_with)
  a payment's refunds          PAYMENT#<id> / REFUND#<refundId>
  what a payable costs         PAYABLE#<kind>#<id> / PAYABLE      (from the inbox; activePaymentId;
                               closedReason once the donation saga gave the pledge up)
  a provider notification      WEBHOOK#<provider>#<eventId> / WEBHOOK (raw payload; dedup by put-if-absent)
  sandbox outcome              SANDBOX#<paymentId> / SANDBOX
  payments of a payable        gsi1: PAYABLE#<kind>#<id> / <createdAt>#<id>
  payments by status           gsi2: STATUS#<status> / <createdAt>#<id> (reconciliation: pending, oldest)
  all payments                 gsi3: PAYMENTS / <createdAt>#<id> (admin list, newest first)
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from harambee import aws
from harambee.outbox import TransactItem
from harambee.pagination import PageRequest, encode_cursor
from harambee.settings import platform_settings
from payments.domain.payment import Payable, PayableKind, Payment, PaymentStatus

Item = dict[str, Any]


def _table() -> str:
    return platform_settings().table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def payment_pk(payment_id: str) -> str:
    return f"PAYMENT#{payment_id}"


def payable_pk(kind: PayableKind, payable_id: str) -> str:
    return f"PAYABLE#{kind}#{payable_id}"


# ------------------------------------------------------------------ payments


def payment_item(payment: Payment) -> Item:
    order = f"{payment.created_at.isoformat()}#{payment.payment_id}"
    return {
        "pk": _s(payment_pk(payment.payment_id)),
        "sk": _s("PAYMENT"),
        "document": _s(payment.model_dump_json(by_alias=True)),
        "version": {"N": str(payment.version)},
        "status": _s(str(payment.status)),
        "gsi1pk": _s(payable_pk(payment.payable_kind, payment.payable_id)),
        "gsi1sk": _s(order),
        "gsi2pk": _s(f"STATUS#{payment.status}"),
        "gsi2sk": _s(order),
        "gsi3pk": _s("PAYMENTS"),
        "gsi3sk": _s(order),
    }


def _payment_of(item: Item) -> Payment:
    return Payment.model_validate_json(item["document"]["S"])


def put_new_payment(payment: Payment) -> TransactItem:
    return {
        "Put": {
            "TableName": _table(),
            "Item": payment_item(payment),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def put_payment(before: Payment, after: Payment) -> TransactItem:
    """Save `after` only if nobody saved the payment since `before` was read (version check)."""
    saved = after.model_copy(update={"version": before.version + 1})
    return {
        "Put": {
            "TableName": _table(),
            "Item": payment_item(saved),
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": {":read": {"N": str(before.version)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def find_payment(payment_id: str) -> Payment | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"pk": _s(payment_pk(payment_id)), "sk": _s("PAYMENT")}, ConsistentRead=True
    )
    item = found.get("Item")
    return _payment_of(item) if item else None


def history_put(payment_id: str, entry: dict[str, Any], at: datetime) -> TransactItem:
    item = {
        "pk": _s(payment_pk(payment_id)),
        "sk": _s(f"HISTORY#{at.isoformat()}#{uuid.uuid4().hex[:8]}"),
        "entry": _s(json.dumps(entry, separators=(",", ":"))),
    }
    return {"Put": {"TableName": _table(), "Item": item}}


def history(payment_id: str) -> list[dict[str, Any]]:
    """The payment's recorded transitions and ignored signals, oldest first."""
    paginator = aws.dynamodb().get_paginator("query")
    entries: list[dict[str, Any]] = []
    for page in paginator.paginate(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :history)",
        ExpressionAttributeValues={":pk": _s(payment_pk(payment_id)), ":history": _s("HISTORY#")},
        ConsistentRead=True,
    ):
        entries.extend(json.loads(item["entry"]["S"]) for item in page.get("Items", []))
    return entries


def refund_put(payment_id: str, refund: dict[str, Any], *, new: bool) -> TransactItem:
    item = {
        "pk": _s(payment_pk(payment_id)),
        "sk": _s(f"REFUND#{refund['refundId']}"),
        "refund": _s(json.dumps(refund, separators=(",", ":"))),
    }
    put: dict[str, Any] = {"TableName": _table(), "Item": item}
    if new:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}


# ------------------------------------------------------------------ payables


def payable_upsert(payable: Payable) -> TransactItem:
    """Record a payable; the same payable announced again must say the same amount and currency."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"pk": _s(payable_pk(payable.kind, payable.payable_id)), "sk": _s("PAYABLE")},
            "UpdateExpression": "SET payable = if_not_exists(payable, :payable), amount = :amount, "
            "currency = :currency",
            # No amount yet: new, or only closed by the saga before the announcement arrived.
            "ConditionExpression": "attribute_not_exists(amount) "
            "OR (amount = :amount AND currency = :currency)",
            "ExpressionAttributeValues": {
                ":payable": _s(payable.model_dump_json(by_alias=True)),
                ":amount": {"N": str(payable.amount)},
                ":currency": _s(payable.currency),
            },
        }
    }


def find_payable(kind: PayableKind, payable_id: str) -> tuple[Payable, str | None] | None:
    """The payable and the id of its active (not failed) payment, if any."""
    found = aws.dynamodb().get_item(
        TableName=_table(),
        Key={"pk": _s(payable_pk(kind, payable_id)), "sk": _s("PAYABLE")},
        ConsistentRead=True,
    )
    item = found.get("Item")
    if not item or "payable" not in item:
        return None
    active = item.get("activePaymentId", {}).get("S")
    return Payable.model_validate_json(item["payable"]["S"]), active


def claim_payable(payment: Payment) -> TransactItem:
    """Make `payment` the payable's active payment; fails while another one is active."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"pk": _s(payable_pk(payment.payable_kind, payment.payable_id)), "sk": _s("PAYABLE")},
            "UpdateExpression": "SET activePaymentId = :payment",
            "ConditionExpression": "attribute_exists(payable) AND attribute_not_exists(activePaymentId) "
            "AND attribute_not_exists(closedReason)",
            "ExpressionAttributeValues": {":payment": _s(payment.payment_id)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def close_payable(kind: PayableKind, payable_id: str, reason: str) -> None:
    """No payment may start for this payable any more (the saga failed its pledge); idempotent."""
    aws.dynamodb().update_item(
        TableName=_table(),
        Key={"pk": _s(payable_pk(kind, payable_id)), "sk": _s("PAYABLE")},
        UpdateExpression="SET closedReason = if_not_exists(closedReason, :reason)",
        ExpressionAttributeValues={":reason": _s(reason)},
    )


def release_payable(payment: Payment) -> TransactItem:
    """A failed payment frees its payable for another attempt."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"pk": _s(payable_pk(payment.payable_kind, payment.payable_id)), "sk": _s("PAYABLE")},
            "UpdateExpression": "REMOVE activePaymentId",
            "ConditionExpression": "activePaymentId = :payment",
            "ExpressionAttributeValues": {":payment": _s(payment.payment_id)},
        }
    }


# ------------------------------------------------------------------ webhooks and the sandbox


def webhook_key(provider: str, event_id: str) -> tuple[str, str]:
    return f"WEBHOOK#{provider}#{event_id}", "WEBHOOK"


def webhook_receipt_put(
    provider: str,
    event_id: str,
    *,
    raw_body: bytes,
    signature: str | None,
    outcome: dict[str, Any],
    at: datetime,
) -> TransactItem:
    """The provider's notification exactly as received; a second copy of one event id is refused."""
    pk, sk = webhook_key(provider, event_id)
    item: Item = {
        "pk": _s(pk),
        "sk": _s(sk),
        "rawBody": _s(raw_body.decode("utf-8", errors="replace")),
        "receivedAt": _s(at.isoformat()),
        "outcome": _s(json.dumps(outcome, separators=(",", ":"))),
    }
    if signature:
        item["signature"] = _s(signature)
    return {
        "Put": {
            "TableName": _table(),
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def find_webhook(provider: str, event_id: str) -> Item | None:
    pk, sk = webhook_key(provider, event_id)
    found = aws.dynamodb().get_item(TableName=_table(), Key={"pk": _s(pk), "sk": _s(sk)}, ConsistentRead=True)
    item: Item | None = found.get("Item")
    return item


def sandbox_outcome(payment_id: str) -> str | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"pk": _s(f"SANDBOX#{payment_id}"), "sk": _s("SANDBOX")}, ConsistentRead=True
    )
    item = found.get("Item")
    return item["outcome"]["S"] if item else None


def record_sandbox_outcome(payment_id: str, outcome: str) -> bool:
    """Remember what the simulated payer chose; False when a different choice was already made."""
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item={"pk": _s(f"SANDBOX#{payment_id}"), "sk": _s("SANDBOX"), "outcome": _s(outcome)},
            ConditionExpression="attribute_not_exists(pk) OR outcome = :outcome",
            ExpressionAttributeValues={":outcome": _s(outcome)},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


# ------------------------------------------------------------------ lists


def _page(
    index: str, partition: str, page: PageRequest, *, newest_first: bool, before: str | None = None
) -> tuple[list[Payment], str | None]:
    hash_name, range_name = f"{index}pk", f"{index}sk"
    condition = f"{hash_name} = :partition"
    values: dict[str, Any] = {":partition": _s(partition)}
    if before is not None:
        condition += f" AND {range_name} < :before"
        values[":before"] = _s(before)
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not newest_first,
        "Limit": page.limit + 1,
    }
    start = page.start_key_bound_to(**{hash_name: partition})
    if start is not None:
        request["ExclusiveStartKey"] = start
    items: list[Item] = []
    while len(items) <= page.limit:
        response = aws.dynamodb().query(**request)
        items.extend(response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        request["ExclusiveStartKey"] = last
    kept = items[: page.limit]
    cursor = None
    if len(items) > page.limit:
        last_kept = kept[-1]
        cursor = encode_cursor({name: last_kept[name] for name in ("pk", "sk", hash_name, range_name)})
    return [_payment_of(item) for item in kept], cursor


def payments_of_payable(
    kind: PayableKind, payable_id: str, page: PageRequest
) -> tuple[list[Payment], str | None]:
    return _page("gsi1", payable_pk(kind, payable_id), page, newest_first=True)


def payments_by_status(status: PaymentStatus, page: PageRequest) -> tuple[list[Payment], str | None]:
    return _page("gsi2", f"STATUS#{status}", page, newest_first=True)


def all_payments(page: PageRequest) -> tuple[list[Payment], str | None]:
    return _page("gsi3", "PAYMENTS", page, newest_first=True)


def unsettled_created_before(
    status: PaymentStatus, cutoff: datetime, page: PageRequest
) -> tuple[list[Payment], str | None]:
    """Payments in `status` created before `cutoff`, oldest first (reconciliation's work list)."""
    return _page("gsi2", f"STATUS#{status}", page, newest_first=False, before=cutoff.isoformat())
