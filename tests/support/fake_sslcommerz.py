"""A small SSLCommerz on loopback, following its public v4 contract.

- `POST /gwprocess/v4/api.php`: opens a session (store credentials, a two-decimal `total_amount`,
  the callback URLs) and answers `GatewayPageURL` and `sessionkey`.
- `GET /validator/api/validationserverAPI.php?val_id=…`: `VALID` the first time, `VALIDATED` after,
  `INVALID_TRANSACTION` for an unknown val_id or wrong credentials.
- `GET /validator/api/merchantTransIDvalidationAPI.php?tran_id=…`: the transaction query;
  with `refund_amount`, `bank_tran_id`, `refe_id`, the refund initiation (a repeated `refe_id` is
  `processing`, more than is left is `failed`).
- `ipn_body(...)`: the IPN SSLCommerz would post for a transaction, signed as it signs them
  (`verify_sign` over the `verify_key` fields plus md5 of the store password), or signed wrongly.

Faults: `fail_next` (status codes for the next requests) and `delay_seconds` (sleep before answering).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from tests.support.loopback import serving

STORE_ID = "harambee-test-store"
STORE_PASSWORD = "harambee-test-store@ssl"
DHAKA = timezone(timedelta(hours=6))
SESSION_REQUIRED = (
    "store_id",
    "store_passwd",
    "total_amount",
    "currency",
    "tran_id",
    "success_url",
    "fail_url",
    "cancel_url",
    "cus_name",
    "cus_email",
    "cus_phone",
    "cus_add1",
    "cus_city",
    "cus_country",
    "product_name",
    "product_category",
    "product_profile",
    "shipping_method",
)


def dhaka_time(at: datetime | None = None) -> str:
    """`tran_date` as SSLCommerz writes it: Dhaka wall time, no zone."""
    return (at or datetime.now(UTC)).astimezone(DHAKA).strftime("%Y-%m-%d %H:%M:%S")


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def sign(fields: dict[str, str], password: str) -> str:
    """verify_sign: md5 of `name=value&…` over the verify_key fields and store_passwd=md5(password)."""
    signed = {name: fields[name] for name in fields["verify_key"].split(",")}
    signed["store_passwd"] = md5(password)
    return md5("&".join(f"{name}={signed[name]}" for name in sorted(signed)))


@dataclass
class Transaction:
    tran_id: str
    amount: str
    currency: str
    status: str = "VALID"
    risk_level: str = "0"
    tran_date: str = field(default_factory=dhaka_time)
    val_id: str = field(default_factory=lambda: f"val{secrets.token_hex(8)}")
    bank_tran_id: str = field(default_factory=lambda: f"bank{secrets.token_hex(6)}")
    validated: bool = False
    refunded: Decimal = Decimal("0")

    @property
    def risk_title(self) -> str:
        return "Safe" if self.risk_level == "0" else "Hold for review"

    def document(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tran_date": self.tran_date,
            "tran_id": self.tran_id,
            "val_id": self.val_id if self.status in ("VALID", "VALIDATED") else "",
            "amount": self.amount,
            "store_amount": str((Decimal(self.amount) * Decimal("0.975")).quantize(Decimal("0.01"))),
            "currency": "BDT",
            "bank_tran_id": self.bank_tran_id,
            "card_type": "BKASH-BKash",
            "currency_type": self.currency,
            "currency_amount": self.amount,
            "currency_rate": "1.0000",
            "risk_level": self.risk_level,
            "risk_title": self.risk_title,
        }


@dataclass
class FakeSslcommerz:
    base_url: str = ""
    store_id: str = STORE_ID
    store_password: str = STORE_PASSWORD
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)
    refunds: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -------------------------------------------------------------- the payer's side

    def pay(
        self, tran_id: str, *, status: str = "VALID", risk_level: str = "0", amount: str | None = None
    ) -> Transaction:
        """The payer finished the session for `tran_id` (a session must exist unless amount is given)."""
        session = self.sessions.get(tran_id, {})
        transaction = Transaction(
            tran_id=tran_id,
            amount=amount or session["total_amount"],
            currency=session.get("currency", "BDT"),
            status=status,
            risk_level=risk_level,
        )
        self.transactions.append(transaction)
        return transaction

    def ipn_fields(self, transaction: Transaction, **overrides: str) -> dict[str, str]:
        document = {name: str(value) for name, value in transaction.document().items()}
        if transaction.status != "VALID":
            document.pop("val_id")
            document["error"] = f"Transaction {transaction.status.lower()}"
        fields = {**document, "store_id": self.store_id, **overrides}
        names = [name for name in fields if name not in ("error", "verify_key", "verify_sign")]
        fields.setdefault("verify_key", ",".join(names))
        return fields

    def ipn_body(
        self,
        transaction: Transaction,
        *,
        password: str | None = None,
        signature: str | None = None,
        drop: tuple[str, ...] = (),
        **overrides: str,
    ) -> bytes:
        """The IPN form body; signed with `password` (default the store's), or carrying `signature`."""
        fields = self.ipn_fields(transaction, **overrides)
        fields["verify_sign"] = signature or sign(fields, password or self.store_password)
        return urlencode({name: value for name, value in fields.items() if name not in drop}).encode()

    # -------------------------------------------------------------- the server's side

    def by_val_id(self, val_id: str) -> Transaction | None:
        return next((t for t in self.transactions if t.val_id == val_id), None)

    def credentials_ok(self, values: dict[str, str]) -> bool:
        return values.get("store_id") == self.store_id and values.get("store_passwd") == self.store_password

    def open_session(self, form: dict[str, str]) -> dict[str, Any]:
        missing = [name for name in SESSION_REQUIRED if not form.get(name)]
        if not self.credentials_ok(form):
            return {"status": "FAILED", "failedreason": "Store Credential Error Or Store is De-active"}
        if missing:
            return {"status": "FAILED", "failedreason": f"Missing: {', '.join(missing)}"}
        amount = form["total_amount"]
        if "." not in amount or len(amount.split(".")[1]) != 2 or Decimal(amount) < Decimal("10.00"):
            return {"status": "FAILED", "failedreason": "Invalid amount"}
        self.sessions[form["tran_id"]] = form
        key = secrets.token_hex(16)
        return {
            "status": "SUCCESS",
            "failedreason": "",
            "sessionkey": key,
            "GatewayPageURL": f"{self.base_url}/EasyCheckOut/test{key}",
            "redirectGatewayURL": f"{self.base_url}/gwprocess/v4/bankgw/indexhtml.php?mamount={amount}",
        }

    def validate(self, query: dict[str, str]) -> dict[str, Any]:
        transaction = self.by_val_id(query.get("val_id", ""))
        if not self.credentials_ok(query) or transaction is None or transaction.status != "VALID":
            return {"status": "INVALID_TRANSACTION"}
        document = {**transaction.document(), "status": "VALIDATED" if transaction.validated else "VALID"}
        transaction.validated = True
        return document

    def query(self, query: dict[str, str]) -> dict[str, Any]:
        if not self.credentials_ok(query):
            return {"APIConnect": "INVALID_REQUEST"}
        found = [t.document() for t in self.transactions if t.tran_id == query["tran_id"]]
        return {"APIConnect": "DONE", "no_of_trans_found": len(found), "element": found}

    def refund(self, query: dict[str, str]) -> dict[str, Any]:
        if not self.credentials_ok(query):
            return {"APIConnect": "INVALID_REQUEST"}
        transaction = next(
            (t for t in self.transactions if t.bank_tran_id == query.get("bank_tran_id")), None
        )
        base = {"APIConnect": "DONE", "bank_tran_id": query.get("bank_tran_id", "")}
        if transaction is None or transaction.status not in ("VALID", "VALIDATED"):
            return {**base, "status": "failed", "errorReason": "Invalid bank transaction id"}
        earlier = self.refunds.get(query.get("refe_id", ""))
        if earlier is not None:
            return {**base, "status": "processing", "refund_ref_id": earlier["refund_ref_id"]}
        amount = Decimal(query["refund_amount"])
        if amount <= 0 or transaction.refunded + amount > Decimal(transaction.amount):
            return {**base, "status": "failed", "errorReason": "Refund amount exceeds the paid amount"}
        transaction.refunded += amount
        record = {**query, "refund_ref_id": f"rf{secrets.token_hex(6)}"}
        self.refunds[query.get("refe_id", record["refund_ref_id"])] = record
        return {
            **base,
            "trans_id": transaction.tran_id,
            "status": "success",
            "refund_ref_id": record["refund_ref_id"],
            "errorReason": "",
        }


def _handler(fake: FakeSslcommerz) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fault(self, path: str) -> bool:
            with fake.lock:
                fake.requests.append((self.command, path))
                fault = fake.fail_next.pop(0) if fake.fail_next else None
            if fake.delay_seconds:
                time.sleep(fake.delay_seconds)
            if fault is not None:
                self._answer(fault, {"error": "injected"})
                return True
            return False

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if self._fault(url.path):
                return
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            with fake.lock:
                if url.path == "/validator/api/validationserverAPI.php":
                    self._answer(200, fake.validate(query))
                elif (
                    url.path == "/validator/api/merchantTransIDvalidationAPI.php" and "refund_amount" in query
                ):
                    self._answer(200, fake.refund(query))
                elif url.path == "/validator/api/merchantTransIDvalidationAPI.php" and "tran_id" in query:
                    self._answer(200, fake.query(query))
                else:
                    self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            if self._fault(url.path):
                return
            with fake.lock:
                if url.path == "/gwprocess/v4/api.php":
                    self._answer(200, fake.open_session(form))
                else:
                    self._answer(404, {"error": "not_found"})

    return Handler


@contextmanager
def running_sslcommerz() -> Iterator[FakeSslcommerz]:
    fake = FakeSslcommerz()
    with serving(_handler(fake)) as base_url:
        fake.base_url = base_url
        yield fake
