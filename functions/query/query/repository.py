"""The read models in QueryTable (boto3 TransactItems: each effect commits with its processed marker).

Access patterns (pk / sk; indexes):
  campaign totals        CAMPAIGN#<id> / CAMPAIGN     latest snapshot (title, type, status, goal, visibility)
                         CAMPAIGN#<id> / SHARD#<nn>   raised, donations, donors, lastDonationAt
                         -> ONE Query of CAMPAIGN#<id>: at most 1 + SHARD_COUNT small items at any size
  a donation (journal)   PLEDGE#<pledgeId> / DONATION  what was given and refunded; rebuilds start here
  campaign history       gsi1: HISTORY#<campaignId> / <completedAt>#<pledgeId>   (newest first)
  a user's history       gsi2: USERHISTORY#<userId> / <completedAt>#<pledgeId>   (newest first)
  donor of a campaign    DONOR#<donorKey> / CAMPAIGN#<campaignId>   active donations (distinct donors)
  donor                  DONOR#<donorKey> / DONOR     active donations, statistics per currency
  platform statistics    PLATFORM / SHARD#<nn>   raised#<CUR>, donations, donors, campaigns, activeCampaigns
  top campaigns          gsi3: TOP#<currency> / <raised:019d>#<campaignId>   on ranked CAMPAIGN items
  processed events       PROCESSED#<eventId> / query  (harambee.consumer)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harambee import aws
from harambee.dynamo import batch_get
from harambee.outbox import TransactItem
from harambee.pagination import PageRequest, query_page
from harambee.settings import platform_settings
from query.domain.campaign import CampaignSnapshot, is_ranked
from query.domain.projection import (
    SHARD_COUNT,
    Contribution,
    Counted,
    CurrencyStatistics,
    Donation,
    shard_of,
)

Item = dict[str, Any]
PLATFORM = "PLATFORM"
CAMPAIGN_SK = "CAMPAIGN"
DONATION_SK = "DONATION"
DONOR_SK = "DONOR"
RANK_DIGITS = 19


def _table() -> str:
    return platform_settings().table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _int(item: Item, name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else 0


def _str(item: Item, name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value and "S" in value else None


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def shard_sk(shard: int) -> str:
    return f"SHARD#{shard:02d}"


def donation_key(pledge_id: str) -> Item:
    return {"pk": _s(f"PLEDGE#{pledge_id}"), "sk": _s(DONATION_SK)}


def donor_campaign_key(donor_key: str, campaign_id: str) -> Item:
    return {"pk": _s(f"DONOR#{donor_key}"), "sk": _s(f"CAMPAIGN#{campaign_id}")}


def donor_item_key(donor_key: str) -> Item:
    return {"pk": _s(f"DONOR#{donor_key}"), "sk": _s(DONOR_SK)}


def campaign_key(campaign_id: str) -> Item:
    return {"pk": _s(campaign_pk(campaign_id)), "sk": _s(CAMPAIGN_SK)}


# ------------------------------------------------------------------ donations (journal)


def donation_item(donation: Donation) -> Item:
    order = f"{donation.completed_at.isoformat()}#{donation.pledge_id}"
    item: Item = {
        **donation_key(donation.pledge_id),
        "document": _s(donation.model_dump_json()),
        "campaignId": _s(donation.campaign_id),
        "refundedAmount": _n(donation.refunded_amount),
        "gsi1pk": _s(f"HISTORY#{donation.campaign_id}"),
        "gsi1sk": _s(order),
    }
    if donation.donor_id:
        item["gsi2pk"] = _s(f"USERHISTORY#{donation.donor_id}")
        item["gsi2sk"] = _s(order)
    return item


def donation_of(item: Item) -> Donation:
    return Donation.model_validate_json(item["document"]["S"])


@dataclass(frozen=True)
class DonorState:
    """What a donation event must read before it writes: the journal entry and the donor's counts."""

    donation: Donation | None
    of_campaign: Counted
    donor: Counted
    statistics: dict[str, CurrencyStatistics]


def _counted(item: Item | None) -> Counted:
    if not item:
        return Counted()
    return Counted(active=_int(item, "active"), version=_int(item, "version"))


def statistics_of(item: Item | None) -> dict[str, CurrencyStatistics]:
    raw = _str(item or {}, "statistics")
    if not raw:
        return {}
    return {currency: CurrencyStatistics.model_validate(value) for currency, value in json.loads(raw).items()}


