"""What the template promises the code: the inbox's events, the schedules' jobs, the pot currency."""

from __future__ import annotations

import json

from devstack.template import Template

TEMPLATE = Template()


def _events() -> dict[str, dict[str, object]]:
    events: dict[str, dict[str, object]] = TEMPLATE.resources["CampaignsFunction"]["Properties"]["Events"]
    return events


def test_the_subscription_rule_selects_exactly_the_events_the_inbox_handles() -> None:
    from campaigns.inbox import consumer

    pattern = TEMPLATE.resources["CampaignsSubscriptionRule"]["Properties"]["EventPattern"]
    assert set(pattern["detail-type"]) == set(consumer._handlers)


def test_every_template_schedule_names_a_job_of_the_handler_and_every_job_is_scheduled() -> None:
    from campaigns.handler import handler

    scheduled = {
        json.loads(str(event["Properties"]["Input"]))["schedule"]  # type: ignore[index]
        for event in _events().values()
        if event["Type"] == "Schedule"
    }
    assert scheduled == set(handler._schedules) == {"create-birthday-pots", "expire-campaigns"}


def test_the_inbox_has_a_dead_letter_queue_and_the_pot_currency_is_a_parameter() -> None:
    queue = TEMPLATE.resources["CampaignsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["CampaignsDeadLetterQueue", "Arn"]
    }
    assert "CampaignsDeadLetterAlarm" in TEMPLATE.resources
    assert TEMPLATE.functions["CampaignsFunction"].environment["POT_CURRENCY"] == {"Ref": "PotCurrency"}
