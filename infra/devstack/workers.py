"""Worker processes that run the functions: one process per execution environment, pooled per function.

Each function gets its own environment variables (TABLE_NAME and friends differ per function, as on
Lambda), so handlers cannot share the dev process. A pool grows lazily up to a cap, reuses warm
workers, and kills a worker whose invocation outlives the function's Timeout.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

LogSink = Callable[[str, str], None]


def print_log(function: str, line: str) -> None:
    """Default log sink: the dev console, each line prefixed by the function's logical id."""
    sys.stderr.write(f"[{function}] {line}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class FunctionRuntime:
    """Everything needed to start an execution environment of one function."""

    logical_id: str
    function_name: str
    function_arn: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: float
    memory_mb: int
    code_dir: Path


@dataclass
class Invocation:
    """A finished invocation: the handler's result, or the Lambda-style error payload."""

    payload: Any
    error: bool
    request_id: str
    duration_ms: float

    @property
    def error_type(self) -> str | None:
        return str(self.payload.get("errorType")) if self.error and isinstance(self.payload, dict) else None


class Worker:
    """One child process running devstack.worker for one function."""

    def __init__(self, runtime: FunctionRuntime, log_sink: LogSink) -> None:
        self.runtime = runtime
        self._responses: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack.worker", runtime.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=runtime.environment,
            cwd=runtime.code_dir if runtime.code_dir.is_dir() else None,
            text=True,
            encoding="utf-8",
            bufsize=1,
            # Ctrl-C goes to the dev process only; it stops the workers itself.
            start_new_session=True,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        threading.Thread(target=self._read_responses, args=(self.process.stdout,), daemon=True).start()
        threading.Thread(target=self._forward_logs, args=(self.process.stderr, log_sink), daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _read_responses(self, stream: IO[str]) -> None:
        for line in stream:
            self._responses.put(line)
        self._responses.put(None)

    def _forward_logs(self, stream: IO[str], sink: LogSink) -> None:
        for line in stream:
            sink(self.runtime.logical_id, line.rstrip("\n"))

    def invoke(self, event: Any, timeout_seconds: float) -> Invocation:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        request = {
            "requestId": request_id,
            "event": event,
            "deadlineMs": int((time.time() + timeout_seconds) * 1000),
            "functionArn": self.runtime.function_arn,
        }
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self._responses.get(timeout=timeout_seconds)
        except queue.Empty:
            self.kill()
            message = f"{request_id} Task timed out after {timeout_seconds:.2f} seconds"
            return self._failure("Sandbox.Timedout", message, request_id, started)
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            return self._failure("Runtime.ExitError", f"The worker is gone: {exc}", request_id, started)
        if line is None:
            self.kill()
            code = self.process.poll()
            return self._failure(
                "Runtime.ExitError", f"Runtime exited with error: exit status {code}", request_id, started
            )
        outcome = json.loads(line)
        return Invocation(outcome["payload"], not outcome["ok"], request_id, _elapsed_ms(started))

    @staticmethod
    def _failure(error_type: str, message: str, request_id: str, started: float) -> Invocation:
        payload = {
            "errorType": error_type,
            "errorMessage": message,
            "requestId": request_id,
            "stackTrace": [],
        }
        return Invocation(payload, True, request_id, _elapsed_ms(started))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def signal_stop(self) -> None:
        """Close stdin: the worker ends by itself after its current invocation."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def stop(self) -> None:
        """Close stdin so the worker ends by itself; kill it if it does not."""
        self.signal_stop()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


@dataclass
class FunctionPool:
    """Warm workers of one function, at most `capacity` at a time (its local concurrency limit)."""

    runtime: FunctionRuntime
    capacity: int = 4
    log_sink: LogSink = print_log
    _idle: list[Worker] = field(default_factory=list)
    _all: set[Worker] = field(default_factory=set)
    _count: int = 0
    _closed: bool = False
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def invoke(self, event: Any) -> Invocation:
        worker = self._acquire()
        try:
            return worker.invoke(event, self.runtime.timeout_seconds)
        finally:
            self._release(worker)

    def _acquire(self) -> Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.runtime.logical_id}: the local stack is shutting down")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._count -= 1
                if self._count < self.capacity:
                    self._count += 1
                    break
                self._lock.wait()
        try:
            worker = Worker(self.runtime, self.log_sink)
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise
        with self._lock:
            self._all.add(worker)
        return worker

    def _release(self, worker: Worker) -> None:
        with self._lock:
            keep = worker.alive and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
                self._all.discard(worker)
            self._lock.notify()
        if not keep:
            worker.stop()

    @property
    def size(self) -> int:
        return self._count

    def close(self) -> list[Worker]:
        """Refuse new invocations and ask idle workers to exit; returns them to be waited for."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = self._all.difference(idle)
            self._lock.notify_all()
        for worker in idle:
            worker.signal_stop()
        # An invocation still running at shutdown ends as a Runtime.ExitError for its caller.
        for worker in busy:
            worker.kill()
        return idle


class WorkerPools:
    """The pools of every function in the stack, created on first use."""

    def __init__(
        self, runtimes: dict[str, FunctionRuntime], capacity: int = 4, log_sink: LogSink = print_log
    ):
        self.runtimes = runtimes
        self.capacity = capacity
        self.log_sink = log_sink
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()

    def pool(self, logical_id: str) -> FunctionPool:
        with self._lock:
            if logical_id not in self._pools:
                self._pools[logical_id] = FunctionPool(
                    self.runtimes[logical_id], self.capacity, self.log_sink
                )
            return self._pools[logical_id]

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        return self.pool(logical_id).invoke(event)

    def by_function_name(self, function_name: str) -> str | None:
        return next((lid for lid, rt in self.runtimes.items() if rt.function_name == function_name), None)

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {logical_id: pool.size for logical_id, pool in self._pools.items()}

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
        stopping = [worker for pool in pools for worker in pool.close()]
        for worker in stopping:
            worker.stop()
