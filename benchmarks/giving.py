"""The giving path end to end on the local stack: what one completed donation costs on AWS, and
whether 1,000 donations to one campaign from 50 concurrent clients are all counted exactly once.

    python benchmarks/giving.py                         # both parts, the issue's figures
    python benchmarks/giving.py --cost-donations 10 --load 0
    python benchmarks/giving.py --cost-donations 0 --load 200 --clients 20

Part 1 (cost): after a warm-up, N donations go one at a time through the whole system as a client
makes them (WOLO's one-call `POST /api/payments/donate`, then the sandbox provider settles the
payment), each followed until the read model counts it and the platform is quiet again. The cost
part uses the sandbox's "completed" outcome: one signed completion webhook, as real providers send
(SSLCommerz's IPN VALID, Stripe's payment_intent.succeeded, Wave's checkout.session.completed); the
sandbox's "success" walks authorized, captured and completed, three webhooks no real provider sends
for one payment, so it would over-count. The load part keeps "success" with duplicates, to test
ordering and exactly-once.

`awsmeter.AwsMeter` counts every AWS call the functions make, DynamoDB units (computed from the
items, see awsmeter), Lambda invocations, and the saga's state transitions (from each
execution's history); the table prices them per 1,000 donations. The sandbox's own "complete" call,
which stands in for the provider's checkout page, is one Payments invocation (and the simulator's
one-unit SANDBOX item) per donation that production does not have; it is included (a slight
over-count).

Part 2 (load): `--clients` threads make `--load` donations together to one campaign, half through
CareForAll's `POST /api/pledges` + `POST /api/payments/initiate`, half through `donate`, half signed
in and half anonymous, with random amounts; the benchmark plays the sandbox provider and posts
each signed webhook twice, shuffled (class Provider says why the sandbox's own route cannot under
load).
Then the totals, the campaign's donation list and the query context's totals check must all agree
with what the clients know they gave: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from awsmeter import PRICES, AwsMeter, Usage

ADMIN = ("bench-admin@example.org", "bench admin passphrase")
PASSWORD = "a long and uncommon passphrase"
CURRENCY = "BDT"
# The targets, per completed donation.
TARGET_WRITE_UNITS = 12
TARGET_TRANSITIONS = 10
TARGET_DOLLARS_PER_1000 = 0.30
MEMORY_GB = 0.5  # Globals MemorySize 512


# ---------------------------------------------------------------------- a client


class Provider:
    """The sandbox payment provider played by the benchmark: it signs and posts the webhooks itself.

    Under load the sandbox's own "complete" route cannot: it posts the webhooks to the same function
    and waits, and with more clients than the local pool has workers every worker would wait on a
    webhook no worker is free to serve (AWS would simply run more instances). The scheme is the
    sandbox's documented one (docs/payments.md): `Harambee-Signature: t=<unix>,v1=HMAC-SHA256(secret,
    "<t>.<body>")`, the secret read from the stack's SSM.
    """

    SIGNALS = ("authorized", "captured", "completed")

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()

    def settle(self, client: Client, payment_id: str, amount: int, copies: int) -> None:
        deliveries = [signal for signal in self.SIGNALS for _ in range(copies)]
        random.shuffle(deliveries)
        for signal in deliveries:
            body = json.dumps(
                {
                    "id": f"evt_{payment_id}_{signal}",
                    "type": f"payment.{signal}",
                    "created": int(time.time()),
                    "data": {"paymentId": payment_id, "amount": amount, "currency": CURRENCY},
                },
                separators=(",", ":"),
            ).encode()
            stamp = int(time.time())
            digest = hmac.new(self.secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            status, answer = client.post_raw(
                "/api/payments/webhooks/sandbox", body, {"Harambee-Signature": f"t={stamp},v1={digest}"}
            )
            if status >= 300:
                raise RuntimeError(f"webhook {signal}: {status} {answer}")


class Client:
    def __init__(self, base: str, provider: Provider | None = None) -> None:
        self.base = base
        self.provider = provider

    def post_raw(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", **headers}
        request = urllib.request.Request(f"{self.base}{path}", data=body, headers=sent, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def register(self, name: str) -> tuple[str, str]:
        body = {"email": f"{name}-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD, "name": name}
        status, answer = self.call("POST", "/api/auth/register", body)
        if status != 201:
            raise RuntimeError(f"register: {status} {answer}")
        return answer["data"]["user"]["userId"], answer["data"]["tokens"]["accessToken"]

    def login(self, email: str, password: str) -> str:
        status, answer = self.call("POST", "/api/auth/login", {"email": email, "password": password})
        if status != 200:
            raise RuntimeError(f"login: {status} {answer}")
        return str(answer["data"]["tokens"]["accessToken"])

    def campaign(self, owner: str, admin: str, goal: int) -> str:
        today = datetime.now(UTC).date()
        draft = {
            "title": "Benchmark: a new roof for the clinic",
            "description": "Measured donations to one campaign",
            "type": "medical",
            "goalAmount": goal,
            "currency": CURRENCY,
            "startDate": today.isoformat(),
            "endDate": (today + timedelta(days=30)).isoformat(),
            "beneficiaryName": "Clinic committee",
        }
        status, created = self.call("POST", "/api/campaigns", draft, owner)
        if status != 201:
            raise RuntimeError(f"campaign: {status} {created}")
        campaign_id = str(created["data"]["campaignId"])
        status, approved = self.call("PATCH", f"/api/admin/campaigns/{campaign_id}/approve", token=admin)
        if status != 200:
            raise RuntimeError(f"approve: {status} {approved}")
        return campaign_id

    def donate(
        self,
        campaign_id: str,
        amount: int,
        token: str | None,
        *,
        one_call: bool,
        copies: int = 1,
        outcome: str = "success",
    ) -> str:
        """Give `amount` and have the sandbox settle it, each webhook sent `copies` times; the pledge id."""
        pledge = {"campaignId": campaign_id, "amount": amount, "currency": CURRENCY}
        if token is None:
            pledge["donorEmail"] = f"anon-{uuid.uuid4().hex[:8]}@example.org"
        key = {"Idempotency-Key": f"bench-{uuid.uuid4()}"}
        if one_call:
            status, answer = self.call(
                "POST",
                "/api/payments/donate",
                {**pledge, "provider": "sandbox", "method": "card"},
                token,
                key,
            )
            if status != 201:
                raise RuntimeError(f"donate: {status} {answer}")
            pledge_id, payment_id = (
                answer["data"]["pledge"]["pledgeId"],
                answer["data"]["payment"]["paymentId"],
            )
        else:
            status, answer = self.call("POST", "/api/pledges", pledge, token, key)
            if status != 201:
                raise RuntimeError(f"pledge: {status} {answer}")
            pledge_id = answer["data"]["pledgeId"]
            payment_id = self._initiate(pledge_id, token)
        if self.provider is not None:
            self.provider.settle(self, payment_id, amount, copies)
            return str(pledge_id)
        status, answer = self.call(
            "POST",
            f"/api/payments/sandbox/{payment_id}/complete",
            {"outcome": outcome, "duplicates": copies, "shuffle": copies > 1},
        )
        if status != 200:
            raise RuntimeError(f"sandbox complete: {status} {answer}")
        return str(pledge_id)

    def _initiate(self, pledge_id: str, token: str | None) -> str:
        # Payments hears of the pledge through the bus a moment after it was created; under load
        # that moment grows, so the client backs off instead of hammering the function it waits on.
        body = {"pledgeId": pledge_id, "provider": "sandbox", "method": "card"}
        deadline, pause = time.monotonic() + 900, 0.5
        while True:
            status, answer = self.call(
                "POST", "/api/payments/initiate", body, token, {"Idempotency-Key": f"pay-{pledge_id}"}
            )
            if status == 201:
                return str(answer["data"]["paymentId"])
            if time.monotonic() > deadline:
                raise RuntimeError(f"initiate: {status} {answer}")
            time.sleep(pause)
            pause = min(pause * 2, 8.0)

    def totals(self, campaign_id: str) -> dict[str, Any]:
        status, answer = self.call("GET", f"/api/query/campaigns/{campaign_id}/totals")
        return dict(answer["data"]) if status == 200 else {"donationCount": 0, "raisedAmount": 0}

    def campaign_pledges(self, campaign_id: str) -> list[dict[str, Any]]:
        pledges: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            path = f"/api/pledges/campaign/{campaign_id}?limit=100" + (f"&next={cursor}" if cursor else "")
            status, answer = self.call("GET", path)
            if status != 200:
                raise RuntimeError(f"campaign pledges: {status} {answer}")
            pledges += answer["data"]
            cursor = (answer.get("pagination") or {}).get("next")
            if not cursor:
                return pledges


def wait_for_count(client: Client, campaign_id: str, count: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        totals = client.totals(campaign_id)
        if totals.get("donationCount", 0) >= count or time.monotonic() > deadline:
            return totals
        time.sleep(0.5)


def wait_quiet(meter: AwsMeter, quiet_seconds: float = 3.0, timeout: float = 120) -> None:
    """Until no AWS call has been made for `quiet_seconds` (the pollers' idle receives do not count)."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = meter.usage.aws_calls() + sum(meter.usage.invocations.values())
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.25)


# ---------------------------------------------------------------------- part 1: cost


@dataclass
class Cost:
    donations: int
    usage: Usage
    transitions: list[int]

    def per(self, value: float) -> float:
        return value / self.donations

    def dollars_per_1000(self) -> dict[str, float]:
        usage, n = self.usage, self.donations
        lambda_seconds = usage.invocation_ms / 1000
        return {
            "DynamoDB writes": usage.write_units / n * PRICES["dynamodb_write_unit"] * 1000,
            "DynamoDB reads": usage.read_units / n * PRICES["dynamodb_read_unit"] * 1000,
            "Step Functions": statistics.mean(self.transitions) * PRICES["state_transition"] * 1000,
            "Lambda requests": sum(usage.invocations.values()) / n * PRICES["lambda_request"] * 1000,
            "Lambda duration": lambda_seconds * MEMORY_GB / n * PRICES["lambda_gb_second_arm64"] * 1000,
            "SQS": usage.sqs_requests / n * PRICES["sqs_request"] * 1000,
            "EventBridge": usage.events_published / n * PRICES["eventbridge_event"] * 1000,
            "KMS": usage.kms_requests / n * PRICES["kms_request"] * 1000,
        }


def measure_cost(stack: Any, meter: AwsMeter, client: Client, donations: int) -> Cost:
    admin = client.login(*ADMIN)
    _, owner = client.register("owner")
    _, donor = client.register("donor")
    campaign_id = client.campaign(owner, admin, goal=10**12)
    for _ in range(3):  # warm-up: every function on the path has started once
        client.donate(campaign_id, 50_000, donor, one_call=True, outcome="completed")
    wait_for_count(client, campaign_id, 3, timeout=180)
    wait_quiet(meter)
    meter.reset()
    pledges = []
    for _ in range(donations):
        # No polling while measuring: a donation is done when the whole platform has gone quiet.
        pledges.append(client.donate(campaign_id, 50_000, donor, one_call=True, outcome="completed"))
        wait_quiet(meter)
    usage = meter.reset()
    counted = wait_for_count(client, campaign_id, 3 + donations, timeout=60)["donationCount"]
    if counted != 3 + donations:
        raise RuntimeError(f"the read model counted {counted} of {3 + donations} donations")
    states = stack.client("stepfunctions")
    machine = stack.physical_name("DonationSagaStateMachine")
    transitions = []
    for pledge_id in pledges:
        arn = f"{machine.replace(':stateMachine:', ':execution:')}:{pledge_id}"
        history = states.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        transitions.append(sum(1 for event in history if event["type"].endswith("StateEntered")))
    meter.reset()
    return Cost(donations, usage, transitions)


def print_cost(cost: Cost) -> float:
    usage, n = cost.usage, cost.donations
    print(f"\nPer completed donation (mean of {n}, after a 3-donation warm-up)")
    print(f"  DynamoDB write units   {cost.per(usage.write_units):7.1f}   target <= {TARGET_WRITE_UNITS}")
    for table, units in usage.write_units_by_table.most_common():
        print(f"      {table.removeprefix('harambee-local-'):30} {units / n:6.1f}")
        for item, item_units in usage.write_units_by_item.most_common():
            if item.startswith(f"{table} "):
                print(f"          {item.removeprefix(table):34} {item_units / n:6.1f}")
    print(f"  DynamoDB read units    {cost.per(usage.read_units):7.1f}")
    print(
        f"  state transitions      {statistics.mean(cost.transitions):7.1f}   target <= {TARGET_TRANSITIONS}"
        f"   (min {min(cost.transitions)}, max {max(cost.transitions)})"
    )
    print(f"  Lambda invocations     {cost.per(sum(usage.invocations.values())):7.1f}")
    for function, count in usage.invocations.most_common():
        print(f"      {function:30} {count / n:6.1f}")
    print(f"  AWS calls              {cost.per(usage.aws_calls()):7.1f}")
    for (service, operation), count in usage.calls.most_common(14):
        print(f"      {service + ' ' + operation:30} {count / n:6.1f}")
    print(f"  events published       {cost.per(usage.events_published):7.1f}")
    print(f"  SQS requests           {cost.per(usage.sqs_requests):7.1f}")
    print(f"  emails, SMS            {cost.per(usage.emails):7.1f}, {cost.per(usage.sms):.1f}")
    dollars = cost.dollars_per_1000()
    total = sum(dollars.values())
    print("\nCost per 1,000 donations at AWS list prices (payment fees excluded)")
    for item, value in dollars.items():
        print(f"  {item:18} ${value:8.4f}")
    print(f"  {'total':18} ${total:8.4f}   target <= ${TARGET_DOLLARS_PER_1000:.2f}")
    messaging = usage.emails / n * PRICES["ses_email"] * 1000
    print(f"  (+ ${messaging:.4f} of SES email for the receipts and owner notices, messaging not compute)")
    return total


# ---------------------------------------------------------------------- part 2: load


def run_load(stack: Any, base: str, donations: int, clients: int, timeout: float) -> bool:
    secret = stack.client("ssm").get_parameter(
        Name="/harambee/local/payments/sandbox-webhook-secret", WithDecryption=True
    )["Parameter"]["Value"]
    client = Client(base, Provider(secret))
    admin = client.login(*ADMIN)
    _, owner = client.register("load-owner")
    campaign_id = client.campaign(owner, admin, goal=10**12)
    donors = [
        client.register(f"load-donor-{index}")[1] if index % 2 == 0 else None for index in range(clients)
    ]
    rng = random.Random(20261122)
    plan = [(index, rng.randrange(1, 5_000) * 100) for index in range(donations)]
    given: list[tuple[str, int]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def give(entry: tuple[int, int]) -> None:
        index, amount = entry
        token = donors[index % clients]
        try:
            pledge_id = client.donate(campaign_id, amount, token, one_call=index % 4 < 2, copies=2)
        except Exception as error:
            with lock:
                failures.append(f"{index}: {error}")
            return
        with lock:
            given.append((pledge_id, amount))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(give, plan))
    sent = time.monotonic() - started
    totals = wait_for_count(client, campaign_id, len(given), timeout)
    settled = time.monotonic() - started
    time.sleep(3)  # anything counted twice would show up now
    totals = client.totals(campaign_id)
    pledges = client.campaign_pledges(campaign_id)
    listed = Counter(pledge["pledgeId"] for pledge in pledges)
    check = stack.invoke("QueryFunction", {"task": "query.check-totals", "campaignId": campaign_id}).payload

    expected_amount = sum(amount for _, amount in given)
    duplicates = [pledge for pledge, count in listed.items() if count > 1]
    missing = {pledge for pledge, _ in given} - set(listed)
    ok = (
        not failures
        and len(given) == donations
        and totals["donationCount"] == donations
        and totals["raisedAmount"] == expected_amount
        and not duplicates
        and not missing
    )
    print(f"\n{donations} donations to one campaign from {clients} concurrent clients")
    print(f"  client calls finished   {sent:7.1f} s   ({donations / sent:.1f} donations/s sent)")
    print(f"  all counted after       {settled:7.1f} s   ({donations / settled:.1f} donations/s end to end)")
    print(f"  client failures         {len(failures):7d}" + (f"   first: {failures[0]}" if failures else ""))
    print(f"  totals: donations       {totals['donationCount']:7d}   expected {donations}")
    print(f"  totals: raised          {totals['raisedAmount']:>11}   expected {expected_amount}")
    print(f"  totals: donors          {totals['donorCount']:7d}")
    print(
        f"  completed pledges listed{len(listed):7d}   duplicates {len(duplicates)}, missing {len(missing)}"
    )
    print(f"  query check-totals      {json.dumps(check)[:160]}")
    print(f"  verdict                 {'EXACT' if ok else 'MISMATCH'}")
    return ok


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    from devstack.stack import LocalStack

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cost-donations", type=int, default=20)
    parser.add_argument("--load", type=int, default=1000, help="donations in the load part (0 skips it)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for the load to be counted")
    parser.add_argument("--workers", type=int, default=6, help="worker processes per function")
    args = parser.parse_args(argv)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with LocalStack(
        gateway_port=port,
        moto_port=0,
        schedules=False,
        worker_capacity=args.workers,
        parameter_overrides={"PublicBaseUrl": f"http://127.0.0.1:{port}"},
        key_path=Path(tempfile.mkdtemp()) / "dev-signing-key.json",
        admin=ADMIN,
        log_sink=lambda function, line: None,
        log=lambda line: None,
    ) as stack:
        meter = AwsMeter.install(stack)
        client = Client(stack.url)
        ok = True
        if args.cost_donations:
            cost = measure_cost(stack, meter, client, args.cost_donations)
            total = print_cost(cost)
            ok &= total <= TARGET_DOLLARS_PER_1000
        if args.load:
            ok &= run_load(stack, stack.url, args.load, args.clients, args.timeout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
