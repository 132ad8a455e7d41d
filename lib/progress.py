"""A progress line for long work on a terminal: done/total, rate and time left.

Quiet when the stream is not a terminal (a pipe, a log file, cron), so scripted runs
see only the command's own output. The line is redrawn in place at most a few times
a second and cleared by ``finish``, so what the command prints next starts clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any

# Redraw at most this often (seconds): a terminal line is cheap, not free.
INTERVAL = 0.2


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def line(label: str, done: int, total: int, elapsed: float, unit: str = "rows") -> str:
    """``import: 2,500/10,000 rows (25%), 1,234 rows/s, 6s left``."""
    rate = done / elapsed if elapsed > 0 else 0.0
    share = f" ({done * 100 // total}%)" if total else ""
    text = f"{label}: {done:,}/{total:,} {unit}{share}"
    if rate > 0:
        text += f", {rate:,.0f} {unit}/s"
        if done < total:
            text += f", {_duration((total - done) / rate)} left"
    return text


class Progress:
    """``update(done, total)`` as work goes on, ``finish()`` at the end."""

    def __init__(
        self,
        stream: IO[str] | Any,
        label: str,
        *,
        unit: str = "rows",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.stream = stream
        self.label = label
        self.unit = unit
        self.clock = clock
        self.start = clock()
        self.drawn = 0.0
        self.width = 0

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if done < total and now - self.drawn < INTERVAL:
            return
        self.drawn = now
        text = line(self.label, done, total, now - self.start, self.unit)
        self._draw(text.ljust(self.width))
        self.width = len(text)

    def finish(self) -> None:
        if self.enabled and self.width:
            self._draw(" " * self.width)
            self._draw("")
            self.width = 0

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text)
        self.stream.flush()
