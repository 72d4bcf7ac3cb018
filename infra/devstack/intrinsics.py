"""Resolves CloudFormation intrinsic functions against the local stack's parameters and resources."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
URL_SUFFIX = "amazonaws.com"

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvedReference(KeyError):
    """A Ref or GetAtt names something the local stack has not created (yet)."""


@dataclass
class Resolver:
    """Parameter values plus the physical ids and attributes of resources created so far."""

    parameters: dict[str, str]
    conditions: Mapping[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::Partition": "aws",
            "AWS::StackName": self.parameters.get("AWS::StackName", "harambee-local"),
            "AWS::NoValue": "",
        }

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        raise UnresolvedReference(f"Ref {name} is not known to the local stack")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise UnresolvedReference(
                f"GetAtt {logical_id}.{attribute} is not known to the local stack"
            ) from None

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def resolve(self, node: Any) -> Any:
        """The value of `node` with every intrinsic function replaced by its result."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node if not _is_no_value(item)]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        return {key: self.resolve(value) for key, value in node.items() if not _is_no_value(value)}

    def resolve_str(self, node: Any) -> str:
        value = self.resolve(node)
        return value if isinstance(value, str) else json.dumps(value)


def _is_no_value(node: Any) -> bool:
    return isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}


def _ref(resolver: Resolver, argument: Any) -> str:
    return resolver.ref(str(argument))


def _get_att(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    logical_id, attribute = (resolver.resolve(part) for part in argument)
    return resolver.get_att(str(logical_id), str(attribute))


def _sub(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, list):
        text, local = str(argument[0]), {k: str(resolver.resolve(v)) for k, v in argument[1].items()}
    else:
        text, local = str(argument), {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in local:
            return local[name]
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return resolver.get_att(logical_id, attribute)
        return resolver.ref(name)

    # ${!Literal} is CloudFormation's escape for a literal ${Literal}.
    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _join(resolver: Resolver, argument: Any) -> str:
    delimiter, values = argument
    return str(delimiter).join(str(value) for value in resolver.resolve(values))


def _if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(str(name)) else when_false)


def _not(resolver: Resolver, argument: Any) -> bool:
    return not resolver.resolve(argument[0])


def _equals(resolver: Resolver, argument: Any) -> bool:
    left, right = (resolver.resolve(value) for value in argument)
    return str(left) == str(right)


def _and(resolver: Resolver, argument: Any) -> bool:
    return all(resolver.resolve(value) for value in argument)


def _or(resolver: Resolver, argument: Any) -> bool:
    return any(resolver.resolve(value) for value in argument)


def _condition(resolver: Resolver, argument: Any) -> bool:
    return resolver.condition(str(argument))


def _select(resolver: Resolver, argument: Any) -> Any:
    index, values = argument
    return resolver.resolve(values)[int(resolver.resolve(index))]


def _split(resolver: Resolver, argument: Any) -> list[str]:
    delimiter, text = argument
    return str(resolver.resolve(text)).split(str(delimiter))


def _get_azs(resolver: Resolver, argument: Any) -> list[str]:
    return [f"{REGION}{zone}" for zone in "abc"]


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::If": _if,
    "Fn::Not": _not,
    "Fn::Equals": _equals,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Condition": _condition,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::GetAZs": _get_azs,
}
