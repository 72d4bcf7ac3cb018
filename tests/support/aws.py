"""moto resources built from template.yaml, so the mocks follow the infrastructure."""

from __future__ import annotations

import boto3

from devstack.provision import create_table
from devstack.template import Template

_TEMPLATE: Template | None = None


def template() -> Template:
    global _TEMPLATE  # noqa: PLW0603 - one parse per test session
    if _TEMPLATE is None:
        _TEMPLATE = Template()
    return _TEMPLATE


def table_from_template(logical_id: str, table_name: str | None = None) -> str:
    """Create the template's table `logical_id` in the active moto mock; returns the table name."""
    name = table_name or f"test-{logical_id}"
    create_table(boto3.client("dynamodb"), template(), logical_id, name)
    return name
