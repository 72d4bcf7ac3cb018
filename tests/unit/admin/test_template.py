"""What template.yaml promises admin: an audit log nobody edits, every DLQ watched, audits routed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.template import Template

AUDIT_TABLE = "AuditLogTable"
FORBIDDEN_ON_AUDIT = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                      "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:DeleteTable",
                      "dynamodb:UpdateTable", "dynamodb:PartiQLInsert"}  # fmt: skip


@pytest.fixture(scope="module")
def template() -> Template:
    return Template()


def _names(node: Any) -> set[str]:
    """Every logical id a Ref, GetAtt or Sub in `node` points at."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
            found |= _names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _names(value)
    return found


def _policies(template: Template) -> list[Any]:
    return list(template.resources["AdminFunction"]["Properties"]["Policies"])


def test_the_audit_log_can_only_be_appended_to_and_read(template: Template) -> None:
    granted: set[str] = set()
    for policy in _policies(template):
        if not isinstance(policy, dict):
            continue
        for kind, body in policy.items():
            if kind != "Statement":
                # SAM policy templates (DynamoDBCrudPolicy) grant UpdateItem and DeleteItem: not on the log.
                assert AUDIT_TABLE not in _names(body), f"{kind} reaches the audit log"
                continue
            for statement in body:
                resources = statement.get("Resource")
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                touches_log = AUDIT_TABLE in _names(resources)
                wildcard = resources == "*" and any(a.startswith("dynamodb:") for a in actions)
                assert not wildcard, statement
                if touches_log:
                    granted |= set(actions)
    assert granted == {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"}
    assert not granted & FORBIDDEN_ON_AUDIT
    assert not any("*" in action for action in granted)


def test_the_audit_log_survives_stack_mistakes(template: Template) -> None:
    table = template.resources[AUDIT_TABLE]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "TimeToLiveSpecification" not in props


def _dead_letter_queues(template: Template) -> set[str]:
    """Queues the template sends failures to: redrive targets, rule DLQs and on-failure destinations."""
    found: set[str] = set()
    for resource in template.resources.values():
        props = resource.get("Properties") or {}
        redrive = props.get("RedrivePolicy")
        if redrive:
            found |= _names(redrive["deadLetterTargetArn"])
        for target in props.get("Targets") or []:
            if "DeadLetterConfig" in target:
                found |= _names(target["DeadLetterConfig"])
        for source in (props.get("Events") or {}).values():
            destination = ((source.get("Properties") or {}).get("DestinationConfig") or {}).get("OnFailure")
            if destination:
                found |= _names(destination["Destination"])
    return found


def test_every_dead_letter_queue_is_watched_and_readable(template: Template) -> None:
    admin = template.resources["AdminFunction"]["Properties"]
    joined = admin["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URLS"]["Fn::Join"]
    assert joined[0] == ","
    watched = {ref["Ref"] for ref in joined[1]}
    assert watched == _dead_letter_queues(template)
    readable: set[str] = set()
    for policy in _policies(template):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement["Action"] == "sqs:GetQueueAttributes":
                readable |= _names(statement["Resource"])
    assert readable == watched


@pytest.fixture
def audit_inbox(template: Template) -> Iterator[tuple[Any, str]]:
    """The template's AdminAuditRule in moto's EventBridge (what the local stack uses), to a queue."""
    pattern = template.resources["AdminAuditRule"]["Properties"]["EventPattern"]
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="bus")
        url = sqs.create_queue(QueueName="admin")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="audit", EventBusName="bus", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="audit", EventBusName="bus", Targets=[{"Id": "inbox", "Arn": arn}])
        yield events, url


def test_the_audit_rule_selects_exactly_the_events_carrying_audit(audit_inbox: tuple[Any, str]) -> None:
    events, url = audit_inbox
    samples = {
        "account.status_changed": {"data": {"userId": "u-1", "audit": {"actorId": "u-admin", "before": {}}}},
        "campaign.status_changed": {"data": {"campaignId": "c-1", "audit": {"actorId": "u-admin"}}},
        "pledge.completed": {"data": {"pledgeId": "pl-1"}},
        "profile.updated": {"data": {"userId": "u-1", "audit": "not an object"}},
    }
    events.put_events(
        Entries=[
            {
                "EventBusName": "bus",
                "Source": "harambee.test",
                "DetailType": kind,
                "Detail": json.dumps(detail),
            }
            for kind, detail in samples.items()
        ]
    )
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["detail-type"] for m in messages) == [
        "account.status_changed", "campaign.status_changed"
    ]  # fmt: skip
