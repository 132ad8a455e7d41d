"""A password hasher that counts how often a password is hashed (tests only).

Every hash — checking a password, setting one, and the dummy hash that hides whether
an account exists — goes through ``encode``. The count is kept in this process and,
when ``HEEDED_TEST_HASH_LOG`` names a file, one line per hash is appended there, so
a test can count the hashes of several web processes at once.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.contrib.auth.hashers import MD5PasswordHasher

_lock = threading.Lock()
_count = 0


def hashes() -> int:
    """How many passwords this process has hashed so far."""
    return _count


class CountingMD5PasswordHasher(MD5PasswordHasher):
    """MD5 (fast, tests only) with a count of every hash computed."""

    def encode(self, password: str, salt: str, *args: Any, **kwargs: Any) -> str:
        global _count
        with _lock:
            _count += 1
        log = os.environ.get("HEEDED_TEST_HASH_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as out:
                out.write(f"{os.getpid()}\n")
        return super().encode(password, salt, *args, **kwargs)
