"""`{"task": "query.rebuild"}`: recompute every aggregate from the facts the table journals.

The journal is the table itself: one DONATION item per completed pledge (refunds folded in) and one
CAMPAIGN item per campaign (its newest snapshot). Every aggregate -- campaign shards, distinct donor
memberships, donor statistics, platform shards, the ranking -- is a pure function of those, so the
rebuild computes them all, compares with what is stored and writes only the differences. Running it
twice changes nothing the second time; it never adds to a counter, so it cannot double count.

Each write is conditional on the item being exactly as the rebuild read it: a live event that
lands meanwhile makes that write fail (`raced`), never lost. A table scan is not a snapshot, so when
`raced` is not zero (or the inbox was busy), run it again until it reports no change.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from harambee import aws
from harambee.observability import logger
from harambee.settings import platform_settings
from query import repository
from query.domain.projection import ACTIVE_STATUS, CurrencyStatistics, Donation, shard_of

Item = repository.Item
Key = tuple[str, str]


@dataclass
class Journal:
    donations: list[Donation] = field(default_factory=list)
    campaigns: dict[str, Item] = field(default_factory=dict)


def _is_aggregate(pk: str, sk: str) -> bool:
    """Items the rebuild owns (and may delete); every other item is journal, marker or outbox."""
    if sk.startswith("SHARD#"):
        return pk.startswith("CAMPAIGN#") or pk == repository.PLATFORM
    return pk.startswith("DONOR#")


def read_table() -> tuple[Journal, dict[Key, Item]]:
    journal, aggregates = Journal(), {}
    for item in repository.scan_all():
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if sk == repository.DONATION_SK and pk.startswith("PLEDGE#"):
            journal.donations.append(repository.donation_of(item))
        elif sk == repository.CAMPAIGN_SK and pk.startswith("CAMPAIGN#"):
            journal.campaigns[pk.removeprefix("CAMPAIGN#")] = item
        elif _is_aggregate(pk, sk):
            aggregates[(pk, sk)] = item
    return journal, aggregates


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class _Aggregates:
    """The aggregate items a journal implies, built donation by donation, oldest first."""

    def __init__(self) -> None:
        self.items: dict[Key, Item] = {}
        self.of_campaign: dict[tuple[str, str], int] = defaultdict(int)
        self.of_platform: dict[str, int] = defaultdict(int)
        self.donor_ids: dict[str, str] = {}
        self.statistics: dict[str, dict[str, CurrencyStatistics]] = defaultdict(dict)

    def item(self, pk: str, sk: str) -> Item:
        return self.items.setdefault((pk, sk), {"pk": {"S": pk}, "sk": {"S": sk}})

    @staticmethod
    def add(target: Item, name: str, value: int) -> None:
        target[name] = _n(int(target.get(name, {"N": "0"})["N"]) + value)

    def donation(self, donation: Donation) -> None:
        contribution = donation.contribution()
        shard = repository.shard_sk(shard_of(donation.pledge_id))
        campaign_shard = self.item(repository.campaign_pk(donation.campaign_id), shard)
        platform_shard = self.item(repository.PLATFORM, shard)
        self.add(campaign_shard, "raised", contribution.net)
        self.add(campaign_shard, "donations", contribution.active)
        campaign_shard["currency"] = {"S": donation.currency}
        at = donation.completed_at.isoformat()
        if at > campaign_shard.get("lastDonationAt", {"S": ""})["S"]:
            campaign_shard["lastDonationAt"] = {"S": at}
        self.add(platform_shard, f"raised#{donation.currency}", contribution.net)
        self.add(platform_shard, "donations", contribution.active)
        membership = (donation.donor_key, donation.campaign_id)
        joined_campaign = int(contribution.active > 0 and self.of_campaign[membership] == 0)
        self.add(campaign_shard, "donors", joined_campaign)
        self.add(
            platform_shard,
            "donors",
            int(contribution.active > 0 and self.of_platform[donation.donor_key] == 0),
        )
        self.of_campaign[membership] += contribution.active
        self.of_platform[donation.donor_key] += contribution.active
        if donation.donor_id:
            self.donor_ids[donation.donor_key] = donation.donor_id
        mine = self.statistics[donation.donor_key]
        current = mine.get(donation.currency) or CurrencyStatistics(currency=donation.currency)
        mine[donation.currency] = current.after(contribution, joined_campaign, donation.completed_at)

    def donors(self) -> None:
        for (donor, campaign_id), active in self.of_campaign.items():
            member = self.item(f"DONOR#{donor}", f"CAMPAIGN#{campaign_id}")
            member.update(active=_n(active), campaignId={"S": campaign_id}, version=_n(1))
        for donor, active in self.of_platform.items():
            record = self.item(f"DONOR#{donor}", repository.DONOR_SK)
            dumped = {c: s.model_dump(mode="json", by_alias=True) for c, s in self.statistics[donor].items()}
            record.update(active=_n(active), statistics={"S": json.dumps(dumped)}, version=_n(1))
            if donor in self.donor_ids:
                record["userId"] = {"S": self.donor_ids[donor]}

    def campaign(self, campaign_id: str, campaign: Item) -> None:
        if "snapshotAt" not in campaign:
            return  # only ranked or goal-marked so far: campaign.created has not arrived
        platform_shard = self.item(repository.PLATFORM, repository.shard_sk(shard_of(campaign_id)))
        self.add(platform_shard, "campaigns", 1)
        self.add(platform_shard, "activeCampaigns", int(campaign.get("status", {}).get("S") == ACTIVE_STATUS))


def aggregates_of(journal: Journal) -> dict[Key, Item]:
    """Every aggregate item the journal implies, keyed by (pk, sk). Deterministic for a given journal."""
    aggregates = _Aggregates()
    # Oldest first, so a donor counts in the shard of their first donation that still counts.
    for donation in sorted(journal.donations, key=lambda d: (d.completed_at, d.pledge_id)):
        aggregates.donation(donation)
    aggregates.donors()
    for campaign_id, campaign in journal.campaigns.items():
        aggregates.campaign(campaign_id, campaign)
    return aggregates.items


def _normalised(item: Item) -> dict[str, Any]:
    """The values that matter: no version, zero counters same as absent, statistics as data."""
    values: dict[str, Any] = {}
    for name, value in item.items():
        if name in ("version", "pk", "sk"):
            continue
        if "N" in value:
            if int(value["N"]) != 0:
                values[name] = int(value["N"])
        elif name == "statistics":
            values[name] = json.loads(value["S"])
        else:
            values[name] = value
    return values


def _unchanged_since(read: Item | None) -> dict[str, Any]:
    """A condition that holds only if the item is still exactly as the rebuild read it."""
    if read is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    names, values, clauses = {}, {}, ["attribute_exists(pk)"]
    for index, (name, value) in enumerate(read.items()):
        if name in ("pk", "sk"):
            continue
        names[f"#a{index}"] = name
        values[f":a{index}"] = value
        clauses.append(f"#a{index} = :a{index}")
    condition: dict[str, Any] = {"ConditionExpression": " AND ".join(clauses)}
    if names:
        condition.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    return condition


def _conditional(call: str, **request: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        getattr(aws.dynamodb(), call)(TableName=platform_settings().table_name, **request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def run(event: dict[str, Any] | None = None) -> dict[str, int]:
    """Rebuild every aggregate; the counts say what changed (all zero but `unchanged` on a rerun)."""
    journal, stored = read_table()
    counts: Counter[str] = Counter(donations=len(journal.donations), campaigns=len(journal.campaigns))
    for key, wanted in aggregates_of(journal).items():
        read = stored.pop(key, None)
        if read is not None and _normalised(read) == _normalised(wanted):
            counts["unchanged"] += 1
            continue
        if "version" in wanted:
            # Live writers condition on the version they read: moving it makes them re-read.
            wanted["version"] = _n(int((read or {}).get("version", {"N": "0"})["N"]) + 1)
        written = _conditional("put_item", Item=wanted, **_unchanged_since(read))
        counts["written" if written else "raced"] += 1
    for read in stored.values():
        if not _normalised(read):
            counts["unchanged"] += 1  # an all-zero counter says the same as no item
            continue
        deleted = _conditional(
            "delete_item", Key={"pk": read["pk"], "sk": read["sk"]}, **_unchanged_since(read)
        )
        counts["deleted" if deleted else "raced"] += 1
    campaign_ids = set(journal.campaigns) | {donation.campaign_id for donation in journal.donations}
    for campaign_id in sorted(campaign_ids):
        counts["reranked"] += repository.refresh_rank(
            repository.campaign_totals(campaign_id, consistent=True)
        )
    result = {
        name: counts[name]
        for name in ("donations", "campaigns", "written", "deleted", "unchanged", "raced", "reranked")
    }
    logger.info("Read models rebuilt", extra={"rebuild": result})
    return result
