"""Matches a request's method and path to a template route the way API Gateway's resource tree does."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.template import ApiRoute


@dataclass(frozen=True)
class RouteMatch:
    route: ApiRoute
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return [segment for segment in path.strip("/").split("/") if segment]


def _bind(pattern: list[str], actual: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Path parameters when `actual` fits `pattern`, with a rank: literals beat {param} beat {proxy+}."""
    params: dict[str, str] = {}
    rank: list[int] = []
    for index, segment in enumerate(pattern):
        if segment.startswith("{") and segment.endswith("+}"):
            rest = actual[index:]
            if not rest:
                return None
            params[segment[1:-2]] = "/".join(rest)
            rank.append(2)
            return tuple(rank), params
        if index >= len(actual):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = actual[index]
            rank.append(1)
        elif segment == actual[index]:
            rank.append(0)
        else:
            return None
    if len(pattern) != len(actual):
        return None
    return tuple(rank), params


class RouteTable:
    """The template's Api events; `match` returns None where API Gateway has no such resource and method."""

    def __init__(self, routes: list[ApiRoute]) -> None:
        self.routes = routes
        self._patterns = [(route, _segments(route.path)) for route in routes]

    def match(self, method: str, path: str) -> RouteMatch | None:
        actual = _segments(path)
        best: tuple[tuple[int, ...], int, RouteMatch] | None = None
        for route, pattern in self._patterns:
            if route.method not in {method.upper(), "ANY"}:
                continue
            bound = _bind(pattern, actual)
            if bound is None:
                continue
            rank, params = bound
            # A route for the exact method wins over ANY on the same resource.
            key = (rank, 1 if route.method == "ANY" else 0, RouteMatch(route, params))
            if best is None or key[:2] < best[:2]:
                best = key
        return best[2] if best else None
