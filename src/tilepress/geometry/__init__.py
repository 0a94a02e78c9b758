"""Shared geometry, used by both the tiles and the print map: country polygons (WGS 84) in,
projected and generalized geometry out.

- :mod:`~tilepress.geometry.projection`: Web Mercator for tiles; extents, fitted extents and
  an equal-area projection chosen for the print map, with the cut at its own antimeridian;
- :mod:`~tilepress.geometry.rings`: polygons as ring arrays, the form generalization works on;
- :mod:`~tilepress.geometry.shared`: shared-border generalization (the same vertices go on
  both sides of every border, junctions stay);
- :mod:`~tilepress.geometry.parallel`: a helper thread that runs large GEOS, PROJ and numpy
  calls on a second core.

Nothing here reads a file or knows of tiles or paper; :mod:`tilepress.sources` uses only the
helper thread.
"""
