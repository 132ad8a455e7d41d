"""The worker's heartbeat: when a worker last went round its loop.

Kept in the default cache (the database cache unless configured otherwise), which
every web process and worker shares, so ``/healthz`` on any node can tell how long
ago *some* worker was alive. Written at most every ``BEAT_EVERY`` seconds.
"""

from __future__ import annotations

import time

from django.core.cache import cache

KEY = "heeded:worker-heartbeat"
BEAT_EVERY = 15  # seconds
# Kept well past any sensible alarm, so a dead worker shows as stale, not as absent.
_KEEP = 7 * 24 * 3600


def beat(worker: str, now: float | None = None) -> None:
    """Record that ``worker`` is alive at ``now`` (Unix time)."""
    cache.set(KEY, {"at": time.time() if now is None else now, "worker": worker[:100]}, _KEEP)


def last_beat() -> float | None:
    """Unix time of the latest heartbeat of any worker, or None if none was ever seen."""
    value = cache.get(KEY)
    if isinstance(value, dict) and isinstance(value.get("at"), int | float):
        return float(value["at"])
    return None
