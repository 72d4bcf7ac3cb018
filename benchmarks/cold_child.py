"""One cold start, run by cold_start.py in a fresh interpreter: import a handler, serve one event.

Usage: cold_child.py MODULE ATTRIBUTE KIND RESULT_FD, with the event as JSON on stdin. KIND is
"http" (expects statusCode 200) or "authorizer" (expects a policy, or the "Unauthorized" raise).
The result goes to RESULT_FD as JSON, because the handler's own logs share stdout.
"""

import time

# First statement on purpose: everything after it, including the handler's imports, is init.
_START, _CPU_START = time.perf_counter(), time.process_time()

import sys  # noqa: E402 - already loaded by the interpreter, so free

_module_name, _attribute, _kind, _result_fd = sys.argv[1:5]
__import__(_module_name)
_handler = getattr(sys.modules[_module_name], _attribute)
_INIT_END = time.perf_counter()

# Reading the event is the runtime's job, not the function's: it sits outside both timings.
import json  # noqa: E402
import os  # noqa: E402
from typing import Any  # noqa: E402

_event = json.loads(sys.stdin.read())


class FakeLambdaContext:
    """The attributes Powertools and Mangum read from the Lambda context object."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2026/11/22/[$LATEST]bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _check(kind: str, response: Any) -> str | None:
    """None when the response is what a healthy function returns, else why not."""
    if kind == "http":
        status = response.get("statusCode") if isinstance(response, dict) else None
        return None if status == 200 else f"status {status}: {str(response)[:300]}"
    if isinstance(response, dict) and "policyDocument" in response:
        return None
    return f"not an authorizer policy: {str(response)[:300]}"


_context = FakeLambdaContext()
_error: str | None
_request_start = time.perf_counter()
try:
    _response = _handler(_event, _context)
except Exception as exc:  # any failure is a result to report, not a crash
    _request_end = time.perf_counter()
    # An authorizer denies a request by raising exactly this (API Gateway answers 401).
    _unauthorized = _kind == "authorizer" and str(exc) == "Unauthorized"
    _error = None if _unauthorized else f"{type(exc).__name__}: {exc}"
else:
    _request_end = time.perf_counter()
    _error = _check(_kind, _response)
_cpu_end = time.process_time()
_modules = len(sys.modules)


def _peak_mb() -> float:
    """Peak RSS of this program. Not ru_maxrss: Linux carries the parent's peak across fork and
    exec into it, so every child would report the benchmark's own ~115 MB. VmHWM starts at exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


_result = {
    "init_ms": (_INIT_END - _START) * 1000,
    "request_ms": (_request_end - _request_start) * 1000,
    # CPU time of init + request (event loading included, a fraction of a ms): unlike the wall
    # times, it barely moves when other processes compete for the cores.
    "cpu_ms": (_cpu_end - _CPU_START) * 1000,
    "modules": _modules,
    "peak_mb": _peak_mb(),
    "error": _error,
}
with os.fdopen(int(_result_fd), "w") as _out:
    json.dump(_result, _out)
