"""The map's text alternative on paper: the Subject of the screen and the CMYK PDF, and the
SVG's ``<desc>`` (with the credit line after it); a configured description is used as
written, and the caption stays on the page."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pdfplumber
import pypdf
import pytest

from tests.printing.helpers import Built, plain
from tests.sources.test_description import REFERENCE_TEXT
from tilepress.config.model import MapSpec
from tilepress.printing.sheet import build_print_sheet, credit_line
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable

SVG = {"s": "http://www.w3.org/2000/svg"}
WRITTEN = "Northern Europe from 9° to 33° east, with Ukraine and Russia highlighted in colour."


def metadata(built: Built) -> Any:
    meta = pypdf.PdfReader(built.pdf).metadata
    assert meta is not None
    return meta


@pytest.mark.parametrize("mode", ["rgb", "cmyk"])
def test_pdf_subject_is_the_written_description(spec: MapSpec, build: Any, mode: str) -> None:
    built: Built = build(spec, mode=mode)
    meta = metadata(built)
    assert (meta.title, meta.subject) == (spec.title, REFERENCE_TEXT)
    with pdfplumber.open(built.pdf) as pdf:  # the caption is printed as before
        assert plain(spec.caption) in plain(pdf.pages[0].extract_text())


@pytest.fixture(scope="module")
def described(spec: MapSpec) -> MapSpec:
    """A regional map (quick to build) with a configured description."""
    return dataclasses.replace(spec, extent=(9.0, 50.0, 33.0, 61.0), description=WRITTEN)


def test_configured_description_in_the_screen_pdf_and_the_svg(
    described: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    svg = tmp_path / "map.svg"
    report = build_print_sheet(
        described, table, resolve_highlights(described, table), tmp_path / "m.pdf", svg=svg
    )
    assert metadata(Built(described, report, report.pdf)).subject == WRITTEN
    root = ET.parse(svg).getroot()  # noqa: S314 - our own file
    assert root.findtext("s:title", namespaces=SVG) == described.title
    credit = credit_line(described, report.projection_name)
    assert root.findtext("s:desc", namespaces=SVG) == f"{WRITTEN}\n{credit}"


def test_configured_description_in_the_cmyk_pdf(described: MapSpec, build: Any) -> None:
    assert metadata(build(described, mode="cmyk")).subject == WRITTEN
