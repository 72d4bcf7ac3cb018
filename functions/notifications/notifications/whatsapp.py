"""WhatsApp Business Cloud API: `POST /{version}/{phone-number-id}/messages` with a bearer token.

The token lives in SSM (SecureString) and is read through harambee.parameters, so a rotation is
picked up within minutes. Timeouts are short: a slow Graph API must not hold the whole batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harambee.parameters import ssm_parameter
from notifications.channels import PermanentSendFailure, SendFailure
from notifications.settings import notifications_settings

if TYPE_CHECKING:
    import httpx

# Replaced by tests with an httpx transport; None is the real network.
transport: httpx.BaseTransport | None = None


def _client() -> httpx.Client:
    import httpx

    settings = notifications_settings()
    timeout = httpx.Timeout(
        settings.whatsapp_timeout_seconds, connect=min(2.0, settings.whatsapp_timeout_seconds)
    )
    return httpx.Client(base_url=settings.whatsapp_api_url, timeout=timeout, transport=transport)


def send_text(phone: str, body: str) -> str:
    """Send a text message; the WhatsApp message id (wamid) on success.

    4xx (bad number, bad token, policy) is permanent except 429; 5xx, 429 and timeouts are retried.
    """
    import httpx

    settings = notifications_settings()
    if not settings.whatsapp_phone_number_id:
        raise PermanentSendFailure("WhatsApp is not configured (WHATSAPP_PHONE_NUMBER_ID is empty)")
    token = str(ssm_parameter(settings.whatsapp_token_parameter, decrypt=True))
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone.lstrip("+"),
        "type": "text",
        "text": {"preview_url": False, "body": body[:4096]},
    }
    path = f"/{settings.whatsapp_api_version}/{settings.whatsapp_phone_number_id}/messages"
    try:
        with _client() as client:
            response = client.post(path, json=payload, headers={"Authorization": f"Bearer {token}"})
    except httpx.TimeoutException as error:
        raise SendFailure(f"WhatsApp timed out: {type(error).__name__}") from error
    except httpx.TransportError as error:
        raise SendFailure(f"WhatsApp unreachable: {type(error).__name__}") from error
    answer = _json(response)
    if response.status_code == 429 or response.status_code >= 500:
        raise SendFailure(f"WhatsApp answered {response.status_code}: {_error_message(answer)}")
    if response.status_code >= 400:
        raise PermanentSendFailure(
            f"WhatsApp refused the message ({response.status_code}): {_error_message(answer)}"
        )
    messages = answer.get("messages") if isinstance(answer, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        raise SendFailure("WhatsApp answered without a message id")
    return str(messages[0].get("id"))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _error_message(answer: Any) -> str:
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')}"
    return "no error body"
