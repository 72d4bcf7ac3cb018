"""Payments' storage in PaymentsTable (boto3 TransactItems, so every change commits with its event).

Access patterns (pk / sk; indexes):
  payment by id                PAYMENT#<id> / PAYMENT (document JSON, version for optimistic locking)
  a payment's history          PAYMENT#<id> / HISTORY#<at>#<n>, and the `entry` of its webhook
                               receipts; the opening entry is the payment's own createdAt (query pk)
  a payment's refunds          PAYMENT#<id> / REFUND#<refundId>
  what a payable costs         PAYABLE#<kind>#<id> / PAYABLE      (from the inbox; activePaymentId;
                               closedReason once the donation saga gave the pledge up)
  a provider notification      PAYMENT#<paymentId> / WEBHOOK#<provider>#<eventId> when it names a payment,
                               else WEBHOOK#<provider>#<eventId> / WEBHOOK: the raw payload, put-if-absent
                               (dedup), and the history entry of the signal it carried
  sandbox outcome              SANDBOX#<paymentId> / SANDBOX
  payments of a payable        gsi1: PAYABLE#<kind>#<id> / gsisk
  payments by status           gsi2: STATUS#<status> / gsisk (reconciliation: pending, oldest first)
  all payments                 gsi3: PAYMENTS / gsisk (admin list, newest first)

The three indexes share one sort key, gsisk = <createdAt>#<id>, and project KEYS_ONLY: a payment's
updates change only its document, which no index holds, so they write no index (only a status change
moves its gsi2 entry); a list reads a page of keys and then the payments with one BatchGetItem.
Both keep a payment item under 1 KB (one write unit, two in a transaction): the document leaves out
fields still at their defaults.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from harambee import aws
from harambee.dynamo import batch_get
from harambee.outbox import TransactItem
from harambee.pagination import PageRequest, query_page
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


PAYMENT_SK = "PAYMENT"
# Every GSI's sort key: creation order, ties broken by id.
INDEX_SORT_KEY = "gsisk"


def payment_item(payment: Payment) -> Item:
    return {
        "pk": _s(payment_pk(payment.payment_id)),
        "sk": _s(PAYMENT_SK),
        # Defaults (zero amounts, no flag, status pending) are left out: the model restores them.
        "document": _s(payment.model_dump_json(by_alias=True, exclude_defaults=True)),
        "version": {"N": str(payment.version)},
        "gsi1pk": _s(payable_pk(payment.payable_kind, payment.payable_id)),
        "gsi2pk": _s(f"STATUS#{payment.status}"),
        "gsi3pk": _s("PAYMENTS"),
        INDEX_SORT_KEY: _s(f"{payment.created_at.isoformat()}#{payment.payment_id}"),
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


def save_payment(before: Payment, after: Payment) -> bool:
    """A version-checked put on its own (no event rides with it); False when another write came first."""
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().put_item(**put_payment(before, after)["Put"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def find_payment(payment_id: str) -> Payment | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"pk": _s(payment_pk(payment_id)), "sk": _s(PAYMENT_SK)}, ConsistentRead=True
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


def opening_entry(payment: Payment) -> dict[str, Any]:
    """The history's first entry, which the payment item itself records (no item of its own)."""
    return {"at": payment.created_at.isoformat(), "from": None, "to": "pending", "source": "api:initiate"}


def history(payment: Payment) -> list[dict[str, Any]]:
    """The payment's transitions and ignored signals, oldest first: its opening, history items, receipts."""
    paginator = aws.dynamodb().get_paginator("query")
    entries: list[dict[str, Any]] = []
    for page in paginator.paginate(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _s(payment_pk(payment.payment_id))},
        ProjectionExpression="sk, entry",
        ConsistentRead=True,
    ):
        entries.extend(json.loads(item["entry"]["S"]) for item in page.get("Items", []) if "entry" in item)
    entries.sort(key=lambda entry: str(entry["at"]))
    return [opening_entry(payment), *entries]


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


def record_payable(payable: Payable) -> bool:
    """`payable_upsert` on its own (one item, no event: no transaction); False when it disagrees."""
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().update_item(**payable_upsert(payable)["Update"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


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
    """A failed payment frees its payable for another attempt; a pledge's is closed instead, because
    its failure fails the pledge (the saga's PaymentFailed) and a retry would take money for nothing."""
    values = {":payment": _s(payment.payment_id)}
    expression = "REMOVE activePaymentId"
    if payment.payable_kind is PayableKind.PLEDGE:
        expression += " SET closedReason = if_not_exists(closedReason, :reason)"
        values[":reason"] = _s("payment_failed")
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"pk": _s(payable_pk(payment.payable_kind, payment.payable_id)), "sk": _s("PAYABLE")},
            "UpdateExpression": expression,
            "ConditionExpression": "activePaymentId = :payment",
            "ExpressionAttributeValues": values,
        }
    }


def payable_closed(kind: PayableKind, payable_id: str) -> str | None:
    """Why the payable no longer takes payments (its pledge failed), or None while it does."""
    found = aws.dynamodb().get_item(
        TableName=_table(),
        Key={"pk": _s(payable_pk(kind, payable_id)), "sk": _s("PAYABLE")},
        ProjectionExpression="closedReason",
        ConsistentRead=True,
    )
    reason: str | None = found.get("Item", {}).get("closedReason", {}).get("S")
    return reason


# ------------------------------------------------------------------ webhooks and the sandbox


def webhook_key(provider: str, event_id: str, payment_id: str | None) -> tuple[str, str]:
    """Where one notification is kept: with the payment it names (its history reads it there)."""
    if payment_id is not None:
        return payment_pk(payment_id), f"WEBHOOK#{provider}#{event_id}"
    return f"WEBHOOK#{provider}#{event_id}", "WEBHOOK"


def webhook_receipt_put(
    provider: str,
    event_id: str,
    payment_id: str | None,
    *,
    raw_body: bytes,
    signature: str | None,
    outcome: dict[str, Any],
    at: datetime,
    entry: dict[str, Any] | None = None,
) -> TransactItem:
    """The notification exactly as received, with the history entry of its signal; one per event id."""
    pk, sk = webhook_key(provider, event_id, payment_id)
    item: Item = {
        "pk": _s(pk),
        "sk": _s(sk),
        "rawBody": _s(raw_body.decode("utf-8", errors="replace")),
        "receivedAt": _s(at.isoformat()),
        "outcome": _s(json.dumps(outcome, separators=(",", ":"))),
    }
    if signature:
        item["signature"] = _s(signature)
    if entry is not None:
        item["entry"] = _s(json.dumps(entry, separators=(",", ":")))
    return {
        "Put": {
            "TableName": _table(),
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def find_webhook(provider: str, event_id: str, payment_id: str | None) -> Item | None:
    pk, sk = webhook_key(provider, event_id, payment_id)
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


def _batch_get_payments(keys: list[Item]) -> list[Payment]:
    """The payments of index keys, in the keys' order."""
    # A key the index still had but whose payment is gone cannot happen (payments are never deleted).
    items = batch_get(_table(), [{"pk": key["pk"], "sk": key["sk"]} for key in keys])
    return [_payment_of(item) for item in items]


def _page(
    index: str, partition: str, page: PageRequest, *, newest_first: bool, before: str | None = None
) -> tuple[list[Payment], str | None]:
    hash_name, range_name = f"{index}pk", INDEX_SORT_KEY
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
    }
    kept, cursor = query_page(
        request, page, ("pk", "sk", hash_name, range_name), partition={hash_name: partition}
    )
    return (_batch_get_payments(kept) if kept else []), cursor


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
