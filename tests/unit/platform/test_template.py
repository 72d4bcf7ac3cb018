"""template.yaml is the truth: these tests hold it to the platform's rules.

cfn-lint checks CloudFormation validity; these check our own invariants (every queue has a DLQ,
every async source has a failure target, every context has its table, log group and health route).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from devstack.template import Template, samconfig_parameters

CONTEXTS = [
    "identity", "profiles", "campaigns", "donations", "payments", "query", "notifications", "admin",
    "rewards", "verification", "analytics", "catalog", "orders", "billing", "finance", "spiritual",
    "schedule", "dashboard",
]  # fmt: skip


@pytest.fixture(scope="module")
def template() -> Template:
    return Template()


def _logical(context: str, suffix: str) -> str:
    return f"{context.capitalize()}{suffix}"


def test_globals_pin_the_runtime_tracing_and_layer(template: Template) -> None:
    function_globals = template.globals["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Tracing"] == "Active"
    assert {"Ref": "SharedLayer"} in function_globals["Layers"]
    assert function_globals["Environment"]["Variables"]["HARAMBEE_TRACING"] == {"Ref": "TracingEnabled"}


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_context_has_function_table_log_group_and_public_health_route(
    template: Template, context: str
) -> None:
    function = template.functions[_logical(context, "Function")]
    assert function.properties["CodeUri"] == f"functions/{context}"
    assert function.handler == f"{context}.handler.handler"
    assert function.environment["TABLE_NAME"] == {"Ref": _logical(context, "Table")}
    assert function.properties["LoggingConfig"]["LogGroup"] == {"Ref": _logical(context, "LogGroup")}
    log_group = template.resources[_logical(context, "LogGroup")]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    health = [route for route in function.routes if route.path == f"/api/{context}/health"]
    assert len(health) == 1
    assert health[0].method == "GET"
    assert health[0].authorizer is None


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_context_table_is_on_demand_recoverable_encrypted_and_streams(
    template: Template, context: str
) -> None:
    resource = template.resources[_logical(context, "Table")]
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


def _dead_letter_targets(template: Template) -> set[str]:
    targets = set()
    for queue in template.of_type("AWS::SQS::Queue").values():
        redrive = (queue.get("Properties") or {}).get("RedrivePolicy")
        if redrive:
            targets.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    return targets


def test_every_queue_has_a_dead_letter_queue_or_is_one(template: Template) -> None:
    dead_letter = _dead_letter_targets(template)
    failure_destinations = {"OutboxRelayFailureQueue", "EventDeliveryDeadLetterQueue"}
    for name, queue in template.of_type("AWS::SQS::Queue").items():
        if name in dead_letter or name in failure_destinations:
            assert queue["Properties"]["MessageRetentionPeriod"] == 1209600, f"{name} keeps failures 14 days"
            continue
        redrive = queue["Properties"].get("RedrivePolicy")
        assert redrive, f"{name} has no dead-letter queue"
        assert 1 < redrive["maxReceiveCount"] <= 10


def test_every_dead_letter_queue_raises_an_alarm(template: Template) -> None:
    alarmed = set()
    for alarm in template.of_type("AWS::CloudWatch::Alarm").values():
        for dimension in alarm["Properties"].get("Dimensions", []):
            value = dimension["Value"]
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                alarmed.add(value["Fn::GetAtt"][0])
    assert (
        _dead_letter_targets(template) | {"OutboxRelayFailureQueue", "EventDeliveryDeadLetterQueue"}
        <= alarmed
    )


def _sources(template: Template, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (s.function, s.properties) for f in template.functions.values() for s in f.sources if s.kind == kind
    ]


def test_every_queue_consumer_reports_partial_batch_failures(template: Template) -> None:
    consumers = _sources(template, "SQS")
    assert consumers, "at least one context consumes events"
    for function, props in consumers:
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], function
        queue = props["Queue"]["Fn::GetAtt"][0]
        visibility = template.resources[queue]["Properties"]["VisibilityTimeout"]
        timeout = template.functions[function].properties["Timeout"]
        # AWS recommends six times the function timeout so a retried batch is not redelivered mid-run.
        assert visibility >= 6 * timeout, f"{queue} visibility {visibility}s < 6 x {timeout}s"


def test_every_stream_relay_is_filtered_to_outbox_inserts_and_has_a_failure_destination(
    template: Template,
) -> None:
    relays = _sources(template, "DynamoDB")
    assert len(relays) == len(CONTEXTS)
    for function, props in relays:
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], function
        assert props["BisectBatchOnFunctionError"] is True
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["OutboxRelayFailureQueue", "Arn"]
        }
        (pattern,) = [f["Pattern"] for f in props["FilterCriteria"]["Filters"]]
        assert '"prefix": "OUTBOX#"' in pattern
        assert '"eventName": ["INSERT"]' in pattern


def test_every_subscription_rule_targets_a_queue_with_a_policy_for_that_rule(template: Template) -> None:
    rules = template.of_type("AWS::Events::Rule")
    policies = template.of_type("AWS::SQS::QueuePolicy")
    assert rules
    for name, rule in rules.items():
        props = rule["Properties"]
        assert props["EventBusName"] == {"Ref": "EventBus"}
        assert props["EventPattern"]["source"] == [{"prefix": "harambee."}]
        (target,) = props["Targets"]
        queue = target["Arn"]["Fn::GetAtt"][0]
        # A queue may hear several rules (admin: subscriptions and audited changes), one statement each.
        granted = [
            p for p in policies.values()
            if p["Properties"]["Queues"] == [{"Ref": queue}]
            and any(
                statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [name, "Arn"]}
                for statement in p["Properties"]["PolicyDocument"]["Statement"]
            )
        ]  # fmt: skip
        assert granted, f"{queue} does not let {name} deliver to it"


def test_every_rule_target_retries_and_dead_letters_what_it_cannot_deliver(template: Template) -> None:
    for name, rule in template.of_type("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"] == {
                "Arn": {"Fn::GetAtt": ["EventDeliveryDeadLetterQueue", "Arn"]}
            }, name
            assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400, name


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_relay_alarms_when_it_falls_behind_its_stream(template: Template, context: str) -> None:
    alarm = template.resources[_logical(context, "RelayLagAlarm")]["Properties"]
    assert (alarm["MetricName"], alarm["Dimensions"][0]["Value"]) == (
        "IteratorAge",
        {"Ref": _logical(context, "Function")},
    )


def test_only_identity_can_read_the_signing_key_or_seal_secrets(template: Template) -> None:
    for name, spec in template.functions.items():
        policies = json.dumps(spec.properties.get("Policies", []))
        reads_all_jwt = "jwt/*" in policies
        seals = "KMSEncryptPolicy" in policies and "MessageSecretsKey" in policies
        assert (reads_all_jwt, seals) == ((True, True) if name == "IdentityFunction" else (False, False)), (
            name
        )
        # Only notifications opens sealed links (to email them); nobody else names the key.
        opens = "MessageSecretsKey" in policies and not seals
        assert opens == (name == "NotificationsFunction"), name


def test_routes_are_unique_and_all_behind_the_one_rest_api(template: Template) -> None:
    seen = [(route.method, route.path) for route in template.routes]
    assert len(seen) == len(set(seen))
    for spec in template.functions.values():
        for event in (spec.properties.get("Events") or {}).values():
            if event["Type"] == "Api":
                assert event["Properties"]["RestApiId"] == {"Ref": "HarambeeApi"}


def test_the_api_has_a_jwt_authorizer_throttling_and_envelope_gateway_responses(template: Template) -> None:
    api = template.resources["HarambeeApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
    authorizer = api["Auth"]["Authorizers"]["JwtAuthorizer"]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    stage_wide, login = api["MethodSettings"]
    assert (stage_wide["ResourcePath"], stage_wide["HttpMethod"]) == ("/*", "*")
    assert stage_wide["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    # Login gets its own, lower limit in front of the function's per-account and per-IP throttling.
    assert (login["ResourcePath"], login["HttpMethod"]) == ("/~1api~1auth~1login", "POST")
    responses = api["GatewayResponses"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    for response in responses.values():
        assert '"success":false' in response["ResponseTemplates"]["application/json"]


def test_state_machines_are_standard_and_defined_in_infra(template: Template) -> None:
    machines = template.of_type("AWS::Serverless::StateMachine")
    assert machines
    for machine in machines.values():
        props = machine["Properties"]
        assert props["Type"] == "STANDARD"
        assert str(props["DefinitionUri"]).startswith("infra/statemachines/")


def test_every_parameter_samconfig_sets_exists_in_the_template(template: Template) -> None:
    for environment in ("local", "dev", "prod"):
        assert set(samconfig_parameters(environment)) <= set(template.parameters), environment


@pytest.mark.parametrize("function", ["AuthorizerFunction", *[_logical(c, "Function") for c in CONTEXTS]])
def test_every_handler_in_the_template_imports(template: Template, function: str) -> None:
    spec = template.functions[function]
    module = importlib.import_module(spec.module)
    assert callable(getattr(module, spec.handler.rsplit(".", 1)[1]))
