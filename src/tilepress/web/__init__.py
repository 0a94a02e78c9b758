"""The web stage: the documents a web map needs, and the HTTP server that serves built maps.

Takes in:

- a map's spec and its tileset metadata, from which `style.build_style` writes the map's
  TileJSON and MapLibre style documents (the workflow's ``style`` step);
- a ``dist/`` folder of built maps (one folder per map id, with its ``tiles.json``, tiles as
  MBTiles or a ``{z}/{x}/{y}.pbf`` folder, ``style.json`` and downloads), which
  `server.serve` reads into memory once and serves until interrupted.

Gives out:

- ``tiles.json`` (TileJSON 3.0) and ``style.json`` (MapLibre style) documents;
- the HTTP server: vector tiles (with a fast path in front of the application, and in the
  HTTP protocol itself), TileJSON and styles with the public URL, the viewer and catalog
  pages, ``catalog.json``, ``/health`` and the map's downloads (PDF, PNG, PMTiles, MBTiles,
  with byte ranges);
- the viewer's templates (``templates/``) and static assets (``static/``, and MapLibre GL JS
  from the ``maplibre`` package).

Modules, in the order a request meets them: `server` (running uvicorn), `workers` (forked
worker processes), `protocol` (uvicorn's httptools protocol with request-head limits and
the fast path), `fastpath` (stored tiles by raw path), `app` (the Starlette application),
`limits` (request size limits), `tile_answer` (the one answer to a tile request),
`httputil` (ETags, negotiation, ranges), `catalog` (the maps read from ``dist/``),
`stored_tiles` (tiles in memory), `assets` (other resources in memory), `static_files`
(the files under ``/static/``), `pages` (HTML) and `style` (the documents written at build
time). Starlette and uvicorn are imported by `server`, `app` and what they use: the command
line imports `server` only when it serves.
"""
