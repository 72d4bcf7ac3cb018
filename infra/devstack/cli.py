"""`harambee-local`: run template.yaml on this machine (`dev`), invoke one function (`invoke`),
fire a schedule now (`fire`), create or promote an admin (`create-admin`) and list the routes (`routes`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from devstack.template import ROOT, Template

# Tests point HARAMBEE_LOCAL_STATE elsewhere so they never touch a developer's running stack.
STATE_PATH = Path(os.environ.get("HARAMBEE_LOCAL_STATE") or ROOT / ".devstack" / "state.json")
# The first administrator `dev` creates; documented in the README and printed at start-up.
DEFAULT_ADMIN_EMAIL = "admin@example.org"
DEFAULT_ADMIN_PASSWORD = "harambee-local-admin"  # noqa: S105 - a local-only, printed default


def _overrides(pairs: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"--parameter-overrides takes Key=Value pairs, got {pair!r}")
        parsed[key] = value
    return parsed


def running_stack(path: Path = STATE_PATH) -> dict[str, Any] | None:
    """The state file of a `dev` process that is still alive, if any."""
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None
    return state


def dev(args: argparse.Namespace) -> int:
    from devstack.stack import LocalStack

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack = LocalStack(
        gateway_port=args.port,
        moto_port=args.moto_port,
        schedules=not args.no_schedules,
        parameter_overrides=_overrides(args.parameter_overrides),
        worker_capacity=args.workers,
        admin=_local_admin(),
    )
    with stack:
        status = stack.status()
        STATE_PATH.parent.mkdir(parents=True, exist_ok=True)
        STATE_PATH.write_text(
            json.dumps({"pid": os.getpid(), "gateway": stack.url, "moto": stack.moto_endpoint}),
            encoding="utf-8",
        )
        try:
            print(f"API      {stack.url}  (stage {stack.parameters.get('Stage')})")
            print(f"AWS      {stack.moto_endpoint}  (moto; AWS_ENDPOINT_URL for your own scripts)")
            print(
                f"Loaded   {status['routes']} routes, {status['functions']} functions, "
                f"{status['queues']} queues, {status['tables']} tables, "
                f"{len(status['schedules'])} schedules, {len(status['stateMachines'])} state machines"
            )
            clock = "off (fire one with `harambee-local fire <name>`)" if args.no_schedules else "on"
            print(f"Clock    {clock}")
            email, password = _local_admin()
            print(f"Admin    {email} / {password}  (HARAMBEE_ADMIN_EMAIL, HARAMBEE_ADMIN_PASSWORD)")
            print("Ready. Ctrl-C stops everything.", flush=True)
            stopping.wait()
            print("Stopping...", flush=True)
        finally:
            STATE_PATH.unlink(missing_ok=True)
    print("Stopped.", flush=True)
    return 0


def _local_admin() -> tuple[str, str]:
    return (
        os.environ.get("HARAMBEE_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL,
        os.environ.get("HARAMBEE_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD,
    )


def invoke(args: argparse.Namespace) -> int:
    event_path = Path(args.event)
    event = json.loads(event_path.read_text(encoding="utf-8")) if args.event != "-" else json.load(sys.stdin)
    payload, failed = _invoke_locally(
        args.function, event, args.endpoint, _overrides(args.parameter_overrides)
    )
    print(json.dumps(payload, indent=2))
    return 1 if failed else 0


def _invoke_locally(
    function: str, event: Any, endpoint: str | None, overrides: dict[str, str]
) -> tuple[Any, bool]:
    """Run one invocation in a fresh worker against the running stack's moto, or a fresh one."""
    from devstack.stack import LocalStack
    from devstack.workers import FunctionPool, print_log

    template = Template()
    if function not in template.functions:
        raise SystemExit(f"No function {function!r}; functions: {', '.join(sorted(template.functions))}")
    endpoint = endpoint or (running_stack() or {}).get("moto")
    # Names and variables are resolved by a stack object; without a running one it also provisions moto.
    stack = LocalStack(
        gateway_port=0,
        moto_port=0,
        schedules=False,
        parameter_overrides=overrides,
        serve_api=False,
        run_pollers=False,
    )

    def once() -> Any:
        pool = FunctionPool(stack.runtime(template.functions[function]), 1, print_log)
        try:
            return pool.invoke(event)
        finally:
            for worker in pool.close():
                worker.stop()

    if endpoint:
        stack.attach(endpoint)
        outcome = once()
    else:
        with stack:
            outcome = once()
    return outcome.payload, outcome.error


