"""The whole local stack in one object: moto, the resources of template.yaml, workers, pollers,
schedules, state machines and the gateway. `with LocalStack(...) as stack:` is what `dev` and the
end-to-end tests run."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import atomic_dynamodb, devkey, stepfunctions
from devstack.apigateway import GatewayResponses, Stage, Throttles
from devstack.gateway import ApiGateway, AuthorizerConfig, GatewayServer
from devstack.intrinsics import REGION
from devstack.pollers import MappingSettings, Poller, SqsPoller, StreamPoller
from devstack.resources import FAKE_CREDENTIALS, StackResources, client, discover, provision, stack_parameters
from devstack.routes import RouteTable
from devstack.schedules import Clock, Schedule, template_schedules
from devstack.template import FunctionSpec, Template
from devstack.workers import FunctionRuntime, Invocation, LogSink, WorkerPools, print_log

HOST = "127.0.0.1"


def _console(line: str) -> None:
    sys.stderr.write(f"[harambee-local] {line}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class FireResult:
    schedule: str
    target: str
    execution_arn: str | None = None


class LocalStack:
    """Run template.yaml locally; `url` is the API, `moto_endpoint` the AWS every handler talks to."""

    def __init__(
        self,
        *,
        gateway_port: int = 3000,
        moto_port: int = 4566,
        schedules: bool = True,
        parameter_overrides: dict[str, str] | None = None,
        worker_capacity: int = 4,
        queue_visibility_timeout: int | None = None,
        template: Template | None = None,
        log_sink: LogSink = print_log,
        log: Any = _console,
        key_path: Path = devkey.KEY_PATH,
        serve_api: bool = True,
        run_pollers: bool = True,
        admin: tuple[str, str] | None = None,
    ) -> None:
        self.template = template or Template()
        self.gateway_port = gateway_port
        self.moto_port = moto_port
        self.run_schedules = schedules
        self.parameters = stack_parameters(self.template, parameter_overrides)
        self.worker_capacity = worker_capacity
        # Local-only knob: shortens every queue's visibility timeout so a failing message comes back
        # (and reaches its DLQ after maxReceiveCount) in seconds instead of 5 x 180 s.
        self.queue_visibility_timeout = queue_visibility_timeout
        self.log_sink = log_sink
        self.log = log
        self.key_path = key_path
        self.serve_api = serve_api
        self.run_pollers = run_pollers
        # (email, password) of an administrator to create or promote once the stack is up.
        self.admin = admin
        self.moto: Any = None
        self.resources: StackResources | None = None
        self.pools: WorkerPools | None = None
        self.pollers: list[Poller] = []
        self.schedules: dict[str, Schedule] = {}
        self.gateway: GatewayServer | None = None
        self.clock: Clock | None = None
        self.dev_key: devkey.DevKey | None = None
        self._clients: dict[str, Any] = {}
        self._endpoint: str | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> LocalStack:
        self._start_moto()
        self.resources = provision(
            self.template,
            self.moto_endpoint,
            self.parameters,
            queue_visibility_timeout=self.queue_visibility_timeout,
        )
        self._publish_signing_key()
        self.pools = WorkerPools(self._runtimes(), self.worker_capacity, self.log_sink)
        stepfunctions.install(self._route_moto_invocation)
        if self.admin is not None:
            self.ensure_admin(*self.admin)
        if self.run_pollers:
            self.pollers = self._build_pollers()
            for poller in self.pollers:
                poller.start()
        self.schedules = {schedule.name: schedule for schedule in self._build_schedules()}
        if self.serve_api:
            self.gateway = self._build_gateway()
            self.gateway.start()
        if self.run_schedules:
            self.clock = Clock(
                list(self.schedules.values()), lambda schedule: self._fire_in_background(schedule.name)
            )
            self.clock.start()
        return self

    def close(self) -> None:
        """Stop the clock, pollers, gateway, workers and moto, in that order (callers first)."""
        if self.clock is not None:
            self.clock.stop()
        for poller in self.pollers:
            poller.signal_stop()
        for poller in self.pollers:
            poller.stop()
        if self.gateway is not None:
            self.gateway.stop()
        if self.pools is not None:
            self.pools.close()
        stepfunctions.uninstall(self._route_moto_invocation)
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto = ThreadedMotoServer(ip_address=HOST, port=self.moto_port, verbose=False)
        self.moto.start()
        atomic_dynamodb.install(self.moto)
        self.moto_port = int(self.moto.get_host_and_port()[1])
        # moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.moto_port)
        request = urllib.request.Request(  # noqa: S310 - our own local moto
            f"{self.moto_endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - our own local moto
            pass

    def _publish_signing_key(self) -> None:
        prefix = self._resolved_globals().get(
            "SECRETS_PREFIX", f"/harambee/{self.parameters.get('Stage', 'local')}"
        )
        try:
            self.dev_key = devkey.load_or_create(self.key_path)
        except ImportError as error:
            self.log(f"No JWT signing key published ({error}); protected routes will answer 401")
            return
        devkey.publish(self.client("ssm"), prefix, self.dev_key)
        # Secrets a deployed stage creates by hand (docs/operations.md); here each run makes its own.
        self.client("ssm").put_parameter(
            Name=f"{prefix.rstrip('/')}/payments/sandbox-webhook-secret",
            Value=secrets.token_urlsafe(32),
            Type="SecureString",
            Overwrite=True,
        )
        # The WhatsApp token only matters against a fake Graph API, which is told the same value.
        for name in ("notifications/unsubscribe-key", "notifications/whatsapp-token"):
            self.client("ssm").put_parameter(
                Name=f"{prefix.rstrip('/')}/{name}",
                Value=secrets.token_urlsafe(32),
                Type="SecureString",
                Overwrite=True,
            )

    # ------------------------------------------------------------------ public API

    @property
    def url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("The gateway is not running")
        return self.gateway.url

    @property
    def moto_endpoint(self) -> str:
        return self._endpoint or f"http://{HOST}:{self.moto_port}"

    def attach(self, endpoint: str) -> None:
        """Use the resources of a stack already running at `endpoint` (for a one-off invoke)."""
        self._endpoint = endpoint
        self.resources = discover(self.template, endpoint, self.parameters)

    @property
    def stack(self) -> StackResources:
        if self.resources is None:
            raise RuntimeError("The stack is not started")
        return self.resources

    def physical_name(self, logical_id: str) -> str:
        """What Ref returns for `logical_id`: a table or function name, a queue URL, a state machine ARN."""
        return self.stack.physical_name(logical_id)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = client(self.moto_endpoint, service)
            return self._clients[service]

    def invoke(self, function: str, event: Any) -> Invocation:
        """Invoke a function (by logical id) in its warm pool, as a RequestResponse invocation."""
        assert self.pools is not None
        return self.pools.invoke(function, event)

    def pollers_of(self, function: str) -> list[Poller]:
        return [poller for poller in self.pollers if poller.function == function]

    def pause(self, function: str) -> None:
        """Stop delivering queue and stream batches to `function` (records wait, as under throttling)."""
        for poller in self.pollers_of(function):
            poller.pause()

    def resume(self, function: str) -> None:
        for poller in self.pollers_of(function):
            poller.resume()

    def fire(self, name: str) -> FireResult:
        """Fire schedule `name` now: start its state machine, or invoke its function and wait."""
        schedule = self.schedules[name]
        rule_arn = f"arn:aws:events:{REGION}:123456789012:rule/{name}"
        payload = schedule.payload(rule_arn)
        if schedule.target_kind == "state_machine":
            # moto names an unnamed execution "None", so a second unnamed start would be refused.
            started = self.client("stepfunctions").start_execution(
                stateMachineArn=self.stack.state_machines[schedule.target],
                name=str(uuid.uuid4()),
                input=json.dumps(payload),
            )
            return FireResult(name, schedule.target, str(started["executionArn"]))
        invocation = self.invoke(schedule.target, payload)
        if invocation.error:
            self.log(f"Schedule {name}: {schedule.target} failed: {invocation.payload}")
        return FireResult(name, schedule.target)

    def _fire_in_background(self, name: str) -> None:
        # EventBridge invokes targets asynchronously: the clock must not wait for a slow handler.
        def run() -> None:
            try:
                self.fire(name)
            except Exception as error:
                self.log(f"Schedule {name} could not fire: {error}")

        threading.Thread(target=run, name=f"fire-{name}", daemon=True).start()

    def ensure_admin(self, email: str, password: str | None) -> dict[str, Any]:
        """Create or promote an administrator through identity's `admin.ensure` task."""
        outcome = self.invoke(
            "IdentityFunction", {"task": "admin.ensure", "email": email, "password": password}
        )
        if outcome.error:
            raise RuntimeError(f"Could not create the admin {email}: {outcome.payload}")
        created: dict[str, Any] = outcome.payload
        return created

    def status(self) -> dict[str, Any]:
        """A summary for the console and GET /_local/status."""
        stack = self.stack
        return {
            "gateway": self.gateway.url if self.gateway else None,
            "moto": self.moto_endpoint,
            "routes": len(self.template.routes),
            "functions": len(self.template.functions),
            "queues": len(stack.queues),
            "tables": len(stack.tables),
            "schedules": sorted(self.schedules),
            "stateMachines": {logical: arn for logical, arn in stack.state_machines.items()},
            "pollers": {poller.name: "paused" if poller.paused else "running" for poller in self.pollers},
            "workers": self.pools.sizes() if self.pools else {},
        }

    def control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """/_local/ endpoints: GET status, POST schedules/<name>/fire, POST functions/<id>/pause|resume."""
        parts = [part for part in path.split("/") if part]
        if method == "GET" and parts == ["status"]:
            return 200, self.status()
        if method == "POST" and len(parts) == 3 and parts[0] == "schedules" and parts[2] == "fire":
            if parts[1] not in self.schedules:
                return 404, {"error": f"No schedule {parts[1]!r}", "schedules": sorted(self.schedules)}
            fired = self.fire(parts[1])
            return 200, {
                "schedule": fired.schedule,
                "target": fired.target,
                "executionArn": fired.execution_arn,
            }
        if (
            method == "POST"
            and len(parts) == 3
            and parts[0] == "functions"
            and parts[2] in {"pause", "resume"}
        ):
            if parts[1] not in self.template.functions:
                return 404, {"error": f"No function {parts[1]!r}"}
            (self.pause if parts[2] == "pause" else self.resume)(parts[1])
            return 200, {"function": parts[1], "pollers": parts[2] + "d"}
        return 404, {"error": f"No control endpoint {method} /_local/{path}"}

    # ------------------------------------------------------------------ assembly

    def _resolved_globals(self) -> dict[str, str]:
        variables = ((self.template.globals.get("Function") or {}).get("Environment") or {}).get(
            "Variables"
        ) or {}
        return {key: str(value) for key, value in self.stack.resolver.resolve(variables).items()}

    def runtime(self, spec: FunctionSpec) -> FunctionRuntime:
        """The execution environment of one function: its template variables plus Lambda's own."""
        resolve = self.stack.resolver.resolve
        name = self.physical_name(spec.logical_id)
        timeout = int(resolve(spec.properties.get("Timeout", 3)))
        memory = int(resolve(spec.properties.get("MemorySize", 128)))
        log_group = (spec.properties.get("LoggingConfig") or {}).get("LogGroup")
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - Lambda's HOME is not writable either
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "*",
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.properties.get('Runtime', 'python3.13')}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": str(resolve(log_group)) if log_group else f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local/[$LATEST]worker",
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
        }
        environment.update({key: str(value) for key, value in resolve(spec.environment).items()})
        return FunctionRuntime(
            logical_id=spec.logical_id,
            function_name=name,
            function_arn=self.stack.resolver.get_att(spec.logical_id, "Arn"),
            handler=spec.handler,
            environment=environment,
            timeout_seconds=float(timeout),
            memory_mb=memory,
            code_dir=spec.code_uri,
        )

    def _runtimes(self) -> dict[str, FunctionRuntime]:
        return {logical_id: self.runtime(spec) for logical_id, spec in self.template.functions.items()}

    def _route_moto_invocation(self, function_name: str, event: Any) -> Invocation | None:
        assert self.pools is not None
        logical_id = self.pools.by_function_name(function_name)
        return self.pools.invoke(logical_id, event) if logical_id else None

    def _build_pollers(self) -> list[Poller]:
        pollers: list[Poller] = []
        sqs, streams = self.client("sqs"), self.client("dynamodbstreams")
        for spec in self.template.functions.values():
            for source in spec.sources:
                props = self.stack.resolver.resolve(source.properties)
                if props.get("Enabled", True) in (False, "false"):
                    continue
                name = f"{spec.logical_id}.{source.event_name}"
                if source.kind == "SQS":
                    queue = self.stack.queue_by_arn(str(props["Queue"]))
                    settings = MappingSettings.from_properties(props, 10, None)
                    pollers.append(
                        SqsPoller(
                            name,
                            spec.logical_id,
                            self.invoke,
                            self.log,
                            sqs=sqs,
                            queue_url=queue.url,
                            queue_arn=queue.arn,
                            settings=settings,
                        )
                    )
                elif source.kind == "DynamoDB":
                    destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                        "Destination"
                    )
                    on_failure = self.stack.queue_by_arn(str(destination)).url if destination else None
                    settings = MappingSettings.from_properties(props, 100, on_failure)
                    pollers.append(
                        StreamPoller(
                            name,
                            spec.logical_id,
                            self.invoke,
                            self.log,
                            streams=streams,
                            sqs=sqs,
                            stream_arn=str(props["Stream"]),
                            function_arn=self.stack.resolver.get_att(spec.logical_id, "Arn"),
                            settings=settings,
                        )
                    )
        return pollers

    def _build_schedules(self) -> list[Schedule]:
        return template_schedules(self.template, self.stack)

    def _build_gateway(self) -> GatewayServer:
        apis = self.template.of_type("AWS::Serverless::Api")
        api_props: dict[str, Any] = (
            self.stack.resolver.resolve(next(iter(apis.values()))["Properties"]) if apis else {}
        )
        stage = Stage(
            api_id=self.physical_name(next(iter(apis))) if apis else "local",
            name=str(api_props.get("StageName", "local")),
            host="localhost",
        )
        authorizers = {
            name: AuthorizerConfig(
                name=name,
                function=self.stack.function_by_arn(str(config["FunctionArn"])) or "",
                identity_headers=tuple((config.get("Identity") or {}).get("Headers") or ["Authorization"]),
                identity_query=tuple((config.get("Identity") or {}).get("QueryStrings") or []),
                ttl_seconds=int((config.get("Identity") or {}).get("ReauthorizeEvery", 300)),
            )
            for name, config in ((api_props.get("Auth") or {}).get("Authorizers") or {}).items()
        }
        throttle = Throttles.from_method_settings(list(api_props.get("MethodSettings") or []))
        gateway = ApiGateway(
            RouteTable(self.template.routes),
            stage,
            GatewayResponses(api_props.get("GatewayResponses") or {}),
            authorizers,
            self.invoke,
            throttle=throttle,
            log=self.log,
        )
        server = GatewayServer(gateway, HOST, self.gateway_port, self.control)
        self.gateway_port = server.port
        gateway.stage = Stage(stage.api_id, stage.name, f"{HOST}:{server.port}")
        return server
