"""Progress lines: drawn on a terminal only, with done/total, rate and time left."""

from __future__ import annotations

import io

import pytest

from lib.progress import Progress, status_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_says_done_total_rate_and_time_left() -> None:
    assert status_line("import", 12_000, 50_000, 1.5, "rows") == (
        "import: 12,000/50,000 (24%), 8,000 rows/s, 5s left"
    )
    assert status_line("restore", 3_600, 3_600, 125.0, "rows") == (
        "restore: 3,600/3,600 (100%), 29 rows/s, done in 2m05s"
    )
    # An unknown total shows what is known, never a guess.
    assert status_line("backup", 7, None, 0.0, "rows") == "backup: 7, 0 rows/s"
    assert "1h23m left" in status_line("generate", 1_000, 4_981_000, 1.0, "rows")


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(out, "backup", 10) as progress:
        for _ in range(10):
            progress.advance()
    assert progress.done == 10
    assert not progress.shown
    assert out.getvalue() == ""


def test_a_closed_or_odd_stream_counts_as_no_terminal() -> None:
    closed = io.StringIO()
    closed.close()
    assert not Progress(closed, "x").shown
    assert not Progress(None, "x").shown


def test_on_a_terminal_it_redraws_one_line_at_most_every_interval() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress(out, "restore", 1_000, clock=clock, interval=0.5)
    progress.advance(100)  # first draw at once
    clock.now += 0.1
    progress.advance(100)  # too soon: not drawn
    clock.now += 0.5
    progress.advance(300)
    progress.close()
    drawn = out.getvalue()
    assert drawn.count("\r") == 3  # two redraws and the final one
    assert drawn.endswith("\n")
    lines = drawn.rstrip("\n").split("\r")[1:]
    assert lines[0].startswith("restore: 100/1,000 (10%)")
    assert lines[1].startswith("restore: 500/1,000 (50%)")
    assert "left" in lines[1]
    # The last line pads over nothing longer and ends the line once.
    progress.close()
    assert out.getvalue() == drawn


def test_a_shorter_line_covers_the_longer_one_before_it() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress(out, "x", None, clock=clock, interval=0)
    clock.now += 1
    progress.advance(123_456_789)
    clock.now += 1_000_000
    progress.advance(1)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) >= len(first)


def test_the_line_is_ended_when_the_work_fails() -> None:
    out = Terminal()
    with pytest.raises(RuntimeError), Progress(out, "import", 5) as progress:
        progress.advance()
        raise RuntimeError("boom")
    assert out.getvalue().endswith("\n")
