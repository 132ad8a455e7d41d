from __future__ import annotations

import io

from lib.progress import Progress, line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_says_done_total_rate_and_time_left() -> None:
    assert line("import", 2500, 10000, 2.0) == (
        "import: 2,500/10,000 rows (25%), 1,250 rows/s, 6s left"
    )
    assert line("import", 10000, 10000, 4.0) == "import: 10,000/10,000 rows (100%), 2,500 rows/s"
    assert line("import", 1, 100_000, 1.0).endswith("27h46m left")


def test_it_stays_quiet_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, "import")
    progress.update(5, 10)
    progress.update(10, 10)
    progress.finish()
    assert stream.getvalue() == ""


def test_on_a_terminal_it_redraws_one_line_and_clears_it() -> None:
    ticks = iter([0.0, 1.0, 1.05, 2.0])
    stream = _Terminal()
    progress = Progress(stream, "import", clock=lambda: next(ticks))
    progress.update(100, 200)  # drawn at 1.0
    progress.update(150, 200)  # 0.05 s later: skipped
    progress.update(200, 200)  # the last one is always drawn
    progress.finish()
    out = stream.getvalue()
    assert out.count("\r") == 4
    assert "import: 100/200 rows (50%), 100 rows/s, 1s left" in out
    assert "150/200" not in out
    assert "import: 200/200 rows (100%), 100 rows/s" in out
    assert out.endswith("\r")
