"""Intrinsic functions resolve the way CloudFormation resolves them."""

from __future__ import annotations

import pytest

from devstack.intrinsics import Resolver, UnresolvedReference
from devstack.resources import predict_names, stack_parameters
from devstack.template import Template


@pytest.fixture
def resolver() -> Resolver:
    found = Resolver(
        parameters={"Stage": "local", "AlarmEmail": "", "CanaryTimeoutSeconds": "30"},
        conditions={"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
    )
    found.refs["EventBus"] = "harambee-local"
    found.attributes["AdminFunction"] = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:admin"}
    found.attributes["AdminTable"] = {"StreamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/a/stream/1"}
    return found


def test_ref_gives_parameters_pseudo_parameters_and_resources(resolver):
    assert resolver.resolve({"Ref": "Stage"}) == "local"
    assert resolver.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    assert resolver.resolve({"Ref": "EventBus"}) == "harambee-local"


def test_get_att_in_both_forms(resolver):
    assert resolver.resolve({"Fn::GetAtt": ["AdminFunction", "Arn"]}).endswith(":function:admin")
    assert resolver.resolve({"Fn::GetAtt": "AdminTable.StreamArn"}).endswith("/stream/1")


def test_sub_with_parameters_pseudo_parameters_attributes_and_escapes(resolver):
    text = "${AWS::AccountId}/${Stage}/${AdminFunction.Arn}/${!Literal}.${AWS::URLSuffix}"

    assert resolver.resolve({"Fn::Sub": text}) == (
        "123456789012/local/arn:aws:lambda:us-east-1:123456789012:function:admin/${Literal}.amazonaws.com"
    )
    assert resolver.resolve({"Fn::Sub": ["${Greeting}-${Stage}", {"Greeting": "hi"}]}) == "hi-local"


def test_sub_of_json_input_keeps_the_json(resolver):
    assert (
        resolver.resolve({"Fn::Sub": '{"timeoutSeconds": ${CanaryTimeoutSeconds}}'})
        == '{"timeoutSeconds": 30}'
    )


def test_conditions_if_join_and_no_value(resolver):
    assert resolver.condition("HasAlarmEmail") is False
    assert resolver.resolve({"Fn::If": ["HasAlarmEmail", "mail", "none"]}) == "none"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}) == "a-local"
    assert resolver.resolve(["kept", {"Ref": "AWS::NoValue"}]) == ["kept"]


def test_an_unknown_reference_is_an_error_that_names_it(resolver):
    with pytest.raises(UnresolvedReference, match="Nowhere"):
        resolver.resolve({"Ref": "Nowhere"})


def test_given_the_template_when_names_are_predicted_then_every_function_env_resolves_except_created_urls():
    template = Template()
    parameters = stack_parameters(template, {"Stage": "local"})
    resolver = Resolver(parameters=parameters, conditions=template.document.get("Conditions") or {})

    predict_names(template, resolver)

    assert parameters["CanaryTimeoutSeconds"] == "30"  # samconfig.toml [local]
    assert resolver.ref("CatalogTable") == "harambee-local-CatalogTable"
    assert resolver.ref("EventBus") == "harambee-local"  # the template names its bus
    assert "AlarmEmailSubscription" not in resolver.refs  # its Condition is false locally
    env = resolver.resolve(template.functions["CatalogFunction"].environment)
    assert env["TABLE_NAME"] == "harambee-local-CatalogTable"
    assert env["SECRETS_PREFIX"] == "/harambee/local"