def donor_state(incoming: Donation) -> DonorState:
    """One consistent BatchGetItem of the three items a donation event updates conditionally."""
    keys = {
        "donation": donation_key(incoming.pledge_id),
        "of_campaign": donor_campaign_key(incoming.donor_key, incoming.campaign_id),
        "donor": donor_item_key(incoming.donor_key),
    }
    found = {
        (item["pk"]["S"], item["sk"]["S"]): item
        for item in batch_get(_table(), list(keys.values()), consistent=True)
    }

    def get(name: str) -> Item | None:
        key = keys[name]
        return found.get((key["pk"]["S"], key["sk"]["S"]))

    stored = get("donation")
    donor = get("donor")
    return DonorState(
        donation=donation_of(stored) if stored else None,
        of_campaign=_counted(get("of_campaign")),
        donor=_counted(donor),
        statistics=statistics_of(donor),
    )


def _versioned(version: int) -> dict[str, Any]:
    if version == 0:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :version",
        "ExpressionAttributeValues": {":version": _n(version)},
    }


def _put(item: Item, condition: dict[str, Any]) -> TransactItem:
    return {
        "Put": {
            "TableName": _table(),
            "Item": item,
            **condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def put_donation(before: Donation | None, after: Donation) -> TransactItem:
    """The journal entry; refuses to overwrite a version of the donation it did not read."""
    if before is None:
        return _put(donation_item(after), {"ConditionExpression": "attribute_not_exists(pk)"})
    return _put(
        donation_item(after),
        {
            "ConditionExpression": "refundedAmount = :refunded",
            "ExpressionAttributeValues": {":refunded": _n(before.refunded_amount)},
        },
    )


def put_donor_of_campaign(donation: Donation, before: Counted, after: Counted) -> TransactItem:
    item = {
        **donor_campaign_key(donation.donor_key, donation.campaign_id),
        "active": _n(after.active),
        "version": _n(after.version),
        "campaignId": _s(donation.campaign_id),
    }
    return _put(item, _versioned(before.version))


def put_donor(
    donation: Donation, before: Counted, after: Counted, statistics: dict[str, CurrencyStatistics]
) -> TransactItem:
    item: Item = {
        **donor_item_key(donation.donor_key),
        "active": _n(after.active),
        "version": _n(after.version),
        "statistics": _s(
            json.dumps({c: s.model_dump(mode="json", by_alias=True) for c, s in statistics.items()})
        ),
    }
    if donation.donor_id:
        item["userId"] = _s(donation.donor_id)
    return _put(item, _versioned(before.version))


def add_to_campaign_shard(
    donation: Donation, change: Contribution, donors: int, *, last_donation_at: datetime | None
) -> TransactItem:
    """ADD to one of the campaign's shards, chosen by pledge id; lastDonationAt only moves forward."""
    update: dict[str, Any] = {
        "TableName": _table(),
        "Key": {
            "pk": _s(campaign_pk(donation.campaign_id)),
            "sk": _s(shard_sk(shard_of(donation.pledge_id))),
        },
        "UpdateExpression": "ADD raised :net, donations :active, donors :donors SET currency = :currency",
        "ExpressionAttributeValues": {
            ":net": _n(change.net),
            ":active": _n(change.active),
            ":donors": _n(donors),
            ":currency": _s(donation.currency),
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if last_donation_at is not None:
        update["UpdateExpression"] += ", lastDonationAt = :at"
        update["ConditionExpression"] = "attribute_not_exists(lastDonationAt) OR lastDonationAt < :at"
        update["ExpressionAttributeValues"][":at"] = _s(last_donation_at.isoformat())
    return {"Update": update}


def add_to_platform_shard(shard: int, counters: dict[str, int]) -> TransactItem:
    """ADD to one platform shard; counter names may carry a currency (`raised#BDT`)."""
    names = {f"#c{index}": name for index, name in enumerate(counters)}
    values = {f":c{index}": _n(value) for index, value in enumerate(counters.values())}
    additions = ", ".join(f"#c{index} :c{index}" for index in range(len(counters)))
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"pk": _s(PLATFORM), "sk": _s(shard_sk(shard))},
            "UpdateExpression": f"ADD {additions}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def campaign_shard_failed(campaign_id: str, pledge_id: str) -> tuple[str, str]:
    return campaign_pk(campaign_id), shard_sk(shard_of(pledge_id))


# ------------------------------------------------------------------ campaigns


@dataclass(frozen=True)
class CampaignTotals:
    """The campaign's item and its shards, summed: everything one Query of its partition returns."""

    campaign_id: str
    campaign: Item | None
    raised: int = 0
    donations: int = 0
    donors: int = 0
    currency: str | None = None
    last_donation_at: str | None = None
    read_units: float = 0.0
    shards: int = 0

    @property
    def exists(self) -> bool:
        return self.campaign is not None or self.shards > 0


def campaign_totals(campaign_id: str, *, consistent: bool = False) -> CampaignTotals:
    """ONE Query of the campaign's partition: the snapshot and every shard, never the donations."""
    response = aws.dynamodb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _s(campaign_pk(campaign_id))},
        ConsistentRead=consistent,
        ReturnConsumedCapacity="TOTAL",
    )
    # 1 + SHARD_COUNT items of a few hundred bytes: far below the 1 MB page, so one page always.
    campaign: Item | None = None
    raised = donations = donors = shards = 0
    currency: str | None = None
    last: str | None = None
    for item in response.get("Items", []):
        if item["sk"]["S"] == CAMPAIGN_SK:
            campaign = item
            continue
        shards += 1
        raised += _int(item, "raised")
        donations += _int(item, "donations")
        donors += _int(item, "donors")
        currency = currency or _str(item, "currency")
        at = _str(item, "lastDonationAt")
        last = max(last, at) if last and at else (last or at)
    consumed = response.get("ConsumedCapacity") or {}
    return CampaignTotals(
        campaign_id=campaign_id,
        campaign=campaign,
        raised=raised,
        donations=donations,
        donors=donors,
        currency=(_str(campaign, "currency") if campaign else None) or currency,
        last_donation_at=last,
        read_units=float(consumed.get("CapacityUnits", 0.0)),
        shards=shards,
    )


def find_campaign(campaign_id: str, *, consistent: bool = False) -> Item | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key=campaign_key(campaign_id), ConsistentRead=consistent
    )
    item: Item | None = found.get("Item")
    return item


