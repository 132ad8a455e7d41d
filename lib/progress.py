"""Progress of long work on a terminal: done/total, rate and time left.

Long commands (backup, restore, the demo load, the tracker import, ``bench generate``)
take a ``Progress`` and call ``advance`` as they go. On a terminal it redraws one line
at most every ``interval`` seconds; on anything else (a pipe, a log file, cron, a test)
it writes nothing, so the output a script reads is unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol


class _Stream(Protocol):
    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...

    def isatty(self) -> bool: ...


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: short enough for one status line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def status_line(label: str, done: int, total: int | None, elapsed: float, unit: str) -> str:
    """The line a terminal shows, e.g. ``rows: 12,000/50,000 (24%), 8,000 rows/s, 5s left``."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [f"{label}: {done:,}"]
    if total:
        parts[0] += f"/{total:,} ({min(done, total) * 100 // total}%)"
    parts.append(f"{rate:,.0f} {unit}/s")
    if total and rate > 0 and done < total:
        parts.append(f"{_duration((total - done) / rate)} left")
    elif total and done >= total:
        parts.append(f"done in {_duration(elapsed)}")
    return ", ".join(parts)


class Progress:
    """Counts work done and shows it on ``stream`` when that is a terminal.

    ``total`` may be unknown (None) or raised later with ``add_total``; the line then
    shows what is known. Use it as a context manager so the line is finished with a
    newline however the work ends.
    """

    def __init__(
        self,
        stream: _Stream | None,
        label: str,
        total: int | None = None,
        *,
        unit: str = "rows",
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self._stream = stream if stream is not None and _is_terminal(stream) else None
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._shown_at: float | None = None
        self._width = 0

    @property
    def shown(self) -> bool:
        """Whether anything is drawn at all (only on a terminal)."""
        return self._stream is not None

    def add_total(self, n: int) -> None:
        self.total = (self.total or 0) + n

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._stream is None:
            return
        now = self._clock()
        if self._shown_at is None or now - self._shown_at >= self._interval:
            self._draw(now)

    def close(self) -> None:
        """Draw the final figures and end the line."""
        if self._stream is None:
            return
        self._draw(self._clock())
        self._stream.write("\n")
        self._stream.flush()
        self._stream = None

    def _draw(self, now: float) -> None:
        assert self._stream is not None
        line = status_line(self.label, self.done, self.total, now - self._start, self.unit)
        # Pad over a longer previous line, then return to the start of the line.
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)
        self._shown_at = now

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: _Stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file at all
        return False


def silent() -> Progress:
    """A progress that shows nothing: the default of functions that take one."""
    return Progress(None, "")
