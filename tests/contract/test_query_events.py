"""The query function driven with the sample events in events/query/, as `sam local invoke -e` sends them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from query.handler import handler
from tests.support.events import FakeLambdaContext, load_event
from tests.unit.kernel import harness

OK = {"batchItemFailures": []}


@pytest.fixture
def query_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from query import settings

    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("QueryTable")
        harness.use_context(monkeypatch, "query", name)
        monkeypatch.setenv("DONATIONS_FUNCTION_NAME", "test-DonationsFunction")
        settings.query_settings.cache_clear()
        yield name
        settings.query_settings.cache_clear()


def _invoke(event: dict[str, Any]) -> Any:
    return handler(event, FakeLambdaContext())


def _data(event: dict[str, Any]) -> Any:
    response = _invoke(event)
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])["data"]


def test_the_sample_inbox_events_build_the_sample_campaign_totals(query_table: str) -> None:
    # Given the campaign, its anonymous pledge and a partial refund, in reverse order and twice over
    deliveries = [
        load_event("query/sqs_pledge_refunded"),
        load_event("query/sqs_pledge_completed"),
        load_event("query/sqs_campaign_created"),
    ]
    for delivery in deliveries * 2:
        assert _invoke(delivery) == OK
    # Then the sample totals, history and statistics show them once, net of the refund
    totals = _data(load_event("query/api_campaign_totals"))
    assert totals["campaignId"] == "c-sample-1"
    assert (totals["raisedAmount"], totals["donationCount"], totals["donorCount"]) == (100_000, 1, 1)
    assert totals["progressPercentage"] == 10.0
    (donation,) = _data(load_event("query/api_campaign_donations"))
    assert (donation["donorName"], donation["status"]) == (None, "partially_refunded")
    assert [c["campaignId"] for c in _data(load_event("query/api_top_campaigns"))] == ["c-sample-1"]
    assert _data(load_event("query/api_platform_statistics"))["totalRaised"] == [
        {"currency": "BDT", "amount": 100_000}
    ]
    assert _data(load_event("query/api_user_donations"))["donations"] == []


def test_the_rebuild_task_sample_rebuilds_and_reports(query_table: str) -> None:
    assert _invoke(load_event("query/sqs_pledge_completed")) == OK
    result = _invoke(load_event("query/task_rebuild"))
    assert (result["donations"], result["raced"]) == (1, 0)
    assert _invoke(load_event("query/task_rebuild"))["written"] == 0


def test_the_check_task_sample_asks_the_donations_function(
    query_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harambee import aws

    asked: list[dict[str, Any]] = []

    class Ledger:
        def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
            asked.append(json.loads(Payload))
            rows = [{"campaignId": "c-sample-1", "currency": "BDT", "amount": 150_000, "count": 1}]
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(rows).encode())}

    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service: Ledger() if service == "lambda" else real(service))
    assert _invoke(load_event("query/sqs_pledge_completed")) == OK
    assert _invoke(load_event("query/task_check_totals")) == {"checked": 1, "mismatched": 0, "mismatches": []}
    assert asked == [{"task": "donations.completed-sums", "campaignId": "c-sample-1"}]