def create_admin(args: argparse.Namespace) -> int:
    """Create or promote an admin: on the running local stack, or on a deployed stage's function."""
    import getpass

    password = os.environ.get("HARAMBEE_ADMIN_PASSWORD")
    if password is None and not args.promote_only and sys.stdin.isatty():
        password = getpass.getpass("Password for a new admin (empty to only promote an existing account): ")
    event = {"task": "admin.ensure", "email": args.email, "password": password or None}
    if args.function:
        payload, failed = _invoke_deployed(args.function, event)
    else:
        payload, failed = _invoke_locally("IdentityFunction", event, None, {})
    print(json.dumps(payload, indent=2))
    return 1 if failed else 0


def _query_task(task: dict[str, Any], deployed: str | None) -> tuple[Any, bool]:
    """Run a query task on a deployed QueryFunction (name or ARN), else on the running local stack."""
    if deployed:
        return _invoke_deployed(deployed, task)
    return _invoke_locally("QueryFunction", task, None, {})


def rebuild_read_models(args: argparse.Namespace) -> int:
    """Recompute every query read model from its journal (docs/query.md#rebuild)."""
    payload, failed = _query_task({"task": "query.rebuild"}, args.deployed)
    print(json.dumps(payload, indent=2))
    return 1 if failed else 0


def check_totals(args: argparse.Namespace) -> int:
    """Compare campaign totals with the completed pledges; exit 2 when any campaign disagrees."""
    task: dict[str, Any] = {"task": "query.check-totals"}
    if args.campaign_id:
        task["campaignId"] = args.campaign_id
    payload, failed = _query_task(task, args.deployed)
    print(json.dumps(payload, indent=2))
    if failed:
        return 1
    return 2 if isinstance(payload, dict) and payload.get("mismatched") else 0


def _invoke_deployed(function: str, event: dict[str, Any]) -> tuple[Any, bool]:
    """Invoke a deployed function with the caller's AWS credentials (IAM decides who may)."""
    import boto3

    answer = boto3.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    return json.loads(answer["Payload"].read() or b"null"), "FunctionError" in answer


def _control(method: str, path: str) -> tuple[int, Any]:
    state = running_stack()
    if state is None:
        raise SystemExit("No local stack is running (start one with `harambee-local dev`).")
    url = f"{state['gateway']}/_local/{path}"
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - our own local gateway
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"{}")


def fire(args: argparse.Namespace) -> int:
    status, answer = _control("POST", f"schedules/{args.schedule}/fire")
    print(json.dumps(answer, indent=2))
    return 0 if status == 200 else 1


def routes(args: argparse.Namespace) -> int:
    for route in sorted(Template().routes, key=lambda r: (r.path, r.method)):
        auth = route.authorizer or "public"
        print(f"{route.method:7} {route.path:45} {route.function:28} {auth}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="harambee-local", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "dev", help="run the whole template locally (moto, gateway, pollers, schedules)"
    )
    run.add_argument("--port", type=int, default=3000, help="gateway port (default 3000)")
    run.add_argument("--moto-port", type=int, default=4566, help="moto port (default 4566)")
    run.add_argument("--no-schedules", action="store_true", help="do not run the schedules on a clock")
    run.add_argument(
        "--workers", type=int, default=4, help="worker processes per function at most (default 4)"
    )
    run.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    run.set_defaults(run=dev)

    once = commands.add_parser(
        "invoke", help="invoke one function with an event file, like `sam local invoke -e`"
    )
    once.add_argument("function", help="the function's logical id, e.g. CatalogFunction")
    once.add_argument("-e", "--event", required=True, help="event JSON file (or - for stdin)")
    once.add_argument("--endpoint", help="moto endpoint (default: the running stack's, else a fresh one)")
    once.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    once.set_defaults(run=invoke)

    now = commands.add_parser("fire", help="fire a schedule of the running stack now")
    now.add_argument(
        "schedule", help="<LogicalId>.<EventName>, e.g. PipelineCanaryStateMachine.EveryFifteenMinutes"
    )
    now.set_defaults(run=fire)

    admin = commands.add_parser(
        "create-admin", help="create or promote an admin (local stack, or --function on any stage)"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument(
        "--function", help="deployed IdentityFunction name or ARN (default: the running local stack)"
    )
    admin.add_argument("--promote-only", action="store_true", help="never create; only promote an account")
    admin.set_defaults(run=create_admin)

    rebuild = commands.add_parser(
        "rebuild-read-models", help="recompute the query read models from their journal (query.rebuild)"
    )
    rebuild.add_argument("--deployed", metavar="FUNCTION", help="deployed QueryFunction name or ARN")
    rebuild.set_defaults(run=rebuild_read_models)

    check = commands.add_parser(
        "check-totals", help="compare campaign totals with the completed pledges (exit 2 on a mismatch)"
    )
    check.add_argument("--campaign-id", help="check one campaign (default: all)")
    check.add_argument("--deployed", metavar="FUNCTION", help="deployed QueryFunction name or ARN")
    check.set_defaults(run=check_totals)

    listing = commands.add_parser("routes", help="list the API routes of template.yaml")
    listing.set_defaults(run=routes)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
