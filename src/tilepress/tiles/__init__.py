"""Vector tiles: a map's country table (and its source's generalized pyramid) in; MVT 2.1 tiles
as a z/x/y folder, an MBTiles and a PMTiles archive and a report out.

The data flow, and the module of each step:

1. :mod:`~tilepress.tiles.pyramid`: the countries in Web Mercator, thinned zoom after zoom
   (:mod:`tilepress.geometry.shared`) and snapped to each zoom's grid
   (:mod:`~tilepress.tiles.snap`, :mod:`~tilepress.tiles.grid`), with their land borders;
2. :mod:`~tilepress.tiles.cut`: each zoom's grid coverage cut into buffered tiles;
3. :mod:`~tilepress.tiles.content` and :mod:`~tilepress.tiles.features`: the map's
   properties and labels added, each tile encoded (:mod:`~tilepress.tiles.mvt`,
   :mod:`~tilepress.tiles.mvt_geometry`) and compressed;
4. :mod:`~tilepress.tiles.shards`, :mod:`~tilepress.tiles.parts`: the pyramid cut into jobs,
   each writing a part file;
5. :mod:`~tilepress.tiles.archives`: the parts merged into the folder, MBTiles and PMTiles,
   with :mod:`~tilepress.tiles.schema` (layers, fields, metadata) and
   :mod:`~tilepress.tiles.report` (what each zoom holds).

:mod:`~tilepress.tiles.build` orchestrates it: what runs where and in which order, with the
worker side in :mod:`~tilepress.tiles.jobs` and the planning of bands in
:mod:`~tilepress.tiles.bands`. Importing this package imports nothing heavy: the workflow
imports :mod:`~tilepress.tiles.shards` while it parses.
"""
