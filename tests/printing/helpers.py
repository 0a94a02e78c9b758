"""What the print-stage tests share: reading the built PDFs (text, paths, boxes, fonts, pixels)
and finding the external tools they run, which skip a test when missing except under CI
(``CI=true``), where they fail it."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.support.servers import in_ci
from tilepress.config.model import MapSpec
from tilepress.printing.sheet import PrintReport

KYIV = (30.52, 50.45)  # a marker of the reference map (a square)
WESTERN_UKRAINE = (26.0, 49.5)  # Ukraine, away from its label and markers
MID_ATLANTIC = (-35.0, 15.0)
NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
MM = 72 / 25.4
POPPLER = "apt-get install poppler-utils"
TOOLS = {
    "pdffonts": POPPLER,
    "pdfinfo": POPPLER,
    "pdftoppm": POPPLER,
    "qpdf": "apt-get install qpdf",
}


@dataclasses.dataclass
class Built:
    """A built sheet with what the tests read from it."""

    spec: MapSpec
    report: PrintReport
    pdf: Path


def missing(message: str) -> NoReturn:
    """Skip the test for want of something outside Python; fail it under CI."""
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def tool(name: str) -> str:
    """The path of a command-line tool the test runs (skip, or fail under CI, without it)."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not found: {TOOLS[name]}")
    return path


def needed_file(path: Path, install: str) -> Path:
    """A file the test needs (a font), or skip (fail under CI) saying how to install it."""
    if not path.is_file():
        missing(f"{path} not found: {install}")
    return path


def plain(text: str) -> str:
    return " ".join(text.split())


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def close(pixel: tuple[int, ...], color: str, tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], hex_to_rgb(color), strict=True))


def subpaths(curve: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Split a pdfplumber curve's path into its subpaths (lists of points)."""
    pieces: list[list[tuple[float, float]]] = []
    for operator, *points in curve["path"]:
        if operator == "m":
            pieces.append([])
        if pieces:
            pieces[-1].extend(points)
    return pieces


def legend_swatches(page: Any) -> list[dict[str, Any]]:
    """The small filled, unstroked rectangles of a pdfplumber page: the legend's swatches."""
    return [
        r
        for r in page.rects
        if r["fill"] and not r["stroke"] and r["width"] < 40 and r["height"] < 20
    ]


def pdf_boxes(pdf: Path) -> dict[str, tuple[float, ...]]:
    """``pdfinfo -box`` as {name: (x0, y0, x1, y1)}."""
    output = subprocess.run(
        [tool("pdfinfo"), "-box", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    return {
        m.group(1): tuple(float(v) for v in m.group(2).split())
        for m in re.finditer(r"^(\w+Box):\s+([\d.\s]+)$", output, re.MULTILINE)
    }


def all_fonts_embedded(pdf: Path) -> list[str]:
    """Font names from pdffonts, asserting each is embedded and subsetted."""
    rows = subprocess.run(
        [tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    names = []
    for row in rows:
        flags = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s", row)
        assert flags is not None and flags.group(1) == "yes" and flags.group(2) == "yes", row
        names.append(row.split()[0])
    return names


@dataclasses.dataclass
class Render:
    """Page 1 of a PDF rendered by pdfium: pixels, and page points to pixels."""

    image: Any  # (rows, columns, 3) uint8
    scale: float  # pixels per point
    height: float  # the page's height, pt

    def at(self, x: float, y: float) -> tuple[int, ...]:
        """The pixel at a page point (pt from the lower left corner)."""
        row, column = int((self.height - y) * self.scale), int(x * self.scale)
        return tuple(int(v) for v in self.image[row, column])

    def row(self, x0: float, x1: float, y: float) -> list[tuple[int, ...]]:
        """The pixels along a horizontal line of the page, from x0 to x1 (pt)."""
        row = int((self.height - y) * self.scale)
        columns = range(int(x0 * self.scale), int(x1 * self.scale))
        return [tuple(int(v) for v in self.image[row, c]) for c in columns]

    def box(self, box: tuple[float, float, float, float]) -> Any:
        """The pixels inside a page box (x0, y0, x1, y1 in pt), as an (n, 3) array."""
        x0, y0, x1, y1 = box
        rows = slice(int((self.height - y1) * self.scale) + 1, int((self.height - y0) * self.scale))
        columns = slice(int(x0 * self.scale) + 1, int(x1 * self.scale))
        return self.image[rows, columns].reshape(-1, 3)


def render(pdf: Path, scale: float = 4.0) -> Render:
    """Render page 1 of ``pdf`` with pdfium at ``scale`` pixels per point."""
    import numpy as np
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[0]
        height = float(page.get_size()[1])
        image = np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
    finally:
        document.close()
    return Render(image, scale, height)


def alternations(
    pixels: list[tuple[int, ...]], first: str, second: str, tolerance: int = 40
) -> int:
    """How often a line of pixels changes between ``first`` and ``second`` (anti-aliased
    pixels between them, close to neither, are skipped)."""
    kinds = []
    for pixel in pixels:
        kind = 1 if close(pixel, first, tolerance) else 2 if close(pixel, second, tolerance) else 0
        if kind and (not kinds or kinds[-1] != kind):
            kinds.append(kind)
    return len(kinds) - 1 if kinds else 0


def holds(pixels: Any, color: str, tolerance: int = 40) -> bool:
    """Whether an (n, 3) array of pixels has one close to ``color``."""
    import numpy as np

    target = np.array(hex_to_rgb(color))
    return bool((np.abs(pixels.astype(int) - target).max(axis=1) <= tolerance).any())
