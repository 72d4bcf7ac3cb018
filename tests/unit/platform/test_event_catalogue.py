"""docs/events.md and the bus agree: a context the catalogue names as an event's consumer has a rule
that delivers that event to its inbox, and a rule never subscribes an event the catalogue does not
say that context consumes (a silent subscription, or a documented one that never arrives, is drift)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devstack.template import Template

ROOT = Path(__file__).resolve().parents[3]


def _top_level_parts(cell: str) -> list[str]:
    """'a (x, y), b' -> ['a (x, y)', 'b']: commas inside parentheses do not split."""
    parts, depth, current = [], 0, ""
    for char in cell:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part.strip() for part in [*parts, current] if part.strip()]


def catalogue() -> dict[str, set[str]]:
    """eventType -> the contexts the catalogue says consume it."""
    consumers: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "events.md").read_text().splitlines():
        row = re.match(r"^\| `([a-z_]+\.[a-z_]+)` \|(.*)\|\s*$", line)
        if not row:
            continue
        cells = [cell.strip() for cell in row.group(2).split("|")]
        named = {re.match(r"[a-z]+", part).group(0) for part in _top_level_parts(cells[-1])}  # type: ignore[union-attr]
        consumers[row.group(1)] = named
    return consumers


def subscriptions(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Context (lower case) -> the event patterns of the rules that target its inbox queue."""
    by_context: dict[str, list[dict[str, Any]]] = {}
    for resource in template.resources.values():
        if resource["Type"] != "AWS::Events::Rule" or "EventPattern" not in resource["Properties"]:
            continue
        for target in resource["Properties"]["Targets"]:
            queue = target["Arn"]["Fn::GetAtt"][0]
            match = re.match(r"^([A-Z][a-z]+)Queue$", queue)
            if match:
                by_context.setdefault(match.group(1).lower(), []).append(
                    resource["Properties"]["EventPattern"]
                )
    return by_context


def delivers(pattern: dict[str, Any], event_type: str) -> bool:
    types = pattern.get("detail-type")
    return types is None or event_type in types


@pytest.fixture(scope="module")
def template() -> Template:
    return Template()


def test_every_documented_consumer_has_a_rule_delivering_the_event(template: Template) -> None:
    rules = subscriptions(template)
    missing = sorted(
        f"{event} -> {context}"
        for event, contexts in catalogue().items()
        for context in contexts
        if context in rules and not any(delivers(pattern, event) for pattern in rules[context])
    )
    assert missing == []


def test_every_subscribed_event_is_documented_with_its_consumer(template: Template) -> None:
    documented = catalogue()
    silent = sorted(
        f"{event} -> {context}"
        for context, patterns in subscriptions(template).items()
        for pattern in patterns
        for event in pattern.get("detail-type", [])
        if context not in documented.get(event, set())
    )
    assert silent == []


def test_every_consuming_context_in_the_catalogue_has_an_inbox(template: Template) -> None:
    rules = subscriptions(template)
    named = {context for contexts in catalogue().values() for context in contexts}
    assert sorted(named - set(rules)) == []
