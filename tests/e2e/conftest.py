"""One local stack for the whole end-to-end suite: moto and the gateway on free ports, no clock."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import LocalStack
from tests.support.fake_whatsapp import FakeWhatsApp, running_whatsapp

# Long enough for a healthy round trip on a slow CI machine, short enough to keep the suite quick.
CANARY_TIMEOUT_SECONDS = "25"
# Local-only: failed SQS messages come back after 1 s, so maxReceiveCount is reached in seconds.
VISIBILITY_TIMEOUT_SECONDS = 1
ADMIN_EMAIL = "root@example.org"
ADMIN_PASSWORD = "e2e admin passphrase"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the end-to-end tests last: moto's backends are process-wide, and a unit test's
    `mock_aws` resets them, which would wipe the shared stack's resources from under it."""
    e2e = Path(__file__).parent
    items.sort(key=lambda item: e2e in Path(str(item.path)).parents)


@pytest.fixture(scope="session")
def whatsapp() -> Iterator[FakeWhatsApp]:
    """The WhatsApp Cloud API the stack's notifications function talks to (started before the stack)."""
    with running_whatsapp() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, whatsapp: FakeWhatsApp) -> Iterator[LocalStack]:
    key_path = tmp_path_factory.mktemp("devstack") / "dev-signing-key.json"
    # Links and the sandbox's webhooks go to PUBLIC_BASE_URL, so the gateway's port is fixed up front.
    port = _free_port()
    with LocalStack(
        gateway_port=port,
        moto_port=0,
        schedules=False,
        parameter_overrides={
            "CanaryTimeoutSeconds": CANARY_TIMEOUT_SECONDS,
            "PublicBaseUrl": f"http://127.0.0.1:{port}",
            "WhatsAppApiUrl": whatsapp.base_url,
            "WhatsAppPhoneNumberId": whatsapp.phone_number_id,
        },
        queue_visibility_timeout=VISIBILITY_TIMEOUT_SECONDS,
        key_path=key_path,
        admin=(ADMIN_EMAIL, ADMIN_PASSWORD),
        log_sink=lambda function, line: None,
        log=lambda line: None,
    ) as running:
        yield running


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, Any]:
    """Status and parsed JSON body of one request (errors included)."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def eventually[T](probe: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.2) -> T:
    """The first truthy result of `probe`, polled until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Nothing came within {timeout} s")
        time.sleep(interval)