def snapshot_at(item: Item | None) -> str | None:
    return _str(item or {}, "snapshotAt")


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    return _n(value) if isinstance(value, int) else _s(str(value))


def is_deleted(campaign: Item | None) -> bool:
    return bool((campaign or {}).get("deleted", {}).get("BOOL", False))


def put_snapshot(snapshot: CampaignSnapshot, read_snapshot_at: str | None) -> TransactItem:
    """SET the snapshot's fields (an Update: the rank fields on the same item stay), newest wins."""
    fields: dict[str, Any] = {
        "campaignId": snapshot.campaign_id,
        "ownerId": snapshot.owner_id,
        "title": snapshot.title,
        "campaignType": snapshot.type,
        "status": snapshot.status,
        "visibility": snapshot.visibility,
        "deleted": snapshot.deleted,
        "goalAmount": snapshot.goal_amount,
        "currency": snapshot.currency,
        "endDate": snapshot.end_date,
        "snapshotAt": snapshot.snapshot_at.isoformat(),
    }
    present = {name: value for name, value in fields.items() if value is not None}
    names = {f"#f{index}": name for index, name in enumerate(present)}
    values: dict[str, Any] = {f":f{index}": _attribute(value) for index, value in enumerate(present.values())}
    assignments = ", ".join(f"#f{index} = :f{index}" for index in range(len(present)))
    update: dict[str, Any] = {
        "TableName": _table(),
        "Key": campaign_key(snapshot.campaign_id),
        "UpdateExpression": f"SET {assignments}",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if read_snapshot_at is None:
        update["ConditionExpression"] = "attribute_not_exists(snapshotAt)"
    else:
        update["ConditionExpression"] = "snapshotAt = :read"
        values[":read"] = _s(read_snapshot_at)
    return {"Update": update}


def mark_goal_reached(campaign_id: str, reached_at: str) -> TransactItem:
    return {
        "Update": {
            "TableName": _table(),
            "Key": campaign_key(campaign_id),
            "UpdateExpression": "SET goalReachedAt = if_not_exists(goalReachedAt, :at), campaignId = :id",
            "ExpressionAttributeValues": {":at": _s(reached_at), ":id": _s(campaign_id)},
        }
    }


def rank_sort_key(raised: int, campaign_id: str) -> str:
    return f"{max(raised, 0):0{RANK_DIGITS}d}#{campaign_id}"


def refresh_rank(totals: CampaignTotals) -> bool:
    """Put the campaign in (or out of) the ranking by its summed shards; False when nothing changed."""
    campaign = totals.campaign or {}
    currency = totals.currency
    wanted = (
        (f"TOP#{currency}", rank_sort_key(totals.raised, totals.campaign_id))
        if currency
        and is_ranked(_str(campaign, "status"), _str(campaign, "visibility"), is_deleted(campaign))
        else None
    )
    stored = (_str(campaign, "gsi3pk"), _str(campaign, "gsi3sk"))
    if (wanted is None and stored == (None, None)) or wanted == stored:
        return False
    if wanted is None:
        aws.dynamodb().update_item(
            TableName=_table(), Key=campaign_key(totals.campaign_id), UpdateExpression="REMOVE gsi3pk, gsi3sk"
        )
        return True
    aws.dynamodb().update_item(
        TableName=_table(),
        Key=campaign_key(totals.campaign_id),
        UpdateExpression="SET gsi3pk = :pk, gsi3sk = :sk, rankedRaised = :raised, campaignId = :id",
        ExpressionAttributeValues={
            ":pk": _s(wanted[0]),
            ":sk": _s(wanted[1]),
            ":raised": _n(totals.raised),
            ":id": _s(totals.campaign_id),
        },
    )
    return True


# ------------------------------------------------------------------ reads for the routes


def _page(
    index: str, partition: str, page: PageRequest, *, newest_first: bool = True
) -> tuple[list[Item], str | None]:
    hash_name, range_name = f"{index}pk", f"{index}sk"
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": f"{hash_name} = :partition",
        "ExpressionAttributeValues": {":partition": _s(partition)},
        "ScanIndexForward": not newest_first,
    }
    kept, cursor = query_page(
        request, page, ("pk", "sk", hash_name, range_name), partition={hash_name: partition}
    )
    return kept, cursor


