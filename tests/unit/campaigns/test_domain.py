"""Campaign rules without AWS: the status machine, who sees what, edits, search words, birthdays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from campaigns.domain.birthdays import celebrated_on
from campaigns.domain.campaign import (
    Campaign,
    CampaignStatus,
    CampaignType,
    FieldsNotEditable,
    Visibility,
    apply_changes,
    changed_fields,
    check_transition,
    visible_to,
)
from campaigns.domain.search import MAX_WORDS, campaign_words, query_words
from harambee.errors import InvalidTransition, Unprocessable

S = CampaignStatus
ALLOWED = {
    (S.DRAFT, S.ACTIVE),
    (S.DRAFT, S.CANCELLED),
    (S.ACTIVE, S.COMPLETED),
    (S.ACTIVE, S.CANCELLED),
    (S.ACTIVE, S.EXPIRED),
}
TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def campaign(**changes: Any) -> Campaign:
    fields: dict[str, Any] = {
        "campaign_id": "c-1",
        "owner_id": "u-owner",
        "type": CampaignType.MEDICAL,
        "status": S.ACTIVE,
        "title": "Surgery for Amina",
        "description": "Heart surgery",
        "goal_amount": 500_000,
        "currency": "BDT",
        "start_date": TODAY - timedelta(days=5),
        "end_date": TODAY + timedelta(days=20),
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return Campaign(**fields)


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_status_pair_is_either_a_valid_transition_or_refused(current: S, target: S) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition) as refused:
            check_transition(current, target)
        assert refused.value.status == 422


@pytest.mark.parametrize(
    ("changes", "viewer", "admin", "token", "seen"),
    [
        ({}, None, False, None, True),
        ({"status": S.DRAFT}, None, False, None, False),
        ({"status": S.DRAFT}, "u-other", False, None, False),
        ({"status": S.DRAFT}, "u-owner", False, None, True),
        ({"status": S.DRAFT}, "u-admin", True, None, True),
        ({"deleted": True, "status": S.CANCELLED}, "u-owner", False, None, False),
        ({"deleted": True, "status": S.CANCELLED}, "u-admin", True, None, True),
        (
            {"type": CampaignType.BIRTHDAY, "visibility": Visibility.PRIVATE, "share_token": "t" * 32},
            None,
            False,
            "t" * 32,
            False,
        ),
        ({"type": CampaignType.BIRTHDAY, "visibility": Visibility.PRIVATE}, "u-owner", False, None, True),
        (
            {"type": CampaignType.BIRTHDAY, "visibility": Visibility.UNLISTED, "share_token": "t" * 32},
            None,
            False,
            "t" * 32,
            True,
        ),
        (
            {"type": CampaignType.BIRTHDAY, "visibility": Visibility.UNLISTED, "share_token": "t" * 32},
            None,
            False,
            "x" * 32,
            False,
        ),
        (
            {"type": CampaignType.BIRTHDAY, "visibility": Visibility.UNLISTED, "share_token": "t" * 32},
            "u-other",
            False,
            None,
            False,
        ),
    ],
)
def test_who_sees_a_campaign(
    changes: dict[str, Any], viewer: str | None, admin: bool, token: str | None, seen: bool
) -> None:
    assert visible_to(campaign(**changes), viewer, is_admin=admin, share_token=token) is seen


def test_only_public_live_campaigns_are_listed() -> None:
    assert campaign().publicly_listable
    assert not campaign(status=S.DRAFT).publicly_listable
    assert not campaign(status=S.CANCELLED).publicly_listable
    assert not campaign(deleted=True).publicly_listable
    assert not campaign(type=CampaignType.BIRTHDAY, visibility=Visibility.UNLISTED).publicly_listable


def test_an_owner_may_only_refine_the_story_of_an_active_campaign() -> None:
    edited = apply_changes(
        campaign(), {"description": "Now with the scans"}, by_admin=False, today=TODAY, now=NOW
    )
    assert edited.description == "Now with the scans"
    with pytest.raises(FieldsNotEditable) as refused:
        apply_changes(campaign(), {"goal_amount": 1, "title": "x"}, by_admin=False, today=TODAY, now=NOW)
    assert refused.value.details["fields"] == ["goal_amount", "title"]


def test_an_admin_may_change_the_goal_of_an_active_campaign_but_never_its_currency() -> None:
    assert apply_changes(campaign(), {"goal_amount": 9}, by_admin=True, today=TODAY, now=NOW).goal_amount == 9
    with pytest.raises(FieldsNotEditable):
        apply_changes(campaign(), {"currency": "USD"}, by_admin=True, today=TODAY, now=NOW)


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED, S.EXPIRED])
def test_nothing_changes_once_a_campaign_is_final(status: S) -> None:
    with pytest.raises(FieldsNotEditable):
        apply_changes(campaign(status=status), {"description": "x"}, by_admin=True, today=TODAY, now=NOW)


def test_dates_stay_in_order_and_an_active_campaign_cannot_end_in_the_past() -> None:
    draft = campaign(status=S.DRAFT)
    with pytest.raises(Unprocessable):
        apply_changes(draft, {"end_date": draft.start_date}, by_admin=False, today=TODAY, now=NOW)
    with pytest.raises(Unprocessable):
        apply_changes(
            campaign(), {"end_date": TODAY - timedelta(days=1)}, by_admin=True, today=TODAY, now=NOW
        )


def test_changed_fields_are_named_in_camel_case_and_unchanged_values_are_not() -> None:
    before = campaign()
    after = apply_changes(
        before, {"goal_amount": 7, "title": before.title}, by_admin=True, today=TODAY, now=NOW
    )
    assert changed_fields(before, after) == ["goalAmount"]


def test_search_words_are_folded_deduplicated_and_capped() -> None:
    assert campaign_words("Café for the Children!", "children's café") == ["cafe", "children"]
    many = " ".join(f"word{n}" for n in range(100))
    assert len(campaign_words("Title", many)) == MAX_WORDS
    assert query_words("a School in Kenya") == ["school", "kenya"]
    assert query_words("!!") == []


@pytest.mark.parametrize(
    ("day", "keys"),
    [
        (date(2027, 2, 28), ["02-28", "02-29"]),  # not a leap year: 29 Feb birthdays on 28 Feb
        (date(2028, 2, 28), ["02-28"]),
        (date(2028, 2, 29), ["02-29"]),
        (date(2027, 3, 1), ["03-01"]),
    ],
)
def test_leap_day_birthdays_are_celebrated_on_28_february_in_other_years(day: date, keys: list[str]) -> None:
    assert celebrated_on(day) == keys
