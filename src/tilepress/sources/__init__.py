"""Boundary sources: a source file in (the embedded Natural Earth, or the user's shapefile,
GeoPackage or GeoJSON, by path or by URL and SHA-256), a checked country table out.

- :mod:`~tilepress.sources.download`: checksums and downloads;
- :mod:`~tilepress.sources.files`: what GDAL reads (pyogrio), ahead of time in a forked process;
- :mod:`~tilepress.sources.table`: the :class:`~tilepress.sources.table.CountryTable` (WGS 84
  polygons, attributes, codes, names), reprojected and checked;
- :mod:`~tilepress.sources.repair`: making polygons valid;
- :mod:`~tilepress.sources.highlights`: each highlight group's countries found in the table,
  the fill colour of every row;
- :mod:`~tilepress.sources.loaded`: a map's table and highlights together
  (:class:`~tilepress.sources.loaded.LoadedMap`), which the tile and style steps take;
- :mod:`~tilepress.sources.description`: a map's text alternative (alt text), configured or
  written from its groups' countries, extent, source and date.

It uses only the helper thread and the extent functions (an ``auto`` extent fitted) of
:mod:`tilepress.geometry`; the later stages (geometry, tiles, printing, web) take its tables.
"""
