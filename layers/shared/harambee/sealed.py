"""Sealed values: secrets that must travel inside events (a password reset link) without being
readable by everything that carries or stores them (outbox, stream, bus, queues, DLQs, backups).

Sealed with KMS under MESSAGE_SECRETS_KEY_ID and an encryption context naming the purpose; only a
function whose role may `kms:Decrypt` with that key (notifications) can open one.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from pydantic import BaseModel, ConfigDict

from harambee import aws


class SealedValue(BaseModel):
    """What an event carries instead of the secret: ciphertext, and what it is for."""

    model_config = ConfigDict(frozen=True)

    sealed: str
    purpose: str


def _key_id() -> str:
    key = os.environ.get("MESSAGE_SECRETS_KEY_ID")
    if not key:
        raise RuntimeError("MESSAGE_SECRETS_KEY_ID is not set: this function cannot seal secrets")
    return key


def seal(secret: str, *, purpose: str) -> dict[str, Any]:
    """The sealed form of `secret`, as a plain dict to put into an event's data."""
    answer = aws.client("kms").encrypt(
        KeyId=_key_id(), Plaintext=secret.encode(), EncryptionContext={"purpose": purpose}
    )
    ciphertext = base64.b64encode(answer["CiphertextBlob"]).decode()
    return SealedValue(sealed=ciphertext, purpose=purpose).model_dump()


def unseal(value: dict[str, Any] | SealedValue) -> str:
    """The secret inside a sealed value; KMS refuses if the purpose does not match what was sealed."""
    sealed = value if isinstance(value, SealedValue) else SealedValue.model_validate(value)
    answer = aws.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(sealed.sealed), EncryptionContext={"purpose": sealed.purpose}
    )
    plaintext: bytes = answer["Plaintext"]
    return plaintext.decode()
