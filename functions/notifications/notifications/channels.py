"""The four ways out: email (SES v2), SMS (SNS Publish to a number), WhatsApp, push (SNS endpoint).

Each sender returns the provider's message id or raises SendFailure (retry later) or
PermanentSendFailure (retrying cannot help: a malformed number, a disabled endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from harambee import aws
from notifications.domain.catalog import Channel
from notifications.rendering import Rendered
from notifications.settings import notifications_settings


class SendFailure(Exception):
    """The provider could not take the message now; the SQS message is retried with backoff."""


class PermanentSendFailure(SendFailure):
    """The provider refused the message for good; the delivery fails without more attempts."""


@dataclass(frozen=True)
class Address:
    """Where one channel reaches the recipient (an email, an E.164 number or a push endpoint ARN)."""

    channel: Channel
    value: str
    unsubscribe_url: str | None = None


def _client_error(error: Exception, channel: Channel) -> SendFailure:
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        permanent = {
            "MessageRejected",
            "InvalidParameter",
            "InvalidParameterValue",
            "EndpointDisabled",
            "BadRequestException",
            "NotFoundException",
        }
        message = f"{channel} refused: {code}"
        return PermanentSendFailure(message) if code in permanent else SendFailure(message)
    return SendFailure(f"{channel} failed: {type(error).__name__}")


def send_email(to: str, message: Rendered, unsubscribe_url: str | None = None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    content: dict[str, object] = {
        "Subject": {"Data": message.subject or "", "Charset": "UTF-8"},
        "Body": {
            "Text": {"Data": message.text, "Charset": "UTF-8"},
            "Html": {"Data": message.html or message.text, "Charset": "UTF-8"},
        },
    }
    if unsubscribe_url:
        # RFC 8058 one-click: mail clients POST to the link without opening a page.
        content["Headers"] = [
            {"Name": "List-Unsubscribe", "Value": f"<{unsubscribe_url}>"},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ]
    try:
        answer = aws.client("sesv2").send_email(
            FromEmailAddress=notifications_settings().sender_email,
            Destination={"ToAddresses": [to]},
            Content={"Simple": content},
        )
    except (ClientError, BotoCoreError) as error:
        raise _client_error(error, Channel.EMAIL) from error
    return str(answer["MessageId"])


def send_sms(phone: str, message: Rendered) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = aws.client("sns").publish(
            PhoneNumber=phone,
            Message=message.text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
    except (ClientError, BotoCoreError) as error:
        raise _client_error(error, Channel.SMS) from error
    return str(answer["MessageId"])


def send_push(endpoint_arn: str, message: Rendered) -> str:
    import json

    from botocore.exceptions import BotoCoreError, ClientError

    notification = {"title": message.subject or "Harambee", "body": message.text}
    payload = {
        "default": message.text,
        "GCM": json.dumps({"notification": notification}),
        "APNS": json.dumps({"aps": {"alert": notification}}),
    }
    try:
        answer = aws.client("sns").publish(
            TargetArn=endpoint_arn, Message=json.dumps(payload), MessageStructure="json"
        )
    except (ClientError, BotoCoreError) as error:
        raise _client_error(error, Channel.PUSH) from error
    return str(answer["MessageId"])


def send(address: Address, message: Rendered) -> str:
    """Send `message` on the address's channel; the provider's message id."""
    match address.channel:
        case Channel.EMAIL:
            return send_email(address.value, message, address.unsubscribe_url)
        case Channel.SMS:
            return send_sms(address.value, message)
        case Channel.WHATSAPP:
            from notifications import whatsapp

            return whatsapp.send_text(address.value, message.text)
        case Channel.PUSH:
            return send_push(address.value, message)
