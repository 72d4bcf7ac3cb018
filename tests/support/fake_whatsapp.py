"""A small WhatsApp Business Cloud API on loopback, following Meta's documented contract.

`POST /{version}/{phone-number-id}/messages` with `Authorization: Bearer <token>` and a JSON body
{messaging_product: "whatsapp", to, type: "text", text: {body}} answers 200
{messaging_product, contacts: [{input, wa_id}], messages: [{id: "wamid..."}]}; a bad token answers 401
with Graph's error object (code 190), a bad body 400 (code 100). Faults: `fail_next` (statuses answered
before any work) and `delay` (seconds, for timeouts). `sent` records every accepted message.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import serving

ACCESS_TOKEN = "EAAG-fake-whatsapp-token"
PHONE_NUMBER_ID = "106540352242922"
MESSAGES_PATH = re.compile(r"^/v[0-9]+\.[0-9]+/(?P<phone_id>[0-9]+)/messages$")


@dataclass
class FakeWhatsApp:
    base_url: str = ""
    token: str = ACCESS_TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return 400, _error(100, "Invalid parameter: messaging_product must be whatsapp")
        to = body.get("to")
        if not isinstance(to, str) or not to.isdigit():
            return 400, _error(100, "Invalid parameter: to must be a phone number in digits")
        if body.get("type") != "text" or not isinstance((body.get("text") or {}).get("body"), str):
            return 400, _error(100, "Invalid parameter: text.body is required for type text")
        message_id = f"wamid.{secrets.token_hex(12)}"
        with self.lock:
            self.sent.append({"id": message_id, "to": to, "body": body["text"]["body"]})
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": message_id}],
        }


def _error(code: int, message: str, kind: str = "OAuthException") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_hex(8)}}


def _handler(fake: FakeWhatsApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (a timeout test); nothing to answer

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b""
            with fake.lock:
                fault = fake.fail_next.pop(0) if fake.fail_next else None
            if fake.delay:
                time.sleep(fake.delay)
            if fault is not None:
                self._answer(fault, _error(2, "Service temporarily unavailable", "OAuthException"))
                return
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._answer(401, _error(190, "Invalid OAuth access token"))
                return
            match = MESSAGES_PATH.match(self.path)
            if match is None or match["phone_id"] != fake.phone_number_id:
                self._answer(404, _error(803, "Unknown path components"))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._answer(400, _error(100, "Request body is not JSON"))
                return
            self._answer(*fake.accept(body))

    return Handler


@contextmanager
def running_whatsapp() -> Iterator[FakeWhatsApp]:
    fake = FakeWhatsApp()
    with serving(_handler(fake)) as base_url:
        fake.base_url = base_url
        yield fake
