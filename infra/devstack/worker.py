"""One Lambda execution environment: imports a handler, then serves invocations from the local stack.

Run as `python -m devstack.worker <module.function>`. Requests arrive as JSON lines on stdin; results
leave as JSON lines on a private copy of the original stdout, while fd 1 is pointed at stderr so
whatever the handler prints or logs reaches the dev console as logs (workers.py forwards them).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class LambdaContext:
    """The Lambda context object: the attributes and method the Python runtime provides."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline_ms: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    tenant_id: Any = field(default=None)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """The error shape the Lambda Python runtime returns (and Step Functions reads errorType from)."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _load_handler(name: str) -> Callable[[Any, Any], Any]:
    module_name, _, attribute = name.rpartition(".")
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute)
    if not callable(handler):
        raise TypeError(f"{name} is not callable")
    return handler  # type: ignore[no-any-return]


def _invoke(handler: Callable[[Any, Any], Any], request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(
        function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        invoked_function_arn=str(request.get("functionArn", "")),
        aws_request_id=str(request["requestId"]),
        deadline_ms=int(request["deadlineMs"]),
        log_group_name=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        log_stream_name=os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
    )
    try:
        result = handler(request["event"], context)
    except Exception as exc:
        traceback.print_exc()
        return {"ok": False, "payload": error_payload(exc)}
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {"ok": False, "payload": error_payload(exc, "Runtime.MarshalError")}
    return {"ok": True, "payload": result}


def serve(handler_name: str, requests: TextIO, responses: TextIO) -> None:
    """Import the handler once (the cold start), then answer requests until stdin closes."""
    handler: Callable[[Any, Any], Any] | None = None
    init_error: dict[str, Any] | None = None
    try:
        handler = _load_handler(handler_name)
    except Exception as exc:
        traceback.print_exc()
        init_error = error_payload(exc, "Runtime.ImportModuleError")
    for line in requests:
        request = json.loads(line)
        if handler is None:
            outcome: dict[str, Any] = {"ok": False, "payload": init_error}
        else:
            outcome = _invoke(handler, request)
        outcome["requestId"] = request["requestId"]
        responses.write(json.dumps(outcome) + "\n")
        responses.flush()
        sys.stdout.flush()


def main() -> None:
    responses = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.argv[1], sys.stdin, responses)


if __name__ == "__main__":
    main()
