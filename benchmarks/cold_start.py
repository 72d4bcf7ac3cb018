"""Cold-start benchmark: each function's init + first request against a FastAPI+Mangum floor.

Every measurement is a fresh interpreter (benchmarks/cold_child.py) that imports one handler and
serves one API Gateway event reading one DynamoDB item from a moto server run by this process.
Targets are interleaved in a shuffled order each round, so drift on the machine (thermal, other
processes) spreads over all of them instead of biasing whichever ran last. See benchmarks/README.md.

    python benchmarks/cold_start.py [--rounds 7] [--json PATH] [--check]
    python benchmarks/cold_start.py --importtime catalog     # where one target's time goes
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devstack.provision import create_table
from devstack.template import FunctionSpec, Template, samconfig_parameters

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
CHILD = BENCH_DIR / "cold_child.py"
EVENTS_DIR = ROOT / "events"
# Bytecode goes here rather than into __pycache__ next to the sources (the tree is shared), and the
# warm-up round fills it so measured rounds load .pyc files like any warm deployment.
PYCACHE = Path(tempfile.gettempdir()) / "harambee-bench-pycache"

BUDGET = 1.3
FLOOR = "floor"
REGION = "us-east-1"
HEALTH_KEY = {"pk": {"S": "HEALTH"}, "sk": {"S": "HEALTH"}}
HEALTH_ROUTE = re.compile(r"^/api/(?P<context>[a-z0-9-]+)/health$")
FLOOR_ROUTE = "/api/floor/health"  # floor_app.ROUTE (not imported: that would load FastAPI here)
FLOOR_TABLE = "harambee-bench-floor"


@dataclass(frozen=True)
class Target:
    """One thing to cold-start: a handler, the event it serves and the environment it runs in."""

    name: str
    module: str
    attribute: str
    kind: str  # "http" (expects 200) or "authorizer" (expects a policy or "Unauthorized")
    event: dict[str, Any]
    env: dict[str, str]


@dataclass(frozen=True)
class Run:
    """One cold start. Times in ms; wall is the parent's view of the whole process."""

    init_ms: float
    request_ms: float
    total_ms: float
    cpu_ms: float
    wall_ms: float
    modules: int
    peak_mb: float
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    """Medians over a target's successful runs."""

    name: str
    runs: int
    failures: int
    total_ms: float
    iqr_ms: float
    init_ms: float
    request_ms: float
    cpu_ms: float
    wall_ms: float
    modules: float
    peak_mb: float
    ratio: float
    verdict: str
    error: str | None


# ---------------------------------------------------------------- targets from template.yaml


