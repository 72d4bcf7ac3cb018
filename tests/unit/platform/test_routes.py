"""Every route in template.yaml has a FastAPI route in its function, and the reverse."""

from __future__ import annotations

import pytest

from devstack.openapi import OPENAPI_PATH, app_of, app_routes, build, render
from devstack.template import Template

TEMPLATE = Template()
WITH_ROUTES = sorted(name for name, spec in TEMPLATE.functions.items() if spec.routes)


@pytest.mark.parametrize("function", WITH_ROUTES)
def test_template_routes_and_fastapi_routes_are_the_same_set(function: str) -> None:
    spec = TEMPLATE.functions[function]
    declared = {(route.method, route.path) for route in spec.routes}
    served = app_routes(app_of(spec))
    assert declared - served == set(), "routes in template.yaml with no handler route"
    assert served - declared == set(), "handler routes API Gateway would never send"


def test_no_function_without_template_routes_serves_http() -> None:
    for name, spec in TEMPLATE.functions.items():
        if spec.routes:
            continue
        module = __import__(spec.module, fromlist=["handler"])
        assert getattr(module, "app", None) is None, f"{name} has no routes in template.yaml but an app"


def test_committed_openapi_document_is_current() -> None:
    # Given the apps and the template, When the document is generated, Then it equals docs/openapi.json.
    assert OPENAPI_PATH.exists(), "run `make openapi`"
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(build(TEMPLATE)), "stale: run `make openapi`"


def test_openapi_marks_exactly_the_authorized_routes_as_needing_a_bearer_token() -> None:
    document = build(TEMPLATE)
    for route in TEMPLATE.routes:
        operation = document["paths"][route.path][route.method.lower()]
        assert bool(operation["security"]) == bool(route.authorizer), f"{route.method} {route.path}"


def test_docs_api_lists_every_route_of_the_template() -> None:
    listed = (OPENAPI_PATH.parent / "api.md").read_text(encoding="utf-8")
    missing = [
        f"{route.method} {route.path}"
        for route in TEMPLATE.routes
        if not route.path.endswith("/health") and f"| {route.method} | `{route.path}` |" not in listed
    ]
    assert missing == [], "add these routes to docs/api.md"
