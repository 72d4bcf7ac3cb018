"""The domain event envelope: how it is built, serialised, and read back from EventBridge."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from harambee.events import DomainEvent, InvalidEvent, new_event
from harambee.observability import set_correlation_id
from tests.unit.kernel import harness


def test_given_a_request_context_when_an_event_is_created_then_the_envelope_carries_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness.use_context(monkeypatch, "donations", "t")
    set_correlation_id("req-42")
    try:
        event = new_event("pledge.created", {"pledgeId": "p-1", "amount": 150000})
    finally:
        set_correlation_id(None)

    envelope = event.to_envelope()
    assert uuid.UUID(envelope["eventId"]).version == 4
    assert envelope["eventType"] == "pledge.created"
    assert envelope["schemaVersion"] == 1
    assert envelope["source"] == "harambee.donations"
    assert envelope["correlationId"] == "req-42"
    assert envelope["data"] == {"pledgeId": "p-1", "amount": 150000}
    assert datetime.fromisoformat(envelope["timestamp"]).utcoffset() == UTC.utcoffset(None)


@pytest.mark.parametrize(
    "event_type", ["pledge", "Pledge.Created", "pledge.created.twice", "pledge created", ""]
)
def test_event_types_must_be_resource_dot_past_tense(
    event_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.use_context(monkeypatch, "donations", "t")
    with pytest.raises(ValueError, match="resource"):
        new_event(event_type, {})


def test_when_the_envelope_round_trips_through_json_then_nothing_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness.use_context(monkeypatch, "payments", "t")
    event = new_event("payment.completed", {"paymentId": "pay-1"}, schema_version=2)
    assert DomainEvent.from_json(event.to_json()) == event


def test_given_an_eventbridge_event_when_parsed_then_the_detail_is_the_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness.use_context(monkeypatch, "campaigns", "t")
    event = new_event("campaign.approved", {"campaignId": "c-1"})
    assert DomainEvent.from_eventbridge(harness.bus_event(event)) == event


def test_an_eventbridge_event_whose_detail_type_disagrees_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    harness.use_context(monkeypatch, "campaigns", "t")
    forged = harness.bus_event(new_event("campaign.approved", {}))
    forged["detail-type"] = "payment.completed"
    with pytest.raises(InvalidEvent):
        DomainEvent.from_eventbridge(forged)


@pytest.mark.parametrize("body", ["not json", json.dumps({"eventType": "x.y"}), json.dumps([1, 2])])
def test_anything_that_is_not_an_envelope_is_an_invalid_event(body: str) -> None:
    with pytest.raises(InvalidEvent):
        DomainEvent.from_json(body)