def template_names(template: Template, endpoint: str) -> dict[str, str]:
    """What `Ref` and `${...}` resolve to locally: parameters (samconfig's [local]) and resource names."""
    names = {"AWS::Region": REGION, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    names.update({logical_id: f"harambee-local-{logical_id}" for logical_id in template.resources})
    names.update(template.parameter_defaults())
    # Without samconfig.toml the template defaults stand (STAGE and tracing are forced anyway).
    with contextlib.suppress(OSError):
        names.update(samconfig_parameters("local"))
    names["AWS_ENDPOINT_URL"] = endpoint
    return names


def resolve(value: Any, names: Mapping[str, str]) -> str:
    """Simple intrinsic resolution, enough for environment variables (Ref, Sub, GetAtt, Join)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return names.get(str(value["Ref"]), str(value["Ref"]))
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, extra = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            local = {**names, **{k: resolve(v, names) for k, v in extra.items()}}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: local.get(m[1], m[0]), str(text))
        if "Fn::GetAtt" in value:
            return ".".join(str(part) for part in value["Fn::GetAtt"])
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(resolve(part, names) for part in parts)
        raise ValueError(f"Unsupported intrinsic in an environment variable: {value}")
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def base_env(endpoint: str) -> dict[str, str]:
    """What every child gets, the floor included: a Lambda-like, hermetic environment on moto.

    Built from scratch, not inherited, so a developer's AWS profile, proxies or PYTHON* variables
    cannot change what is measured.
    """
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONPYCACHEPREFIX": str(PYCACHE),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # botocore would otherwise route to an account-based endpoint moto does not serve.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        # No shared config or credentials files: nothing on this machine leaks into botocore.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def function_env(spec: FunctionSpec, names: Mapping[str, str], endpoint: str) -> dict[str, str]:
    env = base_env(endpoint)
    env.update({key: resolve(value, names) for key, value in spec.environment.items()})
    # The budget is for the local configuration: tracing off, so the X-Ray SDK must never load.
    env.update({"STAGE": "local", "HARAMBEE_TRACING": "false"})
    env["AWS_LAMBDA_FUNCTION_NAME"] = spec.logical_id
    env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(spec.properties.get("MemorySize", 512))
    return env


def authorizer_ids(template: Template) -> set[str]:
    """Functions an API uses as its Lambda authorizer (FunctionArn: !GetAtt X.Arn)."""
    ids: set[str] = set()
    for api in template.of_type("AWS::Serverless::Api").values():
        authorizers = ((api.get("Properties") or {}).get("Auth") or {}).get("Authorizers") or {}
        for authorizer in authorizers.values():
            arn = authorizer.get("FunctionArn") or {}
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                ids.add(str(arn["Fn::GetAtt"][0]))
    return ids


def load_event(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def floor_event(template_event: dict[str, Any]) -> dict[str, Any]:
    """A context's health event pointed at the floor's route, so both parse the same request."""
    event = copy.deepcopy(template_event)
    old_path = str(event["path"])
    event["path"] = event["resource"] = FLOOR_ROUTE
    context = event.get("requestContext") or {}
    for key in ("path", "resourcePath"):
        if isinstance(context.get(key), str):
            context[key] = context[key].replace(old_path, FLOOR_ROUTE)
    return event


def discover(template: Template, endpoint: str) -> tuple[list[Target], dict[str, str], list[str]]:
    """The targets, the tables they read (logical id -> physical name) and what was skipped, and why."""
    names = template_names(template, endpoint)
    authorizers = authorizer_ids(template)
    targets: list[Target] = []
    tables: dict[str, str] = {}
    skipped: list[str] = []
    for spec in template.functions.values():
        module, attribute = spec.handler.rsplit(".", 1)
        env = function_env(spec, names, endpoint)
        table_ref = spec.environment.get("TABLE_NAME")
        if isinstance(table_ref, dict) and "Ref" in table_ref:
            tables[str(table_ref["Ref"])] = env["TABLE_NAME"]
        contexts = [
            match["context"]
            for route in spec.routes
            if route.method == "GET" and (match := HEALTH_ROUTE.match(route.path))
        ]
        if contexts:
            event_path = EVENTS_DIR / contexts[0] / "api_health.json"
            if not event_path.is_file():
                skipped.append(f"{spec.logical_id}: no {event_path.relative_to(ROOT)}")
                continue
            targets.append(Target(contexts[0], module, attribute, "http", load_event(event_path), env))
        elif spec.logical_id in authorizers:
            # The authorizer serves no route: it runs on the events/<code dir>/authorizer_*.json samples.
            events = sorted((EVENTS_DIR / spec.code_uri.name).glob(f"{module.rsplit('.', 1)[-1]}_*.json"))
            if not events:
                skipped.append(f"{spec.logical_id}: authorizer without events/{spec.code_uri.name}/*_*.json")
            for path in events:
                name = f"authorizer:{path.stem.split('_', 1)[1]}" if len(events) > 1 else "authorizer"
                targets.append(Target(name, module, attribute, "authorizer", load_event(path), env))
        else:
            skipped.append(f"{spec.logical_id}: no GET /api/<context>/health route")
    http = [target for target in targets if target.kind == "http"]
    if not http:
        raise SystemExit("No function in template.yaml has a GET /api/<context>/health route")
    floor_env = base_env(endpoint) | {"TABLE_NAME": FLOOR_TABLE, "AWS_LAMBDA_FUNCTION_NAME": "Floor"}
    floor = Target(FLOOR, "floor_app", "handler", "http", floor_event(http[0].event), floor_env)
    return [floor, *targets], tables, skipped


# ---------------------------------------------------------------- moto


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in this process (its own thread); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request on stderr, burying the progress lines.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def provision(endpoint: str, template: Template, tables: Mapping[str, str]) -> None:
    """Each function's table as the template declares it, the floor's, and a HEALTH item in each."""
    import boto3

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for logical_id, table_name in tables.items():
        create_table(dynamodb, template, logical_id, table_name)
    dynamodb.create_table(
        TableName=FLOOR_TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for table_name in [*tables.values(), FLOOR_TABLE]:
        dynamodb.put_item(TableName=table_name, Item={**HEALTH_KEY, "status": {"S": "ok"}})


# ---------------------------------------------------------------- running children


def spawn(target: Target, timeout: float, python_flags: Sequence[str] = ()) -> tuple[Run, str]:
    """One fresh interpreter serving one event; returns its run and its stderr."""
    read_fd, write_fd = os.pipe()
    args = [sys.executable, *python_flags, str(CHILD), target.module, target.attribute, target.kind]
    started = time.perf_counter()
    try:
        child = subprocess.Popen(
            [*args, str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # the handler's logs: kept out of the table
            stderr=subprocess.PIPE,
            env=target.env,
            cwd=ROOT,
            pass_fds=(write_fd,),
        )
    finally:
        os.close(write_fd)  # the child holds the only write end, so EOF comes when it exits
    try:
        _, stderr_bytes = child.communicate(json.dumps(target.event).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        _, stderr_bytes = child.communicate()
    wall_ms = (time.perf_counter() - started) * 1000
    with os.fdopen(read_fd, "rb") as results:
        payload = results.read()
    stderr = stderr_bytes.decode(errors="replace")
    if not payload:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {child.returncode}"
        if child.returncode is None or child.returncode < 0:
            reason = f"killed after {timeout:.0f} s" if child.returncode == -9 else reason
        return Run(0.0, 0.0, 0.0, 0.0, wall_ms, 0, 0.0, error=reason), stderr
    reported = json.loads(payload)
    init_ms, request_ms = float(reported["init_ms"]), float(reported["request_ms"])
    run = Run(
        init_ms=init_ms,
        request_ms=request_ms,
        total_ms=init_ms + request_ms,
        cpu_ms=float(reported["cpu_ms"]),
        wall_ms=wall_ms,
        modules=int(reported["modules"]),
        peak_mb=float(reported["peak_mb"]),
        error=reported["error"],
    )
    return run, stderr


def measure(
    targets: Sequence[Target], rounds: int, warmup: int, seed: int, timeout: float
) -> dict[str, list[Run]]:
    """Every target once per round, in a fresh shuffled order each round; warm-up rounds are dropped."""
    shuffler = random.Random(seed)
    results: dict[str, list[Run]] = defaultdict(list)
    for round_number in range(-warmup, rounds):
        order = list(targets)
        shuffler.shuffle(order)
        label = "warm-up" if round_number < 0 else f"round {round_number + 1}/{rounds}"
        print(f"  {label}: {len(order)} cold starts", file=sys.stderr, flush=True)
        for target in order:
            run, _ = spawn(target, timeout)
            if round_number >= 0:
                results[target.name].append(run)
    return results


# ---------------------------------------------------------------- report


def summarise(targets: Sequence[Target], results: Mapping[str, list[Run]]) -> list[Summary]:
    floor_runs = [run for run in results[FLOOR] if run.error is None]
    floor_total = statistics.median(run.total_ms for run in floor_runs) if floor_runs else float("nan")
    summaries = []
    for target in targets:
        runs = results[target.name]
        good = [run for run in runs if run.error is None]
        failures = len(runs) - len(good)
        error = next((run.error for run in runs if run.error is not None), None)

        def median(values: list[float], good: list[Run] = good) -> float:
            return statistics.median(values) if good else float("nan")

        totals = [run.total_ms for run in good]
        total = median(totals)
        quartiles = statistics.quantiles(totals, n=4) if len(totals) > 1 else [total, total, total]
        ratio = total / floor_total if floor_runs else float("nan")
        if failures:
            verdict = f"FAIL ({failures}/{len(runs)} errored)"
        elif target.name == FLOOR:
            verdict = "floor"
        else:
            verdict = "ok" if ratio <= BUDGET else f"SLOW (>{BUDGET}x)"
        summaries.append(
            Summary(
                name=target.name,
                runs=len(runs),
                failures=failures,
                total_ms=total,
                iqr_ms=quartiles[2] - quartiles[0],
                init_ms=median([run.init_ms for run in good]),
                request_ms=median([run.request_ms for run in good]),
                cpu_ms=median([run.cpu_ms for run in good]),
                wall_ms=median([run.wall_ms for run in good]),
                modules=median([float(run.modules) for run in good]),
                peak_mb=median([run.peak_mb for run in good]),
                ratio=ratio,
                verdict=verdict,
                error=error,
            )
        )
    return summaries


def _fmt(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)  # NaN (no good run) prints as "-"


def render(summaries: Sequence[Summary]) -> str:
    header = (
        "target",
        "total ms",
        "iqr",
        "x floor",
        "init ms",
        "1st req ms",
        "cpu ms",
        "wall ms",
        "modules",
        "peak MB",
        "verdict",
    )
    rows = [
        (
            s.name,
            _fmt(s.total_ms, ".0f"),
            _fmt(s.iqr_ms, ".0f"),
            _fmt(s.ratio, ".2f"),
            _fmt(s.init_ms, ".0f"),
            _fmt(s.request_ms, ".0f"),
            _fmt(s.cpu_ms, ".0f"),
            _fmt(s.wall_ms, ".0f"),
            _fmt(s.modules, ".0f"),
            _fmt(s.peak_mb, ".1f"),
            s.verdict,
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        # Names and verdicts read left to right; numbers align on the right.
        padded = [
            cell.ljust(width) if i in (0, len(cells) - 1) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        # Other processes on the machine inflate wall times (not cpu ms): worth seeing next to them.
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def report(
    summaries: Sequence[Summary], info: Mapping[str, Any], rounds: int, warmup: int, elapsed: float
) -> str:
    floor = next(s for s in summaries if s.name == FLOOR)
    functions = [s for s in summaries if s.name != FLOOR]
    within = sum(1 for s in functions if s.verdict == "ok")
    errors = [f"  {s.name}: {s.error}" for s in summaries if s.error]
    lines = [
        "Cold start = init (handler import) + first request (one DynamoDB GetItem on moto); medians",
        f"machine: {info['platform']}, {info['cores']} cores ({info['usable_cores']} usable), "
        f"Python {info['python']}, load average {info['load_average'][0]} at start, "
        f"{os.getloadavg()[0]:.2f} at end",
        f"rounds: {rounds} (+{warmup} warm-up, discarded), targets interleaved in a shuffled order",
        "",
        render(summaries),
        "",
        f"floor: {_fmt(floor.total_ms, '.0f')} ms; budget {BUDGET}x = "
        f"{_fmt(floor.total_ms * BUDGET, '.0f')} ms; {within}/{len(functions)} functions within budget; "
        f"run took {elapsed:.0f} s",
    ]
    if errors:
        lines += ["", "errors (first per target):", *errors]
    return "\n".join(lines)


# ---------------------------------------------------------------- -X importtime


def importtime(target: Target, timeout: float, top: int) -> str:
    """One cold start under `python -X importtime`: the costliest imports, by package and by module."""
    spawn(target, timeout)  # compile any stale .pyc first, so compilation does not pose as import cost
    run, stderr = spawn(target, timeout, python_flags=("-X", "importtime"))
    entries: list[tuple[str, int, int, int]] = []  # (module, self us, cumulative us, depth)
    for raw in stderr.splitlines():
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        self_us, cumulative_us, name = raw.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip())) // 2
        entries.append((name.strip(), int(self_us), int(cumulative_us), depth))
    by_package: dict[str, int] = defaultdict(int)
    for module, own_us, _, _ in entries:
        by_package[module.split(".", 1)[0]] += own_us
    packages = sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:top]
    modules = sorted(entries, key=lambda entry: entry[2], reverse=True)[:top]
    lines = [
        f"{target.name}: init {run.init_ms:.0f} ms + first request {run.request_ms:.0f} ms "
        f"(slower than normal: -X importtime adds overhead); {run.modules} modules; error: {run.error}",
        "",
        f"top {top} packages by self time (ms, all imports in the process, request included):",
        *(f"  {ms / 1000:8.1f}  {package}" for package, ms in packages),
        "",
        f"top {top} imports by cumulative time (ms; unindented: the handler module, or imported while"
        " serving the request):",
        *(f"  {cum / 1000:8.1f}  {'  ' * depth}{module}" for module, _, cum, depth in modules),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="measured rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds first (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (default: random, printed)")
    parser.add_argument(
        "--only", nargs="+", metavar="TARGET", help="measure only these targets (+ the floor)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the raw runs and medians here")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if any function exceeds {BUDGET}x")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per cold start (default 120)")
    parser.add_argument("--importtime", metavar="TARGET", help="profile one target's imports instead")
    parser.add_argument("--top", type=int, default=25, help="rows in the --importtime listing")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    info = machine()  # before the run: its load average is the one the run started under
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    template = Template()
    with moto_server() as endpoint:
        targets, tables, skipped = discover(template, endpoint)
        provision(endpoint, template, tables)
        by_name = {target.name: target for target in targets}
        if args.importtime:
            if args.importtime not in by_name:
                raise SystemExit(f"Unknown target {args.importtime!r}; known: {', '.join(by_name)}")
            print(importtime(by_name[args.importtime], args.timeout, args.top))
            return 0
        if args.only:
            unknown = sorted(set(args.only) - set(by_name))
            if unknown:
                raise SystemExit(f"Unknown targets {unknown}; known: {', '.join(by_name)}")
            targets = [target for target in targets if target.name == FLOOR or target.name in args.only]
        for note in skipped:
            print(f"  skipped {note}", file=sys.stderr)
        print(
            f"Measuring {len(targets)} targets x {args.rounds} rounds (seed {seed})",
            file=sys.stderr,
            flush=True,
        )
        results = measure(targets, args.rounds, args.warmup, seed, args.timeout)
    elapsed = time.perf_counter() - started
    summaries = summarise(targets, results)
    print(report(summaries, info, args.rounds, args.warmup, elapsed))
    if skipped:
        print("\nnot measured:\n" + "\n".join(f"  {note}" for note in skipped))
    if args.json:
        raw = {
            "machine": info,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "seed": seed,
            "budget": BUDGET,
            "elapsed_s": elapsed,
            "skipped": skipped,
            # NaN (a target with no good run) is not JSON: it is written as null.
            "summaries": [
                {key: None if value != value else value for key, value in asdict(summary).items()}
                for summary in summaries
            ],
            "runs": {name: [asdict(run) for run in runs] for name, runs in results.items()},
        }
        args.json.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    # A failing floor fails the check too: without it no ratio means anything.
    failed = [s.name for s in summaries if s.verdict not in ("ok", "floor")]
    if args.check and failed:
        print(f"\nover budget or failing: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
