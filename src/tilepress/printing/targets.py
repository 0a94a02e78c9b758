"""Which print outputs of a map to write, and where (kept light: ``tilepress step print``
reads its options into it before the drawing modules are imported)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tilepress.printing.preview import PREVIEW_DPI


@dataclass(frozen=True)
class PrintTargets:
    """The files of one map's print outputs; None leaves that output out. The SVG is drawn
    with the screen PDF (with the print PDF where there is none), the PNG is the screen PDF's
    page at ``dpi``."""

    pdf: Path | None = None  # the screen PDF (RGB)
    print_pdf: Path | None = None  # the print variant (CMYK, crop marks, bleed)
    svg: Path | None = None
    png: Path | None = None
    dpi: int = PREVIEW_DPI

    @property
    def modes(self) -> list[Literal["rgb", "cmyk"]]:
        """The colour modes of the PDFs asked for, in the order they are drawn."""
        modes: list[Literal["rgb", "cmyk"]] = []
        if self.pdf is not None:
            modes.append("rgb")
        if self.print_pdf is not None:
            modes.append("cmyk")
        return modes

    def pdf_of(self, mode: Literal["rgb", "cmyk"]) -> Path:
        """The PDF of a colour mode."""
        pdf = self.pdf if mode == "rgb" else self.print_pdf
        if pdf is None:
            raise ValueError(f"no {mode} PDF asked for")
        return pdf
