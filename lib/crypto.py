"""Secrets and evidence at rest as Fernet tokens: raw e-mails, form submissions,
uploaded sheets waiting for their import, second-factor secrets.

Keys come from ``settings.HEEDED_ENCRYPTION_KEYS``, newest first. Encryption always
uses the newest key; decryption tries every key, so an old key stays listed until
``heeded keys rotate`` has re-encrypted everything with the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "reseal_rows", "rotate"]


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


def reseal_rows(
    rows: Any, field: str, reseal: Callable[[Any], Any | None], *, batch: int = 200
) -> int:
    """Re-encrypt one column of every row of the queryset ``rows`` (``heeded keys
    rotate``), in pk order, a batch per transaction with the rows locked: ``reseal``
    maps a stored value to its new value, or None to leave the row alone. Returns how
    many rows changed. Raises ``InvalidToken`` (and stops; batches already done stay
    done) at a value sealed with a key no longer configured."""
    done = 0
    last = 0
    while True:
        with transaction.atomic(using=rows.db):
            chunk = list(
                rows.select_for_update()
                .filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", field)[:batch]
            )
            for pk, value in chunk:
                fresh = reseal(value)
                if fresh is not None:
                    rows.filter(pk=pk).update(**{field: fresh})
                    done += 1
        if not chunk:
            return done
        last = chunk[-1][0]
