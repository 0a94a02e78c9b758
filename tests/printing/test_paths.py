"""Page paths of the print map: straight vertices dropped, shared borders and junctions kept."""

from __future__ import annotations

import numpy as np
import shapely

from tilepress.geometry.rings import rings_of
from tilepress.printing.paths import drop_straight


def test_straight_vertices_go_and_shared_borders_stay() -> None:
    # Two squares sharing the edge x = 2 (with points on it), a third below both: (2, 0) is
    # where three countries meet, and lies on a straight line in the lower one.
    left = shapely.Polygon([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3), (0, 3), (0, 2)])
    right = shapely.Polygon([(2, 0), (3, 0), (4, 0), (4, 3), (2, 3), (2, 2), (2, 1)])
    below = shapely.Polygon([(0, 0), (0, -1), (4, -1), (4, 0), (3, 0), (2, 0), (1, 0)])
    coverage = np.array([left, right, below], dtype=object)
    assert shapely.coverage_is_valid(coverage)
    rings = rings_of(coverage)
    dropped = drop_straight(rings)
    result = dropped.to_geometries()
    assert len(dropped.xy) < len(rings.xy)
    assert shapely.equals(result, coverage).all()  # the same outlines
    assert shapely.coverage_is_valid(result)  # the shared border kept its vertices
    kept = {tuple(point) for point in dropped.xy}
    assert (2.0, 0.0) in kept and (2.0, 3.0) in kept  # junctions stay
    assert (2.0, 1.0) not in kept and (0.0, 2.0) not in kept  # straight runs went
    assert (1.0, 0.0) not in kept and (3.0, 0.0) not in kept  # ... on both sides alike
