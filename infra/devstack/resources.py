"""Creates template.yaml's resources in moto with boto3 calls, in dependency order.

moto's CloudFormation cannot deploy this template (see docs on the local stack), so each resource type
has a small create step here. Physical names are deterministic: `<stack>-<LogicalId>` unless the
template names the resource itself.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from devstack.intrinsics import ACCOUNT_ID, REGION, Resolver
from devstack.provision import create_table
from devstack.template import ROOT, Template, samconfig_parameters

STACK_NAME = "harambee-local"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LAMBDA_ROLE_NAME = "harambee-local-lambda"

# Where a resource type lets the template choose its physical name.
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
}


def client(endpoint: str, service: str) -> Any:
    """A boto3 client for the local moto endpoint, with fake credentials (shared by the stack's threads)."""
    config = Config(max_pool_connections=64, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name=REGION, config=config, **FAKE_CREDENTIALS
    )


def stack_parameters(template: Template, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Template defaults, overlaid by samconfig.toml's [local] overrides, overlaid by `overrides`."""
    values = template.parameter_defaults()
    values.update(samconfig_parameters("local"))
    values.update(overrides or {})
    return values


@dataclass
class Queue:
    name: str
    url: str
    arn: str


@dataclass
class StackResources:
    """What exists in moto after provisioning, by logical id, plus the resolver that knows them all."""

    resolver: Resolver
    tables: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    buses: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)

    def physical_name(self, logical_id: str) -> str:
        """The physical id CloudFormation's Ref would return for `logical_id`."""
        return self.resolver.ref(logical_id)

    def queue_by_arn(self, arn: str) -> Queue:
        return next(queue for queue in self.queues.values() if queue.arn == arn)

    def function_by_arn(self, arn: str) -> str | None:
        name = arn.split(":function:", 1)[-1].split(":", 1)[0]
        return next((logical for logical, fn in self.functions.items() if fn == name), None)


def active_resources(template: Template, resolver: Resolver) -> dict[str, dict[str, Any]]:
    """The template's resources whose Condition holds."""
    return {
        logical_id: resource
        for logical_id, resource in template.resources.items()
        if "Condition" not in resource or resolver.condition(str(resource["Condition"]))
    }


def predict_names(template: Template, resolver: Resolver) -> None:
    """Fill the resolver with every name and ARN known before anything is created."""
    for logical_id, resource in active_resources(template, resolver).items():
        kind = str(resource.get("Type"))
        props = resource.get("Properties") or {}
        name_property = _NAME_PROPERTY.get(kind)
        declared = props.get(name_property) if name_property else None
        name = resolver.resolve_str(declared) if declared else f"{STACK_NAME}-{logical_id}"
        ref, attributes = _identity(kind, name, props, resolver)
        resolver.refs[logical_id] = ref
        resolver.attributes[logical_id] = attributes


def _identity(kind: str, name: str, props: dict[str, Any], resolver: Resolver) -> tuple[str, dict[str, str]]:
    """What Ref and GetAtt return for a resource of `kind` called `name`."""
    prefix = f"{REGION}:{ACCOUNT_ID}"
    if kind == "AWS::Events::Rule":
        bus = resolver.resolve_str(props.get("EventBusName", "default"))
        path = name if bus == "default" else f"{bus}/{name}"
        return name, {"Arn": f"arn:aws:events:{prefix}:rule/{path}"}
    if kind == "AWS::KMS::Key":
        # A key id is random; locally Ref names an alias to it, which KMS accepts wherever a key id goes.
        alias = f"alias/{name}"
        return alias, {"Arn": f"arn:aws:kms:{prefix}:{alias}", "KeyId": alias}
    if kind == "AWS::S3::Bucket":
        bucket = name.lower()
        return bucket, {"Arn": f"arn:aws:s3:::{bucket}", "DomainName": f"{bucket}.s3.amazonaws.com"}
    arn_of = {
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{prefix}:table/{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{prefix}:{name}",
        "AWS::SNS::Topic": f"arn:aws:sns:{prefix}:{name}",
        "AWS::Events::EventBus": f"arn:aws:events:{prefix}:event-bus/{name}",
        "AWS::Serverless::Function": f"arn:aws:lambda:{prefix}:function:{name}",
        "AWS::Serverless::StateMachine": f"arn:aws:states:{prefix}:stateMachine:{name}",
        "AWS::Logs::LogGroup": f"arn:aws:logs:{prefix}:log-group:{name}:*",
        "AWS::Serverless::LayerVersion": f"arn:aws:lambda:{prefix}:layer:{name}:1",
    }
    arn = arn_of.get(kind, f"arn:aws:local:{prefix}:{name}")
    extra = {
        "AWS::SQS::Queue": {"QueueName": name},
        "AWS::SNS::Topic": {"TopicArn": arn, "TopicName": name},
        "AWS::Events::EventBus": {"Name": name},
        "AWS::Serverless::StateMachine": {"Name": name},
    }.get(kind, {})
    # Ref is the ARN for topics, state machines and layers, the name for everything else.
    by_arn = {"AWS::SNS::Topic", "AWS::Serverless::StateMachine", "AWS::Serverless::LayerVersion"}
    ref = arn if kind in by_arn else name
    if kind == "AWS::Serverless::Api":
        return "harambeelocal", {"RootResourceId": "root"}
    return ref, {"Arn": arn, **extra}


def provision(
    template: Template,
    endpoint: str,
    parameters: dict[str, str],
    *,
    queue_visibility_timeout: int | None = None,
) -> StackResources:
    """Create every table, queue, topic, bucket, bus, rule, function and state machine in moto."""
    resolver = Resolver(parameters=parameters, conditions=template.document.get("Conditions") or {})
    predict_names(template, resolver)
    stack = StackResources(resolver)
    resources = active_resources(template, resolver)
    steps: list[tuple[str, Callable[..., None]]] = [
        ("AWS::DynamoDB::Table", _create_table),
        ("AWS::SQS::Queue", _create_queue),
        ("AWS::SNS::Topic", _create_topic),
        ("AWS::KMS::Key", _create_key),
        ("AWS::SES::EmailIdentity", _create_email_identity),
        ("AWS::S3::Bucket", _create_bucket),
        ("AWS::Events::EventBus", _create_bus),
        ("AWS::Events::Rule", _create_rule),
        ("AWS::Serverless::Function", _create_function),
        ("AWS::Serverless::StateMachine", _create_state_machine),
    ]
    context = _Context(template, endpoint, stack, queue_visibility_timeout)
    for kind, create in steps:
        for logical_id in _in_dependency_order(kind, resources):
            create(context, logical_id, resources[logical_id].get("Properties") or {})
    return stack


def discover(template: Template, endpoint: str, parameters: dict[str, str]) -> StackResources:
    """The resources a running local stack already created at `endpoint`, without creating anything."""
    resolver = Resolver(parameters=parameters, conditions=template.document.get("Conditions") or {})
    predict_names(template, resolver)
    stack = StackResources(resolver)
    dynamodb, sqs = client(endpoint, "dynamodb"), client(endpoint, "sqs")
    for logical_id, resource in active_resources(template, resolver).items():
        kind = resource.get("Type")
        if kind == "AWS::DynamoDB::Table":
            name = resolver.ref(logical_id)
            stream_arn = dynamodb.describe_table(TableName=name)["Table"].get("LatestStreamArn")
            stack.tables[logical_id] = name
            if stream_arn:
                stack.stream_arns[logical_id] = resolver.attributes[logical_id]["StreamArn"] = str(stream_arn)
        elif kind == "AWS::SQS::Queue":
            name = resolver.get_att(logical_id, "QueueName")
            url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
            stack.queues[logical_id] = Queue(name=name, url=url, arn=resolver.get_att(logical_id, "Arn"))
            resolver.refs[logical_id] = resolver.attributes[logical_id]["QueueUrl"] = url
        elif kind == "AWS::Serverless::Function":
            stack.functions[logical_id] = resolver.ref(logical_id)
        elif kind == "AWS::Serverless::StateMachine":
            stack.state_machines[logical_id] = resolver.ref(logical_id)
    return stack


@dataclass
class _Context:
    template: Template
    endpoint: str
    stack: StackResources
    queue_visibility_timeout: int | None
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = client(self.endpoint, service)
        return self.clients[service]

    def resolve(self, node: Any) -> Any:
        return self.stack.resolver.resolve(node)


def _in_dependency_order(kind: str, resources: dict[str, dict[str, Any]]) -> list[str]:
    of_kind = [logical_id for logical_id, resource in resources.items() if resource.get("Type") == kind]
    if kind != "AWS::SQS::Queue":
        return of_kind
    # A dead-letter queue must exist before the queue whose RedrivePolicy names it.
    return sorted(
        of_kind, key=lambda logical_id: "RedrivePolicy" in (resources[logical_id].get("Properties") or {})
    )


def _create_table(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    name = ctx.stack.physical_name(logical_id)
    stream_arn = create_table(ctx.client("dynamodb"), ctx.template, logical_id, name)
    ctx.stack.tables[logical_id] = name
    if stream_arn:
        ctx.stack.stream_arns[logical_id] = stream_arn
        ctx.stack.resolver.attributes[logical_id]["StreamArn"] = stream_arn


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _attribute_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _create_queue(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    name = ctx.stack.physical_name(logical_id)
    attributes = {key: _attribute_text(ctx.resolve(props[key])) for key in _QUEUE_ATTRIBUTES if key in props}
    if ctx.queue_visibility_timeout is not None:
        attributes["VisibilityTimeout"] = str(ctx.queue_visibility_timeout)
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(ctx.resolve(props["RedrivePolicy"]))
    url = str(ctx.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    arn = str(ctx.stack.resolver.get_att(logical_id, "Arn"))
    ctx.stack.queues[logical_id] = Queue(name=name, url=url, arn=arn)
    # Ref on a queue is its URL; the URL is only known once moto answers.
    ctx.stack.resolver.refs[logical_id] = url
    ctx.stack.resolver.attributes[logical_id]["QueueUrl"] = url


def _create_topic(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    name = ctx.stack.resolver.get_att(logical_id, "TopicName")
    ctx.stack.topics[logical_id] = str(ctx.client("sns").create_topic(Name=name)["TopicArn"])


def _create_key(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    kms = ctx.client("kms")
    key_id = kms.create_key(Description=str(ctx.resolve(props.get("Description", logical_id))))[
        "KeyMetadata"
    ]["KeyId"]
    kms.create_alias(AliasName=ctx.stack.resolver.refs[logical_id], TargetKeyId=key_id)


def _create_email_identity(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    # moto refuses to send from an address that is not an identity, as SES does before verification.
    ctx.client("sesv2").create_email_identity(EmailIdentity=str(ctx.resolve(props["EmailIdentity"])))


def _create_bucket(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    name = ctx.stack.physical_name(logical_id)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=name)
    ctx.stack.buckets[logical_id] = name
    # Queues exist by now, so the notification targets resolve; moto then sends ObjectCreated to SQS.
    notifications = ctx.resolve(props.get("NotificationConfiguration") or {})
    queues = [_queue_notification(target) for target in notifications.get("QueueConfigurations", [])]
    if queues:
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"QueueConfigurations": queues}
        )


def _queue_notification(target: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's QueueConfiguration in the shape of S3's PutBucketNotificationConfiguration."""
    notification: dict[str, Any] = {"QueueArn": target["Queue"], "Events": [target["Event"]]}
    rules = ((target.get("Filter") or {}).get("S3Key") or {}).get("Rules")
    if rules:
        notification["Filter"] = {"Key": {"FilterRules": rules}}
    return notification


def _create_bus(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    name = ctx.stack.physical_name(logical_id)
    ctx.client("events").create_event_bus(Name=name)
    ctx.stack.buses[logical_id] = name


def _create_rule(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    # Schedule rules stay out of moto: there a schedule-only rule matches every PutEvents event,
    # and the local clock (schedules.py) runs them instead.
    if "EventPattern" not in props:
        return
    name = ctx.stack.physical_name(logical_id)
    bus = str(ctx.resolve(props.get("EventBusName", "default")))
    pattern = ctx.resolve(props["EventPattern"])
    events = ctx.client("events")
    events.put_rule(
        Name=name,
        EventBusName=bus,
        EventPattern=pattern if isinstance(pattern, str) else json.dumps(pattern),
        State=str(ctx.resolve(props.get("State", "ENABLED"))),
    )
    targets = [
        {
            key: ctx.resolve(value)
            for key, value in target.items()
            if key in {"Id", "Arn", "Input", "InputPath"}
        }
        for target in props.get("Targets") or []
    ]
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    ctx.stack.rules[logical_id] = name


def _lambda_role(ctx: _Context) -> str:
    iam = ctx.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=LAMBDA_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
        return str(created["Role"]["Arn"])


def _placeholder_zip() -> bytes:
    # moto only needs a package to exist; the real code runs in our worker processes (workers.py).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# executed by the local stack's workers, not by moto\n")
    return buffer.getvalue()


def _create_function(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    spec = ctx.template.functions[logical_id]
    name = ctx.stack.physical_name(logical_id)
    ctx.client("lambda").create_function(
        FunctionName=name,
        Runtime=str(spec.properties.get("Runtime", "python3.13")),
        Role=_lambda_role(ctx),
        Handler=spec.handler,
        Code={"ZipFile": _placeholder_zip()},
        Timeout=int(ctx.resolve(spec.properties.get("Timeout", 3))),
        MemorySize=int(ctx.resolve(spec.properties.get("MemorySize", 128))),
    )
    ctx.stack.functions[logical_id] = name


def _create_state_machine(ctx: _Context, logical_id: str, props: dict[str, Any]) -> None:
    if "DefinitionUri" in props:
        definition = (ROOT / str(ctx.resolve(props["DefinitionUri"]))).read_text(encoding="utf-8")
    else:
        definition = json.dumps(ctx.resolve(props["Definition"]))
    for key, value in (ctx.resolve(props.get("DefinitionSubstitutions") or {})).items():
        definition = definition.replace(f"${{{key}}}", str(value))
    created = ctx.client("stepfunctions").create_state_machine(
        name=str(ctx.stack.resolver.get_att(logical_id, "Name")),
        definition=definition,
        roleArn=_lambda_role(ctx),
        type=str(props.get("Type", "STANDARD")),
    )
    ctx.stack.state_machines[logical_id] = str(created["stateMachineArn"])
