"""Campaigns' storage in CampaignsTable (boto3 TransactItems, so every change commits with its events).

Access patterns (pk / sk; indexes):
  campaign by id (+ totals)    CAMPAIGN#<id> / CAMPAIGN (document JSON, version) and / TOTALS
                               (raisedAmount, donationCount, donorCount, goalReachedAt): one Query
  what a pledge counts for     PLEDGE#<pledgeId> / PLEDGE (amount, refundedAmount, fullyRefunded,
                               donor, version): the totals move by the difference of its share
  a donor of a campaign        DONOR#<campaignId>#<donorKey> / DONOR (activeDonations: the donor
                               counts while it is above zero)
  one pot per user and year    POTYEAR#<userId>#<year> / POTYEAR (put-if-absent, holds the pot id)
  public listing               LISTED#<status> and LISTED#<status>#<type> / <createdAt>#<id>
  search                       WORD#<word> / <createdAt>#<id> (status, type, all words: filters)
  a person (projection)        PERSON#<userId> / PERSON (name, dateOfBirth, birthdateAt, deleted)
  birthdays of a day           BIRTHDAY#<MM-DD> / USER#<userId> (the daily pot run's Query)
  an owner's campaigns, pots   gsi1: OWNER#<ownerId> / CAMPAIGN|POT#<createdAt>#<id>
  campaigns by status (admin)  gsi2: STATUS#<status> / <createdAt>#<id>
  active by end date (expiry)  gsi3: ACTIVE / <endDate>#<id> (sparse: active, not deleted)

Listing and search entries are derived from the campaign and rewritten in the same transaction as
it, only for publicly listable campaigns; a search queries one word's partition and filters the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import date
from typing import Any

from campaigns.domain.campaign import Campaign, CampaignStatus, CampaignType
from campaigns.domain.search import campaign_words
from campaigns.domain.tally import PledgeTally, Share
from harambee import aws
from harambee.dynamo import batch_get
from harambee.outbox import TransactItem
from harambee.pagination import InvalidCursor, PageRequest, encode_cursor
from harambee.settings import platform_settings

Item = dict[str, Any]
CAMPAIGN_SK = "CAMPAIGN"
TOTALS_SK = "TOTALS"
# A filtered list reads at most this many DynamoDB pages for one page of results.
MAX_QUERY_ROUNDS = 10


def _table() -> str:
    return platform_settings().table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def _order(campaign: Campaign) -> str:
    return f"{campaign.created_at.isoformat(timespec='milliseconds')}#{campaign.campaign_id}"


# ------------------------------------------------------------------ campaigns


def campaign_item(campaign: Campaign) -> Item:
    kind = "POT" if campaign.is_pot else "CAMPAIGN"
    item: Item = {
        "pk": _s(campaign_pk(campaign.campaign_id)),
        "sk": _s(CAMPAIGN_SK),
        "document": _s(campaign.model_dump_json(by_alias=True)),
        "version": _n(campaign.version),
        "status": _s(str(campaign.status)),
        "type": _s(str(campaign.type)),
        "listed": {"BOOL": campaign.publicly_listable},
        "deleted": {"BOOL": campaign.deleted},
        "gsi1pk": _s(f"OWNER#{campaign.owner_id}"),
        "gsi1sk": _s(f"{kind}#{_order(campaign)}"),
        "gsi2pk": _s(f"STATUS#{campaign.status}"),
        "gsi2sk": _s(_order(campaign)),
    }
    if campaign.status is CampaignStatus.ACTIVE and not campaign.deleted:
        item["gsi3pk"] = _s("ACTIVE")
        item["gsi3sk"] = _s(f"{campaign.end_date.isoformat()}#{campaign.campaign_id}")
    return item


def campaign_of(item: Item) -> Campaign:
    return Campaign.model_validate_json(item["document"]["S"])


def find_campaign(campaign_id: str) -> Campaign | None:
    found = aws.dynamodb().get_item(
        TableName=_table(),
        Key={"pk": _s(campaign_pk(campaign_id)), "sk": _s(CAMPAIGN_SK)},
        ConsistentRead=True,
    )
    item = found.get("Item")
    return campaign_of(item) if item else None


def find_with_totals(campaign_id: str) -> tuple[Campaign | None, Totals]:
    """The campaign and its totals in one Query of its partition."""
    response = aws.dynamodb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _s(campaign_pk(campaign_id))},
        ConsistentRead=True,
    )
    campaign: Campaign | None = None
    totals = Totals()
    for item in response.get("Items", []):
        if item["sk"]["S"] == CAMPAIGN_SK:
            campaign = campaign_of(item)
        elif item["sk"]["S"] == TOTALS_SK:
            totals = Totals.of(item)
    return campaign, totals


def put_new_campaign(campaign: Campaign) -> list[TransactItem]:
    """The campaign and its listing/search entries; an id is never written twice."""
    put = {
        "Put": {
            "TableName": _table(),
            "Item": campaign_item(campaign),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    return [put, *index_changes(None, campaign)]


def put_campaign(before: Campaign, after: Campaign) -> tuple[Campaign, list[TransactItem]]:
    """Save `after` only if nobody saved the campaign since `before` was read; returns the saved one."""
    saved = after.model_copy(update={"version": before.version + 1})
    put = {
        "Put": {
            "TableName": _table(),
            "Item": campaign_item(saved),
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": {":read": _n(before.version)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    return saved, [put, *index_changes(before, saved)]


# ------------------------------------------------------------------ listing and search entries


def _entries(campaign: Campaign | None) -> dict[tuple[str, str], Item]:
    if campaign is None or not campaign.publicly_listable:
        return {}
    order = _order(campaign)
    found = campaign_words(campaign.title, campaign.description)
    common: Item = {
        "campaignId": _s(campaign.campaign_id),
        "status": _s(str(campaign.status)),
        "type": _s(str(campaign.type)),
    }
    entries = {
        (f"LISTED#{campaign.status}", order): common,
        (f"LISTED#{campaign.status}#{campaign.type}", order): common,
    }
    for word in found:
        entries[(f"WORD#{word}", order)] = {**common, "words": {"SS": found}}
    return entries


def index_changes(before: Campaign | None, after: Campaign | None) -> list[TransactItem]:
    """Deletes and puts that turn the entries of `before` into those of `after` (unchanged: none)."""
    old, new = _entries(before), _entries(after)
    changes: list[TransactItem] = []
    for pk, sk in old.keys() - new.keys():
        changes.append({"Delete": {"TableName": _table(), "Key": {"pk": _s(pk), "sk": _s(sk)}}})
    for (pk, sk), attributes in new.items():
        if old.get((pk, sk)) != attributes:
            item = {"pk": _s(pk), "sk": _s(sk), **attributes}
            changes.append({"Put": {"TableName": _table(), "Item": item}})
    return changes


def _batch_get_campaigns(ids: Sequence[str]) -> list[Campaign]:
    """Campaign documents in the order of `ids` (those that still exist)."""
    keys = [{"pk": _s(campaign_pk(campaign_id)), "sk": _s(CAMPAIGN_SK)} for campaign_id in ids]
    found = {
        campaign.campaign_id: campaign
        for campaign in map(campaign_of, batch_get(_table(), keys, consistent=True))
    }
    return [found[campaign_id] for campaign_id in ids if campaign_id in found]


def totals_of(ids: Sequence[str]) -> dict[str, Totals]:
    """The totals of up to 100 campaigns (eventually consistent: list cards, not decisions)."""
    keys = [{"pk": _s(campaign_pk(campaign_id)), "sk": _s(TOTALS_SK)} for campaign_id in ids]
    return {item["pk"]["S"].removeprefix("CAMPAIGN#"): Totals.of(item) for item in batch_get(_table(), keys)}


def _filtered_page(
    request: Item, page: PageRequest, key_names: Sequence[str], partition: dict[str, str]
) -> tuple[list[Item], str | None]:
    """One page of a Query whose FilterExpression may drop rows; the cursor is the last row kept."""
    start = page.start_key_bound_to(**partition)
    if start is not None:
        if set(start) != set(key_names):
            raise InvalidCursor("The `next` cursor belongs to another list")
        request["ExclusiveStartKey"] = start
    rows: list[Item] = []
    for _round in range(1, MAX_QUERY_ROUNDS + 1):
        response = aws.dynamodb().query(**request)
        rows.extend(response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if len(rows) > page.limit or not last:
            break
        if _round == MAX_QUERY_ROUNDS:
            # Read budget spent on filtered-out rows: return what matched and resume where reading stopped.
            return rows, encode_cursor(last)
        request["ExclusiveStartKey"] = last
    kept = rows[: page.limit]
    cursor = encode_cursor({name: kept[-1][name] for name in key_names}) if len(rows) > page.limit else None
    return kept, cursor


def public_listing(
    status: CampaignStatus, campaign_type: CampaignType | None, page: PageRequest
) -> tuple[list[Campaign], str | None]:
    """Publicly listable campaigns in `status` (and `type`), newest first."""
    partition = f"LISTED#{status}" + (f"#{campaign_type}" if campaign_type else "")
    request: Item = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": _s(partition)},
        "ScanIndexForward": False,
        "Limit": page.limit + 1,
    }
    rows, cursor = _filtered_page(request, page, ("pk", "sk"), {"pk": partition})
    return _batch_get_campaigns([row["campaignId"]["S"] for row in rows]), cursor


def search(
    query_words: Sequence[str],
    status: CampaignStatus,
    campaign_type: CampaignType | None,
    page: PageRequest,
) -> tuple[list[Campaign], str | None]:
    """Listable campaigns whose title or description has every word of the query, newest first."""
    first, *rest = query_words
    partition = f"WORD#{first}"
    names = {"#status": "status"}
    values: dict[str, Any] = {":pk": _s(partition), ":status": _s(str(status))}
    conditions = ["#status = :status"]
    if campaign_type is not None:
        names["#type"] = "type"
        values[":type"] = _s(str(campaign_type))
        conditions.append("#type = :type")
    for index, word in enumerate(rest):
        values[f":w{index}"] = _s(word)
        conditions.append(f"contains(words, :w{index})")
    request: Item = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": 4 * (page.limit + 1),
    }
    rows, cursor = _filtered_page(request, page, ("pk", "sk"), {"pk": partition})
    return _batch_get_campaigns([row["campaignId"]["S"] for row in rows]), cursor


def _index_page(
    index: str,
    partition: str,
    page: PageRequest,
    *,
    sort_prefix: str | None = None,
    filter_expression: str | None = None,
    filter_values: dict[str, Any] | None = None,
) -> tuple[list[Campaign], str | None]:
    hash_name, range_name = f"{index}pk", f"{index}sk"
    condition = f"{hash_name} = :partition"
    values: dict[str, Any] = {":partition": _s(partition), **(filter_values or {})}
    if sort_prefix:
        condition += f" AND begins_with({range_name}, :prefix)"
        values[":prefix"] = _s(sort_prefix)
    request: Item = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": page.limit + 1,
    }
    if filter_expression:
        request["FilterExpression"] = filter_expression
    rows, cursor = _filtered_page(request, page, ("pk", "sk", hash_name, range_name), {hash_name: partition})
    return [campaign_of(row) for row in rows], cursor


_OWNER_FILTERS: dict[str, tuple[str | None, dict[str, Any] | None]] = {
    "all": (None, None),
    "undeleted": ("deleted = :no", {":no": {"BOOL": False}}),
    "listed": ("listed = :yes", {":yes": {"BOOL": True}}),
}


def campaigns_of_owner(
    owner_id: str, page: PageRequest, *, shown: str, pots_only: bool = False
) -> tuple[list[Campaign], str | None]:
    """An owner's campaigns and pots, newest first: `all`, `undeleted` or only `listed` ones."""
    expression, values = _OWNER_FILTERS[shown]
    return _index_page(
        "gsi1",
        f"OWNER#{owner_id}",
        page,
        sort_prefix="POT#" if pots_only else None,
        filter_expression=expression,
        filter_values=values,
    )


