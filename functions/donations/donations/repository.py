"""Donations' storage in DonationsTable (boto3 TransactItems, so every change commits with its event).

Access patterns (pk / sk; indexes):
  pledge by id                  PLEDGE#<id> / PLEDGE (document JSON, version for optimistic locking)
  a donor's pledges             gsi1: DONOR#<userId> / <createdAt>#<id>        (newest first)
  a campaign's completed ones   gsi2: CAMPAIGN#<campaignId>#COMPLETED / <completedAt>#<id>
                                (sparse: only completed pledges; a fully refunded one leaves it)
  completed sums, all campaigns Scan of the sparse gsi2 (ops task only, paginated, never a request path)

gsi1 projects KEYS_ONLY and gsi2 INCLUDE campaignId, currency, netAmount (what the sums read): a
pledge's updates change its document, which no index holds, so they write no index entry; the lists
read a page of keys, then the pledges with one BatchGetItem. The document leaves out fields still at
their defaults, to keep a completed pledge's item near 1 KB.
  outbox rows                   OUTBOX#<eventId> / OUTBOX (kernel), processed markers PROCESSED#<eventId>
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from donations.domain.pledge import Pledge, PledgeStatus
from harambee import aws
from harambee.dynamo import batch_get
from harambee.outbox import TransactItem
from harambee.pagination import PageRequest, query_page
from harambee.settings import platform_settings

Item = dict[str, Any]
PLEDGE_SK = "PLEDGE"


def _table() -> str:
    return platform_settings().table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def pledge_pk(pledge_id: str) -> str:
    return f"PLEDGE#{pledge_id}"


def campaign_completed_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#COMPLETED"


def pledge_item(pledge: Pledge) -> Item:
    item: Item = {
        "pk": _s(pledge_pk(pledge.pledge_id)),
        "sk": _s(PLEDGE_SK),
        "document": _s(pledge.model_dump_json(by_alias=True, exclude_defaults=True)),
        "version": {"N": str(pledge.version)},
        "status": _s(str(pledge.status)),
        "campaignId": _s(pledge.campaign_id),
    }
    if pledge.donor_id:
        item["gsi1pk"] = _s(f"DONOR#{pledge.donor_id}")
        item["gsi1sk"] = _s(f"{pledge.created_at.isoformat()}#{pledge.pledge_id}")
    if pledge.status is PledgeStatus.COMPLETED and pledge.completed_at is not None:
        item["gsi2pk"] = _s(campaign_completed_pk(pledge.campaign_id))
        item["gsi2sk"] = _s(f"{pledge.completed_at.isoformat()}#{pledge.pledge_id}")
        # Net of partial refunds, so the sums need no second read.
        item["netAmount"] = {"N": str(pledge.amount - pledge.refunded_amount)}
        item["currency"] = _s(pledge.currency)
    return item


def _pledge_of(item: Item) -> Pledge:
    return Pledge.model_validate_json(item["document"]["S"])


def put_new_pledge(pledge: Pledge) -> TransactItem:
    return {
        "Put": {
            "TableName": _table(),
            "Item": pledge_item(pledge),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def put_pledge(before: Pledge, after: Pledge) -> TransactItem:
    """Save `after` only if nobody saved the pledge since `before` was read (version check)."""
    saved = after.model_copy(update={"version": before.version + 1})
    return {
        "Put": {
            "TableName": _table(),
            "Item": pledge_item(saved),
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": {":read": {"N": str(before.version)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def pledge_in_status(pledge_id: str, status: PledgeStatus) -> TransactItem:
    """A ConditionCheck that the pledge is (still) in `status`."""
    return {
        "ConditionCheck": {
            "TableName": _table(),
            "Key": {"pk": _s(pledge_pk(pledge_id)), "sk": _s(PLEDGE_SK)},
            "ConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": _s(str(status))},
        }
    }


def find_pledge(pledge_id: str) -> Pledge | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"pk": _s(pledge_pk(pledge_id)), "sk": _s(PLEDGE_SK)}, ConsistentRead=True
    )
    item = found.get("Item")
    return _pledge_of(item) if item else None


def pledge_from_conflict_item(item: Item | None) -> Pledge | None:
    """The stored pledge a failed put-if-absent returned (ReturnValuesOnConditionCheckFailure)."""
    return _pledge_of(item) if item and "document" in item else None


def _page(index: str, partition: str, page: PageRequest) -> tuple[list[Pledge], str | None]:
    hash_name, range_name = f"{index}pk", f"{index}sk"
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": f"{hash_name} = :partition",
        "ExpressionAttributeValues": {":partition": _s(partition)},
        "ScanIndexForward": False,
    }
    kept, cursor = query_page(
        request, page, ("pk", "sk", hash_name, range_name), partition={hash_name: partition}
    )
    return _batch_get_pledges(kept), cursor


def _batch_get_pledges(keys: list[Item]) -> list[Pledge]:
    """The pledges of index keys, in the keys' order."""
    items = batch_get(_table(), [{"pk": key["pk"], "sk": key["sk"]} for key in keys])
    return [_pledge_of(item) for item in items]


def pledges_of_donor(user_id: str, page: PageRequest) -> tuple[list[Pledge], str | None]:
    return _page("gsi1", f"DONOR#{user_id}", page)


def completed_pledges_of_campaign(campaign_id: str, page: PageRequest) -> tuple[list[Pledge], str | None]:
    return _page("gsi2", campaign_completed_pk(campaign_id), page)


def completed_sums(campaign_id: str | None = None) -> list[dict[str, Any]]:
    """Per campaign and currency: the net amount and number of completed pledges.

    By campaign: a Query of its gsi2 partition. All campaigns: a paginated Scan of the sparse gsi2,
    which holds only completed pledges (an operator's check, never a request path).
    """
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "gsi2",
        "ProjectionExpression": "campaignId, currency, netAmount",
    }
    if campaign_id:
        request["KeyConditionExpression"] = "gsi2pk = :partition"
        request["ExpressionAttributeValues"] = {":partition": _s(campaign_completed_pk(campaign_id))}
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    client = aws.dynamodb()
    pages = client.get_paginator("query" if campaign_id else "scan").paginate(**request)
    for page in pages:
        for item in page.get("Items", []):
            sums = totals[(item["campaignId"]["S"], item["currency"]["S"])]
            sums[0] += int(item["netAmount"]["N"])
            sums[1] += 1
    return [
        {"campaignId": campaign, "currency": currency, "amount": amount, "count": count}
        for (campaign, currency), (amount, count) in sorted(totals.items())
    ]
