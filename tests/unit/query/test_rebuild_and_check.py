"""The operator's commands: rebuild every read model from the journal, check totals against the ledger."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from tests.unit.query.conftest import (
    DONOR,
    campaign_event,
    completed,
    deliver,
    get,
    platform,
    refunded,
    run_task,
    totals,
)

OK: dict[str, list[Any]] = {"batchItemFailures": []}


def _given_some_giving() -> None:
    assert (
        deliver(
            campaign_event("c-1"),
            campaign_event("c-2", status="draft"),
            completed("pl-1", amount=10_000, minutes=1),
            completed("pl-2", amount=4_000, minutes=2, donor=None, anonymous=True, email="a@example.org"),
            completed("pl-3", "c-2", amount=7_000, minutes=3),
            completed("pl-4", amount=3_000, minutes=4, donor="u-other", email="o@example.org"),
        )
        == OK
    )
    assert deliver(refunded("pl-4", amount=3_000, refund=3_000, donor="u-other", email="o@example.org")) == OK


def _figures() -> tuple[Any, ...]:
    mine = get("/api/query/users/u-donor/donations", caller=DONOR).data
    return (
        totals("c-1"),
        totals("c-2"),
        platform(),
        mine["statistics"],
        get("/api/query/campaigns/top").data,
    )


def _corrupt(table: str) -> None:
    dynamodb = boto3.client("dynamodb")
    shards = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :shard)",
        ExpressionAttributeValues={":pk": {"S": "CAMPAIGN#c-1"}, ":shard": {"S": "SHARD#"}},
    )["Items"]
    # A lost update on one shard, a stray counter, a missing donor membership, a wrong platform shard
    dynamodb.update_item(
        TableName=table,
        Key={"pk": shards[0]["pk"], "sk": shards[0]["sk"]},
        UpdateExpression="ADD raised :x",
        ExpressionAttributeValues={":x": {"N": "999"}},
    )
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": "CAMPAIGN#c-1"},
            "sk": {"S": "SHARD#97"},
            "raised": {"N": "5"},
            "donations": {"N": "1"},
        },
    )
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "DONOR#user:u-donor"}, "sk": {"S": "DONOR"}})
    dynamodb.put_item(
        TableName=table, Item={"pk": {"S": "PLATFORM"}, "sk": {"S": "SHARD#00"}, "donations": {"N": "77"}}
    )


def test_a_rebuild_restores_every_read_model_and_a_second_run_changes_nothing(query_table: str) -> None:
    _given_some_giving()
    expected = _figures()
    _corrupt(query_table)
    assert _figures() != expected

    first = run_task({"task": "query.rebuild"})
    assert first["donations"] == 4
    assert first["campaigns"] == 2
    assert first["raced"] == 0
    assert first["written"] + first["deleted"] >= 4
    assert _figures() == expected

    second = run_task({"task": "query.rebuild"})
    assert (second["written"], second["deleted"], second["raced"], second["reranked"]) == (0, 0, 0, 0)
    assert _figures() == expected


def test_events_redelivered_after_a_rebuild_are_still_counted_once(query_table: str) -> None:
    _given_some_giving()
    run_task({"task": "query.rebuild"})
    before = _figures()
    assert deliver(completed("pl-1", amount=10_000, minutes=1)) == OK  # a fresh copy: a new event id
    assert _figures() == before
    assert deliver(completed("pl-5", amount=1_000, minutes=5)) == OK
    assert totals("c-1")["raisedAmount"] == before[0]["raisedAmount"] + 1_000


def test_a_rebuild_of_an_empty_table_writes_nothing(query_table: str) -> None:
    result = run_task({"task": "query.rebuild"})
    assert result == {
        "donations": 0,
        "campaigns": 0,
        "written": 0,
        "deleted": 0,
        "unchanged": 0,
        "raced": 0,
        "reranked": 0,
    }


class FakeLambda:
    """What lambda:Invoke of DonationsFunction answers (moto's own would need Docker)."""

    def __init__(self, payload: Any, *, failed: bool = False) -> None:
        self.payload, self.failed = payload, failed
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.requests.append((FunctionName, json.loads(Payload)))
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.failed:
            answer["FunctionError"] = "Unhandled"
        return answer


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Any:
    from harambee import aws

    def use(payload: Any, *, failed: bool = False) -> FakeLambda:
        fake = FakeLambda(payload, failed=failed)
        real = aws.client
        monkeypatch.setattr(aws, "client", lambda service: fake if service == "lambda" else real(service))
        return fake

    return use


def test_check_totals_agrees_with_a_ledger_that_matches(query_table: str, ledger: Any) -> None:
    _given_some_giving()
    fake = ledger(
        [
            {"campaignId": "c-1", "currency": "BDT", "amount": 14_000, "count": 2},
            {"campaignId": "c-2", "currency": "BDT", "amount": 7_000, "count": 1},
        ]
    )
    result = run_task({"task": "query.check-totals"})
    assert result == {"checked": 2, "mismatched": 0, "mismatches": []}
    assert fake.requests == [("test-DonationsFunction", {"task": "donations.completed-sums"})]


def test_check_totals_reports_each_campaign_that_disagrees(query_table: str, ledger: Any) -> None:
    _given_some_giving()
    fake = ledger([{"campaignId": "c-1", "currency": "BDT", "amount": 15_000, "count": 3}])
    result = run_task({"task": "query.check-totals"})
    assert result["mismatched"] == 2
    by_campaign = {m["campaignId"]: m for m in result["mismatches"]}
    assert by_campaign["c-1"]["ledger"] == {"amount": 15_000, "count": 3}
    assert by_campaign["c-1"]["totals"] == {"amount": 14_000, "count": 2, "currency": "BDT"}
    # c-2 has figures here but no completed pledges in the ledger
    assert by_campaign["c-2"]["ledger"] == {"amount": 0, "count": 0}
    # One campaign only, when asked
    single = run_task({"task": "query.check-totals", "campaignId": "c-2"})
    assert fake.requests[-1][1] == {"task": "donations.completed-sums", "campaignId": "c-2"}
    assert single["checked"] == 1


def test_check_totals_fails_loudly_when_the_ledger_fails(query_table: str, ledger: Any) -> None:
    from query.check import LedgerUnavailable

    ledger({"errorMessage": "boom"}, failed=True)
    with pytest.raises(LedgerUnavailable):
        run_task({"task": "query.check-totals"})
    ledger({"not": "a list"})
    with pytest.raises(LedgerUnavailable):
        run_task({"task": "query.check-totals"})
