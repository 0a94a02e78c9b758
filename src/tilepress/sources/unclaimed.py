"""Land no country holds: the holes in the union of a source's countries that are land, not
water (Abyei between Sudan and South Sudan in the embedded data), added to its country table
as rows of their own so that every map draws them as land, in a neutral style.

A hole of the union is land unless it is larger than ``ENCLOSED_SEA_KM2`` (the Caspian Sea,
397,000 km2, is the only such hole in Natural Earth 10m); holes smaller than
``SLIVER_KM2`` are slivers between neighbours' outlines and are left alone.
"""

from __future__ import annotations

from tilepress.config.model import Pattern

UNCLAIMED_CODE = "XNC"  # the rows' code: no ISO or Natural Earth code is XNC
UNCLAIMED_NAME = "No country"
UNCLAIMED_LEGEND = "No country / disputed"
UNCLAIMED_COLOR = "#efece5"
UNCLAIMED_PATTERN = Pattern("hatch", color="#a8a293", width=0.5, spacing=3.0)
ENCLOSED_SEA_KM2 = 100_000.0
SLIVER_KM2 = 100.0
