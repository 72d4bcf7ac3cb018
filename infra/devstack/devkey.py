"""The local stack's JWT signing key: created once, kept in .devstack/, published to SSM like production.

Keeping it on disk means access tokens minted before a restart still verify after it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.template import ROOT

KEY_PATH = ROOT / ".devstack" / "dev-signing-key.json"
KEY_ID = "harambee-local-1"


@dataclass(frozen=True)
class DevKey:
    """The private JWK (SSM SecureString) and the public JWKS (SSM String) of the dev signing key."""

    private_jwk: dict[str, Any]
    jwks: dict[str, Any]

    def signing_key(self) -> Any:
        """identity.signing's SigningKey for this key, to mint tokens the stack's authorizer accepts."""
        from identity import signing

        loader = getattr(signing, "load_signing_key", None) or getattr(
            signing.SigningKey, "from_private_jwk", None
        )
        if loader is not None:
            return loader(self.private_jwk)
        return signing.SigningKey(private_jwk=self.private_jwk, jwks=self.jwks)


def load_or_create(path: Path = KEY_PATH) -> DevKey:
    """The key saved at `path`, or a new one from identity.signing (saved there for the next start)."""
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        return DevKey(private_jwk=saved["private_jwk"], jwks=saved["jwks"])
    from identity.signing import generate_signing_key

    generated = generate_signing_key(KEY_ID)
    key = DevKey(private_jwk=dict(generated.private_jwk), jwks=dict(generated.jwks))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created owner-only, never briefly readable by others under a permissive umask.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"private_jwk": key.private_jwk, "jwks": key.jwks}, handle, indent=2)
    return key


def publish(ssm: Any, secrets_prefix: str, key: DevKey) -> None:
    """Put the key where identity (signing) and the authorizer (JWKS) read it."""
    prefix = secrets_prefix.rstrip("/")
    ssm.put_parameter(Name=f"{prefix}/jwt/jwks", Value=json.dumps(key.jwks), Type="String", Overwrite=True)
    ssm.put_parameter(
        Name=f"{prefix}/jwt/signing-key",
        Value=json.dumps(key.private_jwk),
        Type="SecureString",
        Overwrite=True,
    )
