"""The totals benchmark measures what it claims: a short run through the real projection and handler."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "totals.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("totals_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_short_run_prints_constant_read_units_and_exact_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harambee.settings import platform_settings

    benchmark = _benchmark()
    for name, value in benchmark.ENVIRONMENT.items():
        monkeypatch.setenv(name, value)  # restored after the test
    platform_settings.cache_clear()
    figures = tmp_path / "totals.json"
    code = benchmark.main(["--donations", "20,60", "--reads", "5", "--quiet", "--json", str(figures)])
    platform_settings.cache_clear()
    assert code == 0
    small, large = json.loads(figures.read_text())
    assert (small["donation_count"], large["donation_count"]) == (20, 60)
    assert small["items_read"] == large["items_read"] <= 11
    assert small["read_units"] == large["read_units"] == 0.5
    assert "read units 1.00" in capsys.readouterr().out


def test_the_item_backup_restores_a_failed_transaction_like_moto_does() -> None:
    import boto3
    from moto import mock_aws

    benchmark = _benchmark()
    with mock_aws(), benchmark.item_backups_for_transactions():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                    {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
                    {
                        "Put": {
                            "TableName": "t",
                            "Item": {"pk": {"S": "a"}, "sk": {"S": "2"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        items = dynamodb.scan(TableName="t")["Items"]
        assert items == [{"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}}]