def campaigns_by_status(status: CampaignStatus, page: PageRequest) -> tuple[list[Campaign], str | None]:
    return _index_page("gsi2", f"STATUS#{status}", page)


def active_ending(*, before: date | None = None, between: tuple[date, date] | None = None) -> list[Campaign]:
    """Active campaigns whose end date is before `before`, or within `between` (inclusive)."""
    if before is not None:
        condition, values = "gsi3sk < :before", {":before": _s(before.isoformat())}
    else:
        assert between is not None
        condition = "gsi3sk BETWEEN :first AND :last"
        values = {":first": _s(between[0].isoformat()), ":last": _s(f"{between[1].isoformat()}#~")}
    paginator = aws.dynamodb().get_paginator("query")
    found: list[Campaign] = []
    for response in paginator.paginate(
        TableName=_table(),
        IndexName="gsi3",
        KeyConditionExpression=f"gsi3pk = :active AND {condition}",
        ExpressionAttributeValues={":active": _s("ACTIVE"), **values},
    ):
        found.extend(campaign_of(item) for item in response.get("Items", []))
    return found


# ------------------------------------------------------------------ totals


@dataclass
class Totals:
    """What counted pledges add up to; `goal_reached_at` is set once, never cleared."""

    raised: int = 0
    donations: int = 0
    donors: int = 0
    goal_reached_at: str | None = None

    @classmethod
    def of(cls, item: Item) -> Totals:
        return cls(
            raised=int(item.get("raisedAmount", {}).get("N", "0")),
            donations=int(item.get("donationCount", {}).get("N", "0")),
            donors=int(item.get("donorCount", {}).get("N", "0")),
            goal_reached_at=item.get("goalReachedAt", {}).get("S"),
        )

    def as_view(self) -> dict[str, Any]:
        return {
            "raisedAmount": self.raised,
            "donationCount": self.donations,
            "donorCount": self.donors,
            "goalReachedAt": self.goal_reached_at,
        }


