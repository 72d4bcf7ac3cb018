"""Pots without a goal (every scheduled birthday pot, any pot opened without one) still get their messages.

`goalAmount` is null in their campaign snapshot, and a pot nobody gave to may carry no `raisedAmount`:
the pot-created, closing-soon and final-report messages must say what is true, never fail the event.
"""

from __future__ import annotations

from typing import Any

import pytest

from harambee.money import Money
from tests.unit.notifications.conftest import (
    OWNER,
    call,
    deliver,
    deliveries,
    event,
    register,
    sent_emails,
    sent_sms,
)

AUTO_POT = {
    "campaignId": "c-pot",
    "ownerId": "u-owner",
    "title": "Awa turns 30",
    "type": "birthday",
    "status": "active",
    "goalAmount": None,
    "currency": "XOF",
    "startDate": "2026-11-22",
    "endDate": "2026-12-22",
    "visibility": "unlisted",
    "autoCreated": True,
}
EXPIRED_POT = {**AUTO_POT, "status": "expired", "raisedAmount": 12_500, "donorCount": 4, "donationCount": 5}
CHANNELS = ("email", "sms", "whatsapp", "push")


def _rendered(message: str, locale: str, variables: dict[str, Any]) -> str:
    """Every channel's words for `message`, joined: what any recipient could read."""
    from notifications.domain.catalog import Channel
    from notifications.rendering import render

    parts: list[str] = []
    for channel in CHANNELS:
        rendered = render(
            message, Channel(channel), locale, {"name": "Awa", "unsubscribeUrl": None, **variables}
        )
        parts += [rendered.subject or "", rendered.text, rendered.html or ""]
    return "\n".join(parts)


def _intent(event_type: str, data: dict[str, Any]) -> Any:
    from notifications.domain.messages import intents_of

    (intent,) = intents_of(event(event_type, data, source="harambee.campaigns"))
    return intent


# ------------------------------------------------------------------ events -> messages


@pytest.mark.parametrize("goal", [{"goalAmount": None}, {}], ids=["null", "absent"])
def test_a_pot_without_a_goal_asks_for_its_pot_created_message(goal: dict[str, Any]) -> None:
    # Given an auto-created birthday pot whose snapshot has a null (or no) goal
    data = {key: value for key, value in AUTO_POT.items() if key != "goalAmount"} | goal
    # When its campaign.created is read, Then the owner is told, with no goal to print
    intent = _intent("campaign.created", data)
    assert (intent.template, intent.recipient.key) == ("pot_created", "user:u-owner")
    assert intent.variables["goal"] is None
    assert intent.variables["autoCreated"] is True


def test_a_pot_with_a_goal_still_carries_it() -> None:
    intent = _intent("campaign.created", {**AUTO_POT, "goalAmount": 50_000, "autoCreated": False})
    assert intent.variables["goal"] == Money(amount=50_000, currency="XOF")


def test_an_expired_pot_without_a_goal_asks_for_its_final_report() -> None:
    intent = _intent("campaign.expired", EXPIRED_POT)
    assert (intent.template, intent.recipient.key) == ("final_report", "user:u-owner")
    assert intent.variables["goal"] is None
    assert intent.variables["raised"] == Money(amount=12_500, currency="XOF")
    assert intent.variables["donorCount"] == 4


@pytest.mark.parametrize("raised", [{"raisedAmount": None}, {}], ids=["null", "absent"])
def test_a_pot_nobody_gave_to_reports_zero_raised_in_its_currency(raised: dict[str, Any]) -> None:
    # Given an expired pot with no donations, whose totals carry no raisedAmount
    data = {key: value for key, value in EXPIRED_POT.items() if key != "raisedAmount"} | raised
    data |= {"donorCount": None, "donationCount": 0}
    intent = _intent("campaign.expired", data)
    # Then the final report says nothing was raised, in the pot's own currency
    assert intent.variables["raised"] == Money(amount=0, currency="XOF")
    assert intent.variables["donorCount"] == 0


