"""One print job for all of a map's print outputs: `tilepress step print` with `--svg`,
`--print-pdf` and `--png` writes the screen PDF, the SVG, the CMYK PDF and the PNG from one
read of the source, byte for byte what the single-output builds write, and all or none."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from tests.printing.helpers import Built
from tilepress.cli.commands import main
from tilepress.config.model import MapSpec
from tilepress.printing.sheet import build_print_outputs, build_print_sheet, render_preview
from tilepress.printing.targets import PrintTargets
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable

OUTPUTS = ("m.pdf", "m.svg", "m-print.pdf", "m.png")


def _targets(folder: Path) -> PrintTargets:
    return PrintTargets(
        folder / "m.pdf", folder / "m-print.pdf", folder / "m.svg", folder / "m.png"
    )


def test_one_step_writes_what_the_single_outputs_do(
    spec: MapSpec,
    table: CountryTable,
    reference: Built,
    build: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The workflow's call: the four outputs, each the bytes of its own build."""
    out = tmp_path / "one"
    with caplog.at_level(logging.INFO, logger="tilepress"):
        result = CliRunner().invoke(
            main,
            [
                "step", "print", "--spec", json.dumps(spec.to_dict()), "--out", str(out / "m.pdf"),
                "--svg", str(out / "m.svg"), "--print-pdf", str(out / "m-print.pdf"),
                "--png", str(out / "m.png"),
            ],
        )  # fmt: skip
    logged = [r.getMessage() for r in caplog.records if r.name == "tilepress"]
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == sorted(OUTPUTS)  # no temporaries

    single = tmp_path / "single"
    build_print_sheet(
        spec, table, resolve_highlights(spec, table), single / "m.pdf", svg=single / "m.svg"
    )
    render_preview(single / "m.pdf", single / "m.png")
    cmyk = build(spec, mode="cmyk")
    assert (out / "m.pdf").read_bytes() == reference.pdf.read_bytes()
    assert (out / "m.pdf").read_bytes() == (single / "m.pdf").read_bytes()
    assert (out / "m.svg").read_bytes() == (single / "m.svg").read_bytes()
    assert (out / "m-print.pdf").read_bytes() == cmyk.pdf.read_bytes()
    assert (out / "m.png").read_bytes() == (single / "m.png").read_bytes()

    # The screen PDF has no print boxes, the print PDF its trim and bleed boxes around the
    # same page; the PNG is the screen page at 110 dpi.
    screen, variant = PdfReader(out / "m.pdf").pages[0], PdfReader(out / "m-print.pdf").pages[0]
    assert "/TrimBox" not in screen and "/TrimBox" in variant
    trim = variant.trimbox
    width, height = float(screen.mediabox.width), float(screen.mediabox.height)
    assert (float(trim.width), float(trim.height)) == pytest.approx((width, height))
    assert float(variant.mediabox.width) > width
    with Image.open(out / "m.png") as image:
        assert image.format == "PNG"
        assert abs(image.size[0] - width * 110 / 72) <= 1
        assert abs(image.size[1] - height * 110 / 72) <= 1
    assert sum("hard to tell apart" in line for line in logged) == 1  # each warning once
    assert any(line.endswith("m.png, 110 dpi") for line in logged), logged


def test_the_reports_of_one_job(
    spec: MapSpec, table: CountryTable, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A report per PDF, the screen PDF's first: the same geometry, the variant's larger page."""
    targets = _targets(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tilepress"):
        screen, variant = build_print_outputs(spec, table, resolve_highlights(spec, table), targets)
    assert (screen.mode, screen.pdf, screen.svg, screen.png) == (
        "rgb", targets.pdf, targets.svg, targets.png,
    )  # fmt: skip
    assert (variant.mode, variant.pdf, variant.svg, variant.png) == (
        "cmyk", targets.print_pdf, None, None,
    )  # fmt: skip
    assert (screen.vertices, screen.polygons, screen.labels, screen.markers) == (
        variant.vertices, variant.polygons, variant.labels, variant.markers,
    )  # fmt: skip
    assert screen.warnings == variant.warnings and screen.warnings
    warned = [r.getMessage() for r in caplog.records if r.name == "tilepress"]
    assert warned == screen.warnings  # logged once, not once per PDF
    assert variant.page_size[0] > screen.page_size[0]
    assert screen.file_size == targets.pdf.stat().st_size  # type: ignore[union-attr]
    assert variant.file_size == targets.print_pdf.stat().st_size  # type: ignore[union-attr]


def test_a_failed_job_writes_none_of_its_outputs(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    """The PNG cannot be written (its folder is a file): the PDFs and the SVG, made already,
    are not put in place either, and no temporary file is left."""
    out = tmp_path / "out"
    out.mkdir()
    for name in OUTPUTS[:3]:
        (out / name).write_bytes(b"the previous build")
    (tmp_path / "blocked").write_bytes(b"a file, not a folder")
    targets = PrintTargets(
        out / "m.pdf", out / "m-print.pdf", out / "m.svg", tmp_path / "blocked" / "m.png"
    )
    with pytest.raises(OSError):
        build_print_outputs(spec, table, resolve_highlights(spec, table), targets)
    assert sorted(path.name for path in out.iterdir()) == sorted(OUTPUTS[:3])
    assert all((out / name).read_bytes() == b"the previous build" for name in OUTPUTS[:3])


def test_the_png_and_the_print_pdf_go_with_the_screen_pdf(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    spec_json = json.dumps(spec.to_dict())
    for extra in (["--png", str(tmp_path / "m.png")], ["--print-pdf", str(tmp_path / "p.pdf")]):
        result = CliRunner().invoke(
            main,
            ["step", "print", "--spec", spec_json, "--out", str(tmp_path / "m.pdf"), "--mode",
             "cmyk", *extra],
        )  # fmt: skip
        assert result.exit_code == 2 and "not --mode cmyk" in result.output, result.output
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="screen PDF"):
        build_print_outputs(
            spec,
            table,
            resolve_highlights(spec, table),
            PrintTargets(print_pdf=tmp_path / "p.pdf", png=tmp_path / "m.png"),
        )
