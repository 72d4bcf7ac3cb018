"""Routes moto's Lambda invocations (Step Functions Lambda tasks, lambda:Invoke) to our worker pools.

moto would run each invocation in Docker; its interpreter ends every Lambda call in
`LambdaFunction._invoke_lambda`, so replacing that one method makes Lambda tasks, their Retry on the
handler's exception type, Catch and `.waitForTaskToken` work without Docker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from devstack.workers import Invocation

Route = Callable[[str, Any], Invocation | None]

_lock = threading.Lock()
_route: Route | None = None
_original: Any = None


def install(route: Route) -> None:
    """Send moto's Lambda invocations to `route(function_name, event)`; None means "no such function"."""
    global _route, _original  # noqa: PLW0603 - moto's backends are process-global; so is this hook
    from moto.awslambda.models import LambdaFunction

    with _lock:
        if _original is None:
            _original = LambdaFunction._invoke_lambda
            LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]
        _route = route


def uninstall(route: Route) -> None:
    """Restore moto's own invocation, unless another stack installed its route since."""
    global _route, _original  # noqa: PLW0603
    from moto.awslambda.models import LambdaFunction

    with _lock:
        if _route is not route or _original is None:
            return
        LambdaFunction._invoke_lambda = _original  # type: ignore[method-assign]
        _route = _original = None


def _invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
    route = _route
    outcome = route(str(function.function_name), event if event is not None else {}) if route else None
    if outcome is None:
        error = {
            "errorType": "ResourceNotFoundException",
            "errorMessage": f"{function.function_name} is not local",
        }
        return json.dumps(error), True, ""
    return json.dumps(outcome.payload), outcome.error, ""
