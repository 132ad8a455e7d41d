"""Secrets and evidence at rest as Fernet tokens: raw e-mails, form submissions,
uploaded sheets waiting for their import, second-factor secrets.

Keys come from ``settings.HEEDED_ENCRYPTION_KEYS``, newest first. Encryption always
uses the newest key; decryption tries every key, so an old key stays listed until
``heeded keys rotate`` has re-encrypted everything with the new one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "rotate"]


def fernet() -> MultiFernet:
    """Every configured key, newest first: encrypts with the newest, decrypts with any."""
    keys = settings.HEEDED_ENCRYPTION_KEYS
    if not keys:
        raise RuntimeError("HEEDED_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(data: bytes) -> bytes:
    """A Fernet token of ``data`` under the newest key."""
    return fernet().encrypt(bytes(data))


def decrypt(token: bytes) -> bytes:
    """The plain bytes of a token made with any configured key; raises InvalidToken."""
    return fernet().decrypt(bytes(token))


def rotate(token: bytes) -> bytes:
    """The same plain bytes re-encrypted under the newest key (original timestamp kept)."""
    return fernet().rotate(bytes(token))
