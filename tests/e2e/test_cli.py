"""`harambee-local` as a user runs it: `dev` in a terminal, `invoke` with a file from events/."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import eventually, http

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "devstack.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(tmp_path: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("MOTO_PORT", None)
    # Let the CLI keep compiled modules (moto alone is ~2 s of compiling per process without them).
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["HARAMBEE_LOCAL_STATE"] = str(tmp_path / "state.json")
    return environment


def test_given_dev_when_started_then_it_prints_where_it_listens_serves_and_stops_on_ctrl_c(tmp_path):
    port, moto_port = _free_port(), _free_port()
    output = tmp_path / "dev.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*CLI, "dev", "--port", str(port), "--moto-port", str(moto_port), "--no-schedules"],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_environment(tmp_path),
        )
        try:
            eventually(lambda: "Ready." in output.read_text(), timeout=60, interval=0.2)
            printed = output.read_text()
            assert f"http://127.0.0.1:{port}" in printed
            assert f"http://127.0.0.1:{moto_port}" in printed

            assert (tmp_path / "state.json").exists()

            status, body = http("GET", f"http://127.0.0.1:{port}/api/catalog/health")
            assert status == 200
            assert body["success"] is True

            fired = subprocess.run(
                [*CLI, "fire", "PipelineCanaryStateMachine.EveryFifteenMinutes"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                env=_environment(tmp_path),
                check=False,
            )
            assert fired.returncode == 0, fired.stderr
            assert ":execution:" in json.loads(fired.stdout)["executionArn"]

            process.send_signal(signal.SIGINT)
            stopped_at = time.monotonic()
            # 19 functions' workers and moto stop in a few seconds on a quiet machine; the bound
            # leaves room for a loaded CI runner, while a hung thread would still fail it.
            assert process.wait(timeout=40) == 0
            assert time.monotonic() - stopped_at < 30
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "Stopped." in output.read_text()
    assert not (tmp_path / "state.json").exists()


def test_given_an_event_file_when_invoked_then_it_prints_the_handlers_200(tmp_path):
    done = subprocess.run(
        [*CLI, "invoke", "CatalogFunction", "-e", "events/catalog/api_health.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(tmp_path),
        check=False,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["success"] is True