def totals_key(campaign_id: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(campaign_pk(campaign_id)), "sk": _s(TOTALS_SK)}


def find_totals(campaign_id: str) -> Totals:
    found = aws.dynamodb().get_item(TableName=_table(), Key=totals_key(campaign_id), ConsistentRead=True)
    item = found.get("Item")
    return Totals.of(item) if item else Totals()


def add_to_totals(campaign_id: str, change: Share, donors: int) -> TransactItem:
    """ADD the difference, unconditionally: many pledges to one campaign never wait on each other.

    Exactly-once comes from the pledge's own record and the event's marker in the same transaction.
    """
    return {
        "Update": {
            "TableName": _table(),
            "Key": totals_key(campaign_id),
            "UpdateExpression": "ADD raisedAmount :raised, donationCount :donations, donorCount :donors",
            "ExpressionAttributeValues": {
                ":raised": _n(change.raised),
                ":donations": _n(change.donations),
                ":donors": _n(donors),
            },
        }
    }


def reach_goal(campaign_id: str, goal: int, at: str) -> TransactItem:
    """Stamp `goalReachedAt` once, only while raised >= goal: the goal_reached event rides with it."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": totals_key(campaign_id),
            "UpdateExpression": "SET goalReachedAt = :at",
            "ConditionExpression": "attribute_not_exists(goalReachedAt) AND raisedAmount >= :goal",
            "ExpressionAttributeValues": {":at": _s(at), ":goal": _n(goal)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def campaign_unchanged(campaign: Campaign) -> TransactItem:
    """Holds only while the campaign is still the version read (its goal was not edited meanwhile)."""
    return {
        "ConditionCheck": {
            "TableName": _table(),
            "Key": {"pk": _s(campaign_pk(campaign.campaign_id)), "sk": _s(CAMPAIGN_SK)},
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": {":read": _n(campaign.version)},
        }
    }


def pledge_key(pledge_id: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"PLEDGE#{pledge_id}"), "sk": _s("PLEDGE")}


def find_pledge(pledge_id: str) -> PledgeTally | None:
    found = aws.dynamodb().get_item(TableName=_table(), Key=pledge_key(pledge_id), ConsistentRead=True)
    item = found.get("Item")
    if not item:
        return None
    return PledgeTally(
        pledge_id=pledge_id,
        campaign_id=item["campaignId"]["S"],
        donor=item["donor"]["S"],
        amount=int(item["amount"]["N"]),
        refunded=int(item["refundedAmount"]["N"]),
        fully_refunded=item["fullyRefunded"]["BOOL"],
        version=int(item["version"]["N"]),
    )


def put_pledge(before: PledgeTally | None, after: PledgeTally) -> TransactItem:
    """Save the pledge's record only if it is still as read, so its difference is applied once."""
    put: Item = {
        "TableName": _table(),
        "Item": {
            **pledge_key(after.pledge_id),
            "campaignId": _s(after.campaign_id),
            "donor": _s(after.donor),
            "amount": _n(after.amount),
            "refundedAmount": _n(after.refunded),
            "fullyRefunded": {"BOOL": after.fully_refunded},
            "version": _n(before.version + 1 if before else 1),
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if before is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :read"
        put["ExpressionAttributeValues"] = {":read": _n(before.version)}
    return {"Put": put}


def donor_key(campaign_id: str, donor: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"DONOR#{campaign_id}#{donor}"), "sk": _s("DONOR")}


def donor_active(campaign_id: str, donor: str) -> int | None:
    """The donor's donations to the campaign that still count (None: never gave to it)."""
    found = aws.dynamodb().get_item(
        TableName=_table(), Key=donor_key(campaign_id, donor), ConsistentRead=True
    )
    count = found.get("Item", {}).get("activeDonations")
    return int(count["N"]) if count else None


def put_donor(campaign_id: str, donor: str, before: int | None, after: int) -> TransactItem:
    """The donor's count, if still as read: two pledges of one donor cannot both (un)count them."""
    put: Item = {
        "TableName": _table(),
        "Item": {**donor_key(campaign_id, donor), "activeDonations": _n(after)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if before is None:
        put["ConditionExpression"] = "attribute_not_exists(activeDonations)"
    else:
        put["ConditionExpression"] = "activeDonations = :read"
        put["ExpressionAttributeValues"] = {":read": _n(before)}
    return {"Put": put}


# ------------------------------------------------------------------ one pot per user and year


def pot_year_put(user_id: str, year: int, pot_id: str) -> TransactItem:
    return {
        "Put": {
            "TableName": _table(),
            "Item": {"pk": _s(f"POTYEAR#{user_id}#{year}"), "sk": _s("POTYEAR"), "potId": _s(pot_id)},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def pot_year_pk(user_id: str, year: int) -> str:
    return f"POTYEAR#{user_id}#{year}"


# ------------------------------------------------------------------ people and birthdays (projection)


@dataclass
class Person:
    """What this context knows of a user: the celebrant's name and birthday for pots."""

    user_id: str
    _: KW_ONLY
    name: str | None = None
    date_of_birth: date | None = None
    birthdate_at: str | None = None
    deleted: bool = False
    exists: bool = False


def person_key(user_id: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"PERSON#{user_id}"), "sk": _s("PERSON")}


def find_person(user_id: str) -> Person:
    found = aws.dynamodb().get_item(TableName=_table(), Key=person_key(user_id), ConsistentRead=True)
    item = found.get("Item")
    if not item:
        return Person(user_id)
    born = item.get("dateOfBirth", {}).get("S")
    return Person(
        user_id,
        name=item.get("name", {}).get("S"),
        date_of_birth=date.fromisoformat(born) if born else None,
        birthdate_at=item.get("birthdateAt", {}).get("S"),
        deleted=bool(item.get("deleted", {}).get("BOOL", False)),
        exists=True,
    )


def put_person(person: Person, *, read_as: Person) -> TransactItem:
    """Save the person if the item is still as read (absent, or the same birthdateAt)."""
    item: Item = {**person_key(person.user_id), "deleted": {"BOOL": person.deleted}}
    if person.name:
        item["name"] = _s(person.name)
    if person.date_of_birth:
        item["dateOfBirth"] = _s(person.date_of_birth.isoformat())
    if person.birthdate_at:
        item["birthdateAt"] = _s(person.birthdate_at)
    put: Item = {"TableName": _table(), "Item": item}
    if not read_as.exists:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    elif read_as.birthdate_at:
        put["ConditionExpression"] = "birthdateAt = :read"
        put["ExpressionAttributeValues"] = {":read": _s(read_as.birthdate_at)}
    else:
        put["ConditionExpression"] = "attribute_not_exists(birthdateAt)"
    return {"Put": put}


def birthday_key(day: str, user_id: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"BIRTHDAY#{day}"), "sk": _s(f"USER#{user_id}")}


def birthday_changes(before: Person, after: Person) -> list[TransactItem]:
    """Move the person's birthday entry from the old day to the new one (or remove it)."""
    old_day = before.date_of_birth.strftime("%m-%d") if before.date_of_birth and not before.deleted else None
    new_day = after.date_of_birth.strftime("%m-%d") if after.date_of_birth and not after.deleted else None
    changes: list[TransactItem] = []
    if old_day and old_day != new_day:
        changes.append({"Delete": {"TableName": _table(), "Key": birthday_key(old_day, before.user_id)}})
    if new_day and after.date_of_birth:
        item: Item = {
            **birthday_key(new_day, after.user_id),
            "userId": _s(after.user_id),
            "dateOfBirth": _s(after.date_of_birth.isoformat()),
        }
        if after.name:
            item["name"] = _s(after.name)
        changes.append({"Put": {"TableName": _table(), "Item": item}})
    return changes


def birthdays_on(day: str) -> list[Person]:
    """Everyone whose birthday is `day` (MM-DD), from the projection: a Query, never a scan."""
    paginator = aws.dynamodb().get_paginator("query")
    people: list[Person] = []
    for response in paginator.paginate(
        TableName=_table(),
        KeyConditionExpression="pk = :day",
        ExpressionAttributeValues={":day": _s(f"BIRTHDAY#{day}")},
    ):
        for item in response.get("Items", []):
            people.append(
                Person(
                    item["userId"]["S"],
                    name=item.get("name", {}).get("S"),
                    date_of_birth=date.fromisoformat(item["dateOfBirth"]["S"]),
                    exists=True,
                )
            )
    return people
