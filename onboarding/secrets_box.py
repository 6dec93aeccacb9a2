"""Encryption at rest for secrets PartnerHub must show once later (a provisioned integration key).

The key is derived from ``SECRET_KEY`` with HKDF, so rotating ``SECRET_KEY`` makes unrevealed secrets
unreadable (they can be re-issued) rather than exposing them.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"partnerhub.secrets-box", info=b"v1").derive(
        settings.SECRET_KEY.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(token: str) -> str | None:
    """The plaintext, or None when the secret cannot be read (tampered, or SECRET_KEY rotated)."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