def test_a_closing_pot_nobody_gave_to_reports_zero_raised() -> None:
    data = {
        "campaignId": "c-pot",
        "ownerId": "u-owner",
        "title": "Awa turns 30",
        "endDate": "2026-12-22",
        "raisedAmount": None,
        "currency": "XOF",
        "daysLeft": 3,
    }
    intent = _intent("pot.closing_soon", data)
    assert intent.variables["raised"] == Money(amount=0, currency="XOF")


def test_a_goal_reached_event_without_a_goal_is_still_a_celebration() -> None:
    # Campaigns only emits it for a goal, but an admin may clear the goal before a redelivery
    data = {"campaignId": "c-1", "ownerId": "u-owner", "title": "Roof", "goalAmount": None}
    intent = _intent(
        "campaign.goal_reached", data | {"raisedAmount": 120, "currency": "USD", "donorCount": 3}
    )
    assert intent.variables["goal"] is None
    assert intent.variables["raised"] == Money(amount=120, currency="USD")


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("campaign.expired", {**EXPIRED_POT, "raisedAmount": "lots"}),
        ("campaign.expired", {**EXPIRED_POT, "goalAmount": 1.5}),
        ("campaign.expired", {**EXPIRED_POT, "currency": None}),
        ("campaign.expired", {**EXPIRED_POT, "currency": "XYZ"}),
        ("pot.closing_soon", {"campaignId": "c", "ownerId": "u", "raisedAmount": 1, "currency": "ZZZ"}),
    ],
    ids=[
        "raised-not-a-number",
        "goal-a-float",
        "no-currency",
        "unknown-currency",
        "closing-unknown-currency",
    ],
)
def test_an_amount_that_is_present_but_wrong_is_still_refused(event_type: str, data: dict[str, Any]) -> None:
    from harambee.events import InvalidEvent

    with pytest.raises(InvalidEvent):
        _intent(event_type, data)


# ------------------------------------------------------------------ rendering


@pytest.mark.parametrize(
    ("locale", "auto", "expected"),
    [
        ("en", True, "We opened a birthday pot for you: Awa turns 30, until December 22, 2026."),
        ("en", False, "Your birthday pot is open: Awa turns 30, until December 22, 2026."),
        (
            "fr",
            True,
            "Nous avons ouvert une cagnotte d'anniversaire pour vous : Awa turns 30, "
            "jusqu'au 22 décembre 2026.",
        ),
        ("fr", False, "Votre cagnotte d'anniversaire est ouverte : Awa turns 30, jusqu'au 22 décembre 2026."),
    ],
)
def test_pot_created_without_a_goal_reads_naturally(locale: str, auto: bool, expected: str) -> None:
    variables = {"campaignTitle": "Awa turns 30", "goal": None, "endDate": "2026-12-22", "autoCreated": auto}
    words = _rendered("pot_created", locale, variables)
    assert expected in words
    assert "goal" not in words.lower()
    assert "objectif" not in words.lower()
    assert "None" not in words


@pytest.mark.parametrize(
    ("locale", "with_goal"),
    [
        ("en", "Awa turns 30, with a goal of F\u202fCFA50,000, until"),
        ("fr", "objectif 50\u202f000\xa0F\u202fCFA"),
    ],
)
def test_pot_created_with_a_goal_still_prints_it(locale: str, with_goal: str) -> None:
    goal = Money(amount=50_000, currency="XOF")
    variables = {"campaignTitle": "Awa turns 30", "goal": goal, "endDate": "2026-12-22", "autoCreated": False}
    assert with_goal in _rendered("pot_created", locale, variables)


