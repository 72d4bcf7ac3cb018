"""Reads template.yaml (the single source of truth) into plain models for the local stack and tests.

CloudFormation short tags (!Ref, !GetAtt, !Sub, ...) load as their long forms ({"Ref": ...}), and SAM
Globals are merged into each function, so callers see what SAM would deploy.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
SAMCONFIG_PATH = ROOT / "samconfig.toml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic tags."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True)
class ApiRoute:
    function: str
    event_name: str
    method: str
    path: str
    authorizer: str | None  # None means the route is public (Authorizer: NONE)


@dataclass(frozen=True)
class EventSource:
    function: str
    event_name: str
    kind: str  # SQS | DynamoDB | Schedule | ScheduleV2
    properties: dict[str, Any]


@dataclass
class FunctionSpec:
    logical_id: str
    properties: dict[str, Any]
    routes: list[ApiRoute] = field(default_factory=list)
    sources: list[EventSource] = field(default_factory=list)

    @property
    def handler(self) -> str:
        return str(self.properties["Handler"])

    @property
    def code_uri(self) -> Path:
        return ROOT / str(self.properties["CodeUri"])

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def environment(self) -> dict[str, Any]:
        return dict((self.properties.get("Environment") or {}).get("Variables") or {})


class Template:
    """template.yaml with SAM Globals applied to every function."""

    def __init__(self, path: Path = TEMPLATE_PATH) -> None:
        self.path = path
        self.document = load_yaml(path)
        self.resources: dict[str, dict[str, Any]] = self.document.get("Resources", {})
        self.parameters: dict[str, dict[str, Any]] = self.document.get("Parameters", {})
        self.globals: dict[str, Any] = self.document.get("Globals", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res.get("Type") == resource_type}

    @functools.cached_property
    def functions(self) -> dict[str, FunctionSpec]:
        specs: dict[str, FunctionSpec] = {}
        defaults = self.globals.get("Function", {})
        api_defaults = self._api_default_authorizers()
        for name, resource in self.of_type("AWS::Serverless::Function").items():
            properties = _merge_globals(defaults, resource.get("Properties", {}))
            spec = FunctionSpec(name, properties)
            for event_name, event in (properties.get("Events") or {}).items():
                kind = event["Type"]
                event_props = event.get("Properties", {})
                if kind == "Api":
                    api_id = (event_props.get("RestApiId") or {}).get("Ref", "")
                    auth = (event_props.get("Auth") or {}).get("Authorizer", api_defaults.get(api_id))
                    spec.routes.append(
                        ApiRoute(
                            function=name,
                            event_name=event_name,
                            method=str(event_props["Method"]).upper(),
                            path=str(event_props["Path"]),
                            authorizer=None if auth in (None, "NONE") else str(auth),
                        )
                    )
                else:
                    spec.sources.append(EventSource(name, event_name, kind, event_props))
            specs[name] = spec
        return specs

    @property
    def routes(self) -> list[ApiRoute]:
        return [route for spec in self.functions.values() for route in spec.routes]

    def parameter_defaults(self) -> dict[str, str]:
        return {name: str(p["Default"]) for name, p in self.parameters.items() if "Default" in p}

    def _api_default_authorizers(self) -> dict[str, str | None]:
        defaults: dict[str, str | None] = {}
        for name, resource in self.of_type("AWS::Serverless::Api").items():
            auth = (resource.get("Properties") or {}).get("Auth") or {}
            defaults[name] = auth.get("DefaultAuthorizer")
        return defaults


def _merge_globals(defaults: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (function wins), lists concatenate, scalars are overridden."""
    merged = copy.deepcopy(defaults)
    for key, value in properties.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = current + value
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def samconfig_parameters(environment: str = "local", path: Path = SAMCONFIG_PATH) -> dict[str, str]:
    """The parameter_overrides samconfig.toml gives an environment (`Key=Value` pairs)."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    overrides = (
        config.get(environment, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    )
    pairs = overrides.split() if isinstance(overrides, str) else list(overrides)
    return dict(pair.split("=", 1) for pair in pairs)
