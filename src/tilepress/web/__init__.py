"""The web stage: the documents and files a web map needs, and the HTTP server for built maps.

Takes in:

- a map with its source read (a :class:`~tilepress.sources.loaded.LoadedMap`), from which
  the build steps write its TileJSON and MapLibre style (`style.build_style`), its label
  glyphs (`glyphs.build_map_glyphs`) and its static bundle (`bundle.write_bundle`);
- a ``dist/`` folder of built maps (one folder per map id, with its ``tiles.json``, tiles as
  MBTiles or a ``{z}/{x}/{y}.pbf`` folder, ``style.json``, ``glyphs/`` and downloads), which
  `server.serve` reads into memory once and serves until interrupted.

Gives out:

- ``tiles.json`` (TileJSON 3.0) and ``style.json`` (MapLibre style, with labels, patterns,
  overlays and markers as on paper; the viewer page draws the patterns and marker symbols);
- ``glyphs/{fontstack}/{start}-{end}.pbf``: SDF glyphs rendered with freetype-py;
- ``web/``: the static bundle, the viewer and everything it loads, for any static host;
- the HTTP server: vector tiles (with a fast path in front of the application, and in the
  HTTP protocol itself), TileJSON and styles with the public URL, glyphs, the viewer and
  catalog pages, ``catalog.json``, ``/health`` and the map's downloads (with byte ranges);
- the viewer's template (``templates/``) and the vendored MapLibre GL JS and PMTiles files
  (``static/``).

Build-time modules: `style` (with `marks`: the layers of patterns, overlays and markers, and
the legend), `glyphs` (with `glyph_fonts`, `sdf`, `glyph_pbf`) and `bundle`.
Server modules, in the order a request meets them: `server` (running uvicorn), `workers`
(forked worker processes), `protocol` (uvicorn's httptools protocol with request-head limits
and the fast path), `fastpath` (stored tiles by raw path), `app` (the Starlette
application), `limits` (request size limits), `tile_answer` (the one answer to a tile
request), `httputil` (ETags, negotiation, ranges), `catalog` (the maps read from
``dist/``), `stored_tiles` (tiles in memory), `glyph_store` (glyphs in memory), `assets`
(other resources in memory), `static_files` (the files under ``/static/``) and `pages`
(HTML, also for the bundle). Starlette and uvicorn are imported by `server`, `app` and what
they use: the command line imports `server` only when it serves.
"""