@pytest.mark.parametrize(
    ("locale", "raised", "donors", "expected"),
    [
        ("en", 12_500, 4, "Awa turns 30 has ended. It raised F\u202fCFA12,500 from 4 donors."),
        ("en", 2_000, 1, "It raised F\u202fCFA2,000 from 1 donor."),
        ("en", 0, 0, "It raised F\u202fCFA0 from 0 donors."),
        (
            "fr",
            12_500,
            4,
            "Awa turns 30 est terminée. Elle a collecté 12\u202f500\xa0F\u202fCFA auprès de 4 donateurs.",
        ),
        ("fr", 2_000, 1, "Elle a collecté 2\u202f000\xa0F\u202fCFA auprès de 1 donateur."),
        ("fr", 0, 0, "Elle a collecté 0\xa0F\u202fCFA auprès de 0 donateur."),
    ],
)
def test_final_report_without_a_goal_says_what_was_raised_from_how_many_donors(
    locale: str, raised: int, donors: int, expected: str
) -> None:
    variables = {
        "campaignTitle": "Awa turns 30",
        "goal": None,
        "raised": Money(amount=raised, currency="XOF"),
        "donorCount": donors,
    }
    words = _rendered("final_report", locale, variables)
    assert expected in words
    assert "goal" not in words.lower()
    assert "objectif" not in words.lower()
    assert "None" not in words


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "It raised $1.20 of its $1.00 goal from 3 donors."),
        ("fr", "Elle a collecté 1,20\xa0$US sur un objectif de 1,00\xa0$US auprès de 3 donateurs."),
    ],
)
def test_final_report_with_a_goal_still_compares_against_it(locale: str, expected: str) -> None:
    variables = {
        "campaignTitle": "Roof",
        "goal": Money(amount=100, currency="USD"),
        "raised": Money(amount=120, currency="USD"),
        "donorCount": 3,
    }
    words = _rendered("final_report", locale, variables)
    assert expected in words
    assert ("<td>Goal</td>" if locale == "en" else "<td>Objectif</td>") in words


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_goal_reached_without_a_goal_prints_no_empty_goal(locale: str) -> None:
    variables = {
        "campaignTitle": "Roof",
        "goal": None,
        "raised": Money(amount=120, currency="USD"),
        "donorCount": 3,
    }
    words = _rendered("goal_reached", locale, variables)
    assert (
        "raised $1.20 from 3 donors" if locale == "en" else "a collecté 1,20\xa0$US auprès de 3 donateurs"
    ) in words
    assert "goal of" not in words
    assert "objectif de" not in words
    assert "None" not in words


# ------------------------------------------------------------------ through the handler


def test_an_auto_created_pot_and_its_final_report_are_sent_not_dead_lettered(
    notifications_table: str,
) -> None:
    # Given the celebrant is known, with a phone, French as their language and SMS turned on
    register("u-owner", "owner@example.org", "Awa", phone="+221770000001", locale="fr")
    sms_on = {"channels": {"sms": True}}
    assert call("PUT", "/api/notifications/preferences", caller=OWNER, body=sms_on)[0] == 200
    # When the schedule opens a goal-less pot, and later it expires with nobody having given
    created = event("campaign.created", AUTO_POT, source="harambee.campaigns")
    expired = {**EXPIRED_POT, "raisedAmount": None, "donorCount": 0, "donationCount": 0}
    # Then neither event fails its batch item (no retries, no DLQ) ...
    assert deliver(created) == {"batchItemFailures": []}
    assert deliver(event("campaign.expired", expired, source="harambee.campaigns")) == {
        "batchItemFailures": []
    }
    # ... and the celebrant reads both, by email and SMS, in French, with no goal mentioned
    subjects = sorted(email.subject for email in sent_emails() if not email.subject.startswith("Welcome"))
    assert subjects == ["Bilan final : Awa turns 30", "Votre cagnotte d'anniversaire est ouverte"]
    texts = [text for phone, text in sent_sms() if phone == "+221770000001"]
    assert any("votre cagnotte d'anniversaire est ouverte. Partagez-la !" in text for text in texts)
    assert any("est terminée avec 0\xa0F\u202fCFA collectés" in text for text in texts)
    assert all("objectif" not in text for text in texts)
    sent = {
        (item["template"]["S"], item["channel"]["S"], item["status"]["S"])
        for item in deliveries(notifications_table)
    }
    assert {("pot_created", "email", "sent"), ("final_report", "email", "sent")} <= sent
    assert {("pot_created", "sms", "sent"), ("final_report", "sms", "sent")} <= sent
