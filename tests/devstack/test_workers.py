"""Worker processes behave like Lambda execution environments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devstack.workers import FunctionPool, FunctionRuntime

ROOT = Path(__file__).resolve().parents[2]


def _pool(handler: str, timeout: float = 10.0) -> FunctionPool:
    runtime = FunctionRuntime(
        logical_id="SampleFunction",
        function_name="harambee-local-SampleFunction",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:harambee-local-SampleFunction",
        handler=handler,
        environment={"PATH": os.environ["PATH"], "TABLE_NAME": "sample-table", "PYTHONPATH": str(ROOT)},
        timeout_seconds=timeout,
        memory_mb=128,
        code_dir=ROOT,
    )
    return FunctionPool(runtime, capacity=2, log_sink=lambda function, line: None)


@pytest.fixture
def closing():
    pools: list[FunctionPool] = []
    yield pools.append
    for pool in pools:
        for worker in pool.close():
            worker.stop()


def test_given_a_handler_when_invoked_twice_then_the_warm_worker_answers_with_its_own_environment(closing):
    pool = _pool("tests.devstack.sample_handlers.echo")
    closing(pool)

    first = pool.invoke({"pledgeId": "p-1"})
    second = pool.invoke({"pledgeId": "p-2"})

    assert not first.error
    assert first.payload["event"] == {"pledgeId": "p-1"}
    assert first.payload["table"] == "sample-table"
    assert 0 < first.payload["remainingMs"] <= 10_000
    assert second.payload["pid"] == first.payload["pid"]
    assert second.payload["requestId"] != first.payload["requestId"]


def test_given_a_handler_that_raises_when_invoked_then_the_error_comes_back_lambda_style(closing):
    pool = _pool("tests.devstack.sample_handlers.decline")
    closing(pool)

    outcome = pool.invoke({})

    assert outcome.error
    assert outcome.payload["errorType"] == "PaymentDeclined"
    assert outcome.payload["errorMessage"] == "card declined"
    assert outcome.payload["stackTrace"]


def test_given_a_missing_module_when_invoked_then_runtime_import_module_error(closing):
    pool = _pool("tests.devstack.no_such_module.handler")
    closing(pool)

    outcome = pool.invoke({})

    assert outcome.error_type == "Runtime.ImportModuleError"


def test_given_a_slow_handler_when_it_outlives_its_timeout_then_task_timed_out_and_the_worker_is_replaced(
    closing,
):
    pool = _pool("tests.devstack.sample_handlers.sleepy", timeout=1.5)
    closing(pool)

    outcome = pool.invoke({})

    assert outcome.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.50 seconds" in outcome.payload["errorMessage"]
    assert pool.size == 0
