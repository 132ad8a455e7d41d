"""Secrets that are never stored: an e-mail that carries an answer link or a portal
sign-in link is queued with a placeholder, and the worker puts the real token in only
when it hands the message to the mail server.

A token is derived from a random nonce (stored) and the installation's secret key
(``HEEDED_SECRET_KEY``, which lives only in the environment): whoever reads the
database or a backup finds the nonce and the SHA-256 of the token, from neither of
which the token can be made. The link checks a presented token by its SHA-256, as
before, so delivered links keep working whatever happens to the key; only a message
still waiting in the outbox when the key changes would carry a link that no longer
matches (the contact asks for a fresh one from the expired-link page).
"""

from __future__ import annotations

import base64
import re
import secrets

from django.utils.crypto import salted_hmac

PLACEHOLDER = re.compile(
    r"\[\[heeded-token:(?P<purpose>[a-z][a-z-]{0,30}):(?P<nonce>[0-9a-f]{32})\]\]"
)


def new_nonce() -> str:
    """A fresh random nonce (128 bits, hex)."""
    return secrets.token_hex(16)


def token_for(purpose: str, nonce: str) -> str:
    """The token ``nonce`` stands for: HMAC-SHA256 under the secret key, base64url."""
    mac = salted_hmac(f"heeded.sealed.{purpose}", nonce, algorithm="sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def placeholder(purpose: str, nonce: str) -> str:
    """What a queued message holds where the token will go."""
    return f"[[heeded-token:{purpose}:{nonce}]]"


def expand(text: str) -> str:
    """``text`` with every placeholder replaced by its token (done at delivery)."""
    return PLACEHOLDER.sub(lambda m: token_for(m["purpose"], m["nonce"]), text)
