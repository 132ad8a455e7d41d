"""Read the PPM (P6) images pdftoppm writes: no imaging library needed."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Image:
    width: int
    height: int
    data: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = 3 * (y * self.width + x)
        return self.data[i], self.data[i + 1], self.data[i + 2]

    def count_near(self, colour: str, box: tuple[int, int, int, int] | None = None) -> int:
        """Pixels within 24 of ``colour`` (#rrggbb) per channel, inside ``box`` (x0, y0, x1, y1)."""
        want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        x0, y0, x1, y1 = box or (0, 0, self.width, self.height)
        found = 0
        for y in range(y0, y1):
            row = self.data[3 * (y * self.width + x0) : 3 * (y * self.width + x1)]
            for i in range(0, len(row), 3):
                if all(abs(row[i + c] - want[c]) <= 24 for c in range(3)):
                    found += 1
        return found

    def widest_row(self, colours: list[str], box: tuple[int, int, int, int] | None = None) -> int:
        """The most pixels near any of ``colours`` that one row of ``box`` holds: the
        length in pixels of a horizontal bar drawn in those colours."""
        wants = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in colours]
        x0, y0, x1, y1 = box or (0, 0, self.width, self.height)
        best = 0
        for y in range(y0, y1):
            row = self.data[3 * (y * self.width + x0) : 3 * (y * self.width + x1)]
            found = sum(
                1
                for i in range(0, len(row), 3)
                if any(all(abs(row[i + c] - want[c]) <= 24 for c in range(3)) for want in wants)
            )
            best = max(best, found)
        return best

    def colours(self) -> Counter[tuple[int, int, int]]:
        return Counter(self.pixel(x, y) for y in range(self.height) for x in range(self.width))


def read_ppm(path: Path) -> Image:
    raw = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            pos = raw.index(b"\n", pos) + 1
            continue
        end = pos
        while not raw[end : end + 1].isspace():
            end += 1
        fields.append(raw[pos:end])
        pos = end
    magic, width, height, maxval = fields
    if magic != b"P6" or maxval != b"255":
        raise ValueError(f"not an 8-bit P6 image: {magic!r} {maxval!r}")
    w, h = int(width), int(height)
    data = raw[pos + 1 : pos + 1 + 3 * w * h]
    if len(data) != 3 * w * h:
        raise ValueError("truncated image")
    return Image(w, h, data)


def rasterise_first_page(pdftoppm: str, pdf: Path, *, dpi: int = 50) -> Image:
    prefix = pdf.with_suffix("")
    subprocess.run(
        [pdftoppm, "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
        check=True,
        capture_output=True,
    )
    return read_ppm(prefix.with_suffix(".ppm"))
