"""One OpenAPI document for the whole API, generated from the contexts' FastAPI apps.

template.yaml decides which routes exist and which need a token; each FastAPI app describes its
routes' parameters and schemas. `python -m devstack.openapi --write` refreshes docs/openapi.json,
and a test fails when the committed document is stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from devstack.template import ROOT, FunctionSpec, Template

OPENAPI_PATH = ROOT / "docs" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def app_of(spec: FunctionSpec) -> Any:
    """The FastAPI app a function's handler module exposes as `app`."""
    return importlib.import_module(spec.module).app


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(METHOD, path) for every route the app serves, read from its OpenAPI document.

    The document is FastAPI's public view of every route, included routers too (their route
    objects are private to FastAPI); HEAD is implied by GET on API Gateway.
    """
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in HTTP_METHODS and method != "head"
    }


def build(template: Template | None = None) -> dict[str, Any]:
    template = template or Template()
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Harambee API",
            "version": "0.1.0",
            "description": (
                "Every route of every bounded context, behind one API Gateway REST API. Responses use "
                "the envelope {success, data, pagination, meta}; errors {success: false, error, meta}."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make dev"}],
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA, 15 minutes)"}
            },
        },
    }
    for spec in sorted(template.functions.values(), key=lambda s: s.logical_id):
        if not spec.routes:
            continue
        generated = app_of(spec).openapi()
        document["components"]["schemas"].update(generated.get("components", {}).get("schemas", {}))
        for route in sorted(spec.routes, key=lambda r: (r.path, r.method)):
            operation = generated["paths"][route.path][route.method.lower()]
            operation = {**operation, "tags": [spec.logical_id.removesuffix("Function").lower()]}
            operation["security"] = [{"bearerAuth": []}] if route.authorizer else []
            operation["x-harambee-function"] = spec.logical_id
            document["paths"].setdefault(route.path, {})[route.method.lower()] = operation
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {OPENAPI_PATH.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    text = render(build())
    if args.write:
        Path(OPENAPI_PATH).parent.mkdir(parents=True, exist_ok=True)
        OPENAPI_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {OPENAPI_PATH.relative_to(ROOT)}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
