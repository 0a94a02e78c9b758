"""Fixtures of the print-stage tests: the reference map's spec and countries, read once, and
sheets built from spec variants, each built once for the whole package."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Literal

import pdfplumber
import pytest

from tests.conftest import REFERENCE_CONFIG
from tests.printing.helpers import Built
from tilepress.config.model import MapSpec
from tilepress.printing.sheet import build_print_sheet
from tilepress.project import load_config
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable, read_countries


@pytest.fixture(scope="package")
def spec() -> MapSpec:
    return load_config(REFERENCE_CONFIG).maps[0]


@pytest.fixture(scope="package")
def table(spec: MapSpec) -> CountryTable:
    return read_countries(spec.source)


@pytest.fixture(scope="package")
def build(table: CountryTable, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A function building a spec variant, once per package unless ``fresh`` is asked for."""
    folder = tmp_path_factory.mktemp("sheets")
    cache: dict[tuple[str, str], Built] = {}
    numbers = itertools.count()

    def run(variant: MapSpec, mode: Literal["rgb", "cmyk"] = "rgb", fresh: bool = False) -> Built:
        key = (repr(variant), mode)
        if fresh or key not in cache:
            path = folder / f"sheet-{next(numbers)}.pdf"
            report = build_print_sheet(
                variant, table, resolve_highlights(variant, table), path, mode=mode
            )
            if fresh:
                return Built(variant, report, path)
            cache[key] = Built(variant, report, path)
        return cache[key]

    return run


@pytest.fixture(scope="package")
def reference(spec: MapSpec, build: Any) -> Built:
    built: Built = build(spec)
    return built


@pytest.fixture(scope="package")
def page(reference: Built) -> Iterator[Any]:
    with pdfplumber.open(reference.pdf) as pdf:
        yield pdf.pages[0]
