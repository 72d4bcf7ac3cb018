"""Requests find their route the way API Gateway's resource tree finds it."""

from __future__ import annotations

from devstack.routes import RouteTable
from devstack.template import ApiRoute, Template


def _route(method: str, path: str) -> ApiRoute:
    return ApiRoute(function=f"{method} {path}", event_name="E", method=method, path=path, authorizer=None)


TABLE = RouteTable(
    [
        _route("GET", "/api/campaigns/{id}"),
        _route("GET", "/api/campaigns/featured"),
        _route("ANY", "/api/files/{proxy+}"),
        _route("DELETE", "/api/files/{proxy+}"),
        _route("POST", "/api/campaigns"),
    ]
)


def test_a_literal_segment_beats_a_path_parameter():
    found = TABLE.match("GET", "/api/campaigns/featured")

    assert found is not None
    assert found.route.path == "/api/campaigns/featured"
    assert found.path_parameters == {}


def test_a_path_parameter_binds_its_segment():
    found = TABLE.match("GET", "/api/campaigns/c-42")

    assert found is not None
    assert found.path_parameters == {"id": "c-42"}


def test_a_greedy_parameter_takes_the_rest_and_the_exact_method_beats_any():
    found = TABLE.match("GET", "/api/files/a/b/c.png")
    deleting = TABLE.match("DELETE", "/api/files/a")

    assert found is not None
    assert found.route.method == "ANY"
    assert found.path_parameters == {"proxy": "a/b/c.png"}
    assert deleting is not None
    assert deleting.route.method == "DELETE"


def test_a_wrong_method_or_unknown_path_has_no_route():
    assert TABLE.match("PUT", "/api/campaigns") is None
    assert TABLE.match("GET", "/api/campaigns/c-1/extra") is None
    assert TABLE.match("GET", "/api/files") is None


def test_every_template_route_matches_its_own_path():
    routes = Template().routes
    table = RouteTable(routes)

    for route in routes:
        concrete = route.path.replace("{", "").replace("+}", "").replace("}", "")
        found = table.match(route.method, concrete)
        assert found is not None, route
        assert found.route.function == route.function
