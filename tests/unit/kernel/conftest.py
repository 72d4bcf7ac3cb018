"""Fixtures of the kernel tests: moto for the whole test, and one context's environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.unit.kernel import harness


@pytest.fixture
def cloud() -> Iterator[None]:
    """moto for the test, with every per-environment cache (settings, clients) fresh."""
    with mock_aws(), harness.fresh_caches():
        yield


@pytest.fixture
def table(cloud: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A context ("probe") with its table built from template.yaml (AdminTable's shape) and the bus."""
    name = harness.context_table("AdminTable")
    harness.use_context(monkeypatch, "probe", name)
    harness.create_bus()
    return name
