"""Turns template.yaml resources into boto3 create calls (DynamoDB tables first; the local stack adds
queues, buses, rules, parameters, functions and state machines on top of these)."""

from __future__ import annotations

from typing import Any

from devstack.template import Template


def table_definition(template: Template, logical_id: str, table_name: str) -> dict[str, Any]:
    """create_table kwargs for an AWS::DynamoDB::Table, with its keys, indexes and stream."""
    props = template.resources[logical_id]["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def create_table(dynamodb: Any, template: Template, logical_id: str, table_name: str) -> str:
    """Create one table from the template (with TTL when declared); returns its stream ARN or ""."""
    created = dynamodb.create_table(**table_definition(template, logical_id, table_name))
    ttl = template.resources[logical_id]["Properties"].get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    return str(created["TableDescription"].get("LatestStreamArn", ""))
