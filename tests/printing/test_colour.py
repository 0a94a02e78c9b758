"""Colours: the colour-blind check of neighbouring highlight groups, and its CIEDE2000 and
colour-vision-deficiency matrices against their published reference values."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from tests.printing.helpers import Built
from tilepress.config.model import MapSpec
from tilepress.printing.color import _MACHADO, colour_blind_difference, delta_e2000
from tilepress.printing.sheet import build_print_sheet
from tilepress.sources.highlights import resolve_highlights
from tilepress.sources.table import CountryTable


def test_red_next_to_orange_warns_without_changing_colours(
    spec: MapSpec,
    table: CountryTable,
    reference: Built,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    warnings = [w for w in reference.report.warnings if "colour-blind" in w]
    assert len(warnings) == 1
    assert "'Russia'" in warnings[0] and "'North Korea'" in warnings[0]
    assert "'Ukraine'" not in warnings[0]
    with caplog.at_level(logging.WARNING, logger="tilepress"):
        build_print_sheet(spec, table, resolve_highlights(spec, table), tmp_path / "w.pdf")
    assert any("North Korea" in r.getMessage() and r.name == "tilepress" for r in caplog.records)
    _name, difference = colour_blind_difference("#d62828", "#f28e1c")
    assert difference < 20
    _name, difference = colour_blind_difference("#1f5fbf", "#d62828")
    assert difference > 20


def test_no_warning_for_distinct_neighbours(
    spec: MapSpec, table: CountryTable, tmp_path: Path
) -> None:
    groups = (
        spec.highlight[0],
        dataclasses.replace(spec.highlight[1], color="#d62828"),
        dataclasses.replace(spec.highlight[2], color="#1f5fbf"),
    )
    variant = dataclasses.replace(spec, highlight=groups)
    report = build_print_sheet(
        variant, table, resolve_highlights(variant, table), tmp_path / "ok.pdf"
    )
    assert not [w for w in report.warnings if "colour-blind" in w]


# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Color Research & Application 30(1),
# 21-30, Table 1: 34 pairs of CIELAB colours with their CIEDE2000 difference to 4 decimals
# (also http://www2.ece.rochester.edu/~gsharma/ciede2000/dataNprograms/ciede2000testdata.txt;
# copied from the public copy in github.com/sumtype/CIEDE2000, tests.py). Pairs 7-16 test the
# hue angle's discontinuities, 17-24 the lightness and chroma weights, 25-34 real samples.
SHARMA_PAIRS = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(
    ("lab1", "lab2", "published"),
    SHARMA_PAIRS,
    ids=[f"pair-{number}" for number in range(1, len(SHARMA_PAIRS) + 1)],
)
def test_ciede2000_matches_sharma_wu_dalal(
    lab1: tuple[float, float, float], lab2: tuple[float, float, float], published: float
) -> None:
    forward = delta_e2000(np.array(lab1), np.array(lab2))
    backward = delta_e2000(np.array(lab2), np.array(lab1))
    assert forward == pytest.approx(published, abs=5e-5)  # rounds to the published 4 decimals
    assert backward == pytest.approx(forward, abs=1e-9)  # the formula is symmetric


def test_sharma_wu_dalal_has_all_34_pairs() -> None:
    assert len(SHARMA_PAIRS) == 34
    assert len({(lab1, lab2) for lab1, lab2, _published in SHARMA_PAIRS}) == 34


# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color
# vision deficiency", IEEE Transactions on Visualization and Computer Graphics 15(6), 1291-1298
# (doi:10.1109/TVCG.2009.113): the authors' precomputed matrices for severity 1.0, on linear
# RGB, published with the paper at
# https://www.inf.ufrgs.br/~oliveira/pubs_files/CVD_Simulation/CVD_Simulation.html; copied from
# the public copy in github.com/colour-science/colour, colour/blindness/datasets/machado2010.py.
MACHADO_SEVERITY_1 = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def test_colour_vision_matrices_are_machados_severity_1() -> None:
    # The check simulates the two red-green deficiencies only: tritanopia is not simulated (if
    # it is added, this set changes and its matrix is checked like the others).
    assert set(_MACHADO) == {"protanopia", "deuteranopia"}
    for name, matrix in _MACHADO.items():
        assert matrix.shape == (3, 3), name
        np.testing.assert_array_equal(matrix, np.array(MACHADO_SEVERITY_1[name]), err_msg=name)