def campaign_donations(campaign_id: str, page: PageRequest) -> tuple[list[Donation], str | None]:
    items, cursor = _page("gsi1", f"HISTORY#{campaign_id}", page)
    return [donation_of(item) for item in items], cursor


def user_donations(user_id: str, page: PageRequest) -> tuple[list[Donation], str | None]:
    items, cursor = _page("gsi2", f"USERHISTORY#{user_id}", page)
    return [donation_of(item) for item in items], cursor


def top_campaigns(currency: str, page: PageRequest) -> tuple[list[Item], str | None]:
    return _page("gsi3", f"TOP#{currency}", page)


def user_statistics(user_id: str) -> dict[str, CurrencyStatistics]:
    found = aws.dynamodb().get_item(TableName=_table(), Key=donor_item_key(f"user:{user_id}"))
    return statistics_of(found.get("Item"))


@dataclass
class PlatformTotals:
    raised: dict[str, int] = field(default_factory=dict)
    donations: int = 0
    donors: int = 0
    campaigns: int = 0
    active_campaigns: int = 0


def platform_totals() -> PlatformTotals:
    """ONE Query of the platform's shards, summed."""
    response = aws.dynamodb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _s(PLATFORM)},
    )
    totals = PlatformTotals()
    for item in response.get("Items", []):
        totals.donations += _int(item, "donations")
        totals.donors += _int(item, "donors")
        totals.campaigns += _int(item, "campaigns")
        totals.active_campaigns += _int(item, "activeCampaigns")
        for name in item:
            if name.startswith("raised#"):
                currency = name.removeprefix("raised#")
                totals.raised[currency] = totals.raised.get(currency, 0) + _int(item, name)
    return totals


# ------------------------------------------------------------------ rebuild


def scan_all() -> Iterator[Item]:
    """Every item, page by page: only the operator's rebuild reads the whole table."""
    paginator = aws.dynamodb().get_paginator("scan")
    for page in paginator.paginate(TableName=_table(), ConsistentRead=True):
        yield from page.get("Items", [])


def shard_count() -> int:
    return SHARD_COUNT
