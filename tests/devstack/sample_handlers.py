"""Tiny Lambda handlers the worker tests run in real worker processes."""

from __future__ import annotations

import os
import time
from typing import Any


class PaymentDeclined(Exception):
    """A domain error whose class name Step Functions would Retry or Catch on."""


def echo(event: Any, context: Any) -> dict[str, Any]:
    print("handler output goes to the logs, not the result channel")
    return {
        "event": event,
        "pid": os.getpid(),
        "table": os.environ.get("TABLE_NAME"),
        "requestId": context.aws_request_id,
        "remainingMs": context.get_remaining_time_in_millis(),
    }


def decline(event: Any, context: Any) -> None:
    raise PaymentDeclined("card declined")


def sleepy(event: Any, context: Any) -> None:
    time.sleep(30)
