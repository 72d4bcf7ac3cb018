"""EventBridge-style event patterns, as Lambda's event source mappings apply them in FilterCriteria."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import operator
from collections.abc import Callable
from typing import Any

_MISSING = object()

_NUMERIC_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
}


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when `event` satisfies every field of `pattern` (and one branch of each `$or`)."""
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in expected):
                return False
            continue
        actual = event.get(key, _MISSING)
        if isinstance(expected, dict):
            if not matches(expected, actual if isinstance(actual, dict) else {}):
                return False
        elif not _field_matches(expected, actual):
            return False
    return True


def any_filter_matches(filters: list[dict[str, Any]], event: Any) -> bool:
    """Lambda keeps a record when any one of its FilterCriteria patterns matches (no filters: all)."""
    if not filters:
        return True
    return any(matches(_pattern(item), event) for item in filters)


def _pattern(item: dict[str, Any]) -> dict[str, Any]:
    raw = item.get("Pattern", item)
    loaded = json.loads(raw) if isinstance(raw, str) else raw
    assert isinstance(loaded, dict)
    return loaded


def _field_matches(matchers: list[Any], actual: Any) -> bool:
    if actual is _MISSING:
        return any(isinstance(m, dict) and m.get("exists") is False for m in matchers)
    values = actual if isinstance(actual, list) else [actual]
    return any(_value_matches(matcher, value) for matcher in matchers for value in values)


def _value_matches(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    ((name, argument),) = matcher.items()
    test = _NAMED_MATCHERS.get(name)
    if test is None:
        raise ValueError(f"Unsupported filter {name!r}")
    return test(argument, value)


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return float(expected) == float(value)
    return bool(expected == value)


def _text_test(argument: Any, value: Any, test: Callable[[str, str], bool]) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(argument, dict) and "equals-ignore-case" in argument:
        return test(value.lower(), str(argument["equals-ignore-case"]).lower())
    return test(value, str(argument))


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, dict):
        return not _value_matches(argument, value)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(item, value) for item in excluded)


def _numeric(argument: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = zip(argument[::2], argument[1::2], strict=True)
    return all(_NUMERIC_OPERATORS[op](float(value), float(bound)) for op, bound in pairs)


def _in_network(network: Any, value: Any) -> bool:
    try:
        return ipaddress.ip_address(str(value)) in ipaddress.ip_network(str(network), strict=False)
    except ValueError:
        return False


_NAMED_MATCHERS: dict[str, Callable[[Any, Any], bool]] = {
    "exists": lambda argument, value: bool(argument),
    "prefix": lambda argument, value: _text_test(argument, value, str.startswith),
    "suffix": lambda argument, value: _text_test(argument, value, str.endswith),
    "equals-ignore-case": lambda argument, value: (
        isinstance(value, str) and value.lower() == str(argument).lower()
    ),
    "wildcard": lambda argument, value: isinstance(value, str) and fnmatch.fnmatchcase(value, str(argument)),
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _in_network,
}
