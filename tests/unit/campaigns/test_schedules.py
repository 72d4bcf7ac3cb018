"""The schedules: birthday pots 30 days ahead (once per user and year, 29 February handled) and the
expiry run (expired with final totals, pots closing soon announced once)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from campaigns import repository
from campaigns.domain.campaign import CampaignStatus, CampaignType, Visibility
from harambee.events import DomainEvent
from tests.unit.campaigns.conftest import OWNER, call, invoke, outbox, stored, today
from tests.unit.kernel import harness


def person(user_id: str, born: str, name: str | None = None) -> None:
    events = []
    if name:
        events.append(
            DomainEvent(
                event_type="account.registered",
                source="harambee.identity",
                data={"userId": user_id, "email": f"{user_id}@x.org", "name": name},
            )
        )
    events.append(
        DomainEvent(
            event_id=str(uuid.uuid4()),
            event_type="profile.birthdate_changed",
            source="harambee.profiles",
            data={"userId": user_id, "dateOfBirth": born},
        )
    )
    assert invoke(harness.deliveries(*events)) == {"batchItemFailures": []}


def run(job: str, on: date | None = None) -> Any:
    return invoke({"schedule": job, **({"date": on.isoformat()} if on else {})})


def pots_of(user_id: str) -> list[dict[str, Any]]:
    return [pot["data"] for pot in outbox_pots() if pot["data"]["ownerId"] == user_id]


def outbox_pots() -> list[dict[str, Any]]:
    import os

    return [
        e for e in outbox(os.environ["TABLE_NAME"], "campaign.created") if e["data"]["type"] == "birthday"
    ]


def test_a_pot_opens_30_days_before_a_birthday_once_however_often_the_run_goes(campaigns_table: str) -> None:
    run_day = date(2027, 4, 1)
    person("u-awa", "1990-05-01", "Awa")
    person("u-later", "1990-05-09")
    assert run("create-birthday-pots", run_day) == {"created": 1, "existing": 0}
    assert run("create-birthday-pots", run_day) == {"created": 0, "existing": 1}
    assert run("create-birthday-pots", run_day + timedelta(days=1)) == {"created": 0, "existing": 1}
    [pot] = pots_of("u-awa")
    assert (
        pot["title"],
        pot["endDate"],
        pot["currency"],
        pot["visibility"],
        pot["autoCreated"],
        pot["status"],
    ) == (
        "Awa's birthday pot",
        "2027-05-01",
        "XOF",
        "unlisted",
        True,
        "active",
    )
    assert pots_of("u-later") == []


def test_a_missed_day_is_caught_up_by_the_next_run(campaigns_table: str) -> None:
    person("u-awa", "1990-05-01")
    assert run("create-birthday-pots", date(2027, 4, 2))["created"] == 1  # 29 days ahead


def test_leap_day_birthdays_get_their_pot_for_28_february_in_a_common_year(campaigns_table: str) -> None:
    person("u-leap", "2000-02-29")
    run("create-birthday-pots", date(2027, 1, 29))
    assert [pot["endDate"] for pot in pots_of("u-leap")] == ["2027-02-28"]
    run("create-birthday-pots", date(2027, 1, 30))
    run("create-birthday-pots", date(2028, 1, 30))  # leap year: on the day itself
    assert [pot["endDate"] for pot in pots_of("u-leap")] == ["2027-02-28", "2028-02-29"]


def test_a_manual_pot_for_the_year_blocks_the_scheduled_one(campaigns_table: str) -> None:
    birthday = today() + timedelta(days=30)
    person("u-owner", f"1990-{birthday:%m-%d}")
    assert call("POST", "/api/pots", body={"birthday": birthday.isoformat()}, caller=OWNER).status == 201
    assert run("create-birthday-pots") == {"created": 0, "existing": 1}


def test_expiry_moves_campaigns_past_their_end_date_with_the_final_totals(campaigns_table: str) -> None:
    ended = stored(end_date=today() - timedelta(days=1), start_date=today() - timedelta(days=30))
    last_day = stored(end_date=today())
    invoke(
        harness.deliveries(
            DomainEvent(
                event_type="pledge.completed",
                source="harambee.donations",
                data={
                    "pledgeId": "pl-last",
                    "campaignId": ended.campaign_id,
                    "amount": 9_000,
                    "currency": "BDT",
                    "donorId": "u-d",
                },
            )
        )
    )
    assert run("expire-campaigns")["expired"] == 1
    assert run("expire-campaigns")["expired"] == 0
    after = repository.find_campaign(ended.campaign_id)
    assert after is not None
    assert after.status is CampaignStatus.EXPIRED
    [expired] = outbox(campaigns_table, "campaign.expired")
    assert (
        expired["data"]["campaignId"],
        expired["data"]["raisedAmount"],
        expired["data"]["donorCount"],
    ) == (
        ended.campaign_id,
        9_000,
        1,
    )
    still = repository.find_campaign(last_day.campaign_id)
    assert still is not None
    assert still.status is CampaignStatus.ACTIVE


def test_pots_closing_within_three_days_are_announced_once(campaigns_table: str) -> None:
    pot_fields = {"type": CampaignType.BIRTHDAY, "visibility": Visibility.UNLISTED, "goal_amount": None}
    soon = stored(end_date=today() + timedelta(days=2), currency="XOF", **pot_fields)
    stored(end_date=today() + timedelta(days=10), currency="XOF", **pot_fields)
    stored(end_date=today() + timedelta(days=1))  # a campaign, not a pot
    assert run("expire-campaigns")["closingSoon"] == 1
    assert run("expire-campaigns")["closingSoon"] == 0
    [notice] = outbox(campaigns_table, "pot.closing_soon")
    assert (notice["data"]["campaignId"], notice["data"]["daysLeft"], notice["data"]["currency"]) == (
        soon.campaign_id,
        2,
        "XOF",
    )


def test_an_unknown_schedule_or_a_bad_date_is_refused(campaigns_table: str) -> None:
    import pytest

    from harambee.events import InvalidEvent
    from harambee.runtime import UnknownJob

    with pytest.raises(UnknownJob):
        invoke({"schedule": "nope"})
    with pytest.raises(InvalidEvent):
        invoke({"schedule": "expire-campaigns", "date": "yesterday"})
