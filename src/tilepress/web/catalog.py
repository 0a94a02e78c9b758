"""The catalog of built maps: every map folder of ``dist/``, read into memory once, at start-up.

A map is a folder named by its id holding a ``tiles.json``; its tiles come from its MBTiles
or tile folder (`tilepress.web.stored_tiles`), its style from ``style.json`` (or a default
one), its downloads from the PDF, PNG, PMTiles and MBTiles files that exist. URLs in the
served documents start with the public URL, never with anything from a request. The catalog
also holds the documents that list the maps: the catalog page, ``catalog.json`` and the
health document.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tilepress.errors import ServeError
from tilepress.web.assets import (
    DOWNLOAD_CACHE,
    HTML_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    Asset,
    Blob,
    document,
    json_bytes,
)
from tilepress.web.glyph_store import EMPTY_GLYPHS, GlyphStore, load_glyphs
from tilepress.web.pages import (
    catalog_html,
    clean_attribution,
    color_or,
    template,
    text_or_empty,
    viewer_entry,
    viewer_html,
    watch_html,
)
from tilepress.web.stored_tiles import StoredTile, TileKey, load_tiles

__all__ = ["MAP_ID_PATTERN", "RESERVED_IDS", "Catalog", "Tileset", "load_catalog"]

log = logging.getLogger(__name__)

MAP_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")
"""A map id, matched with ``fullmatch``: also the name of its folder in ``dist``."""

RESERVED_IDS: Final = frozenset({"static", "health"})
"""Ids that would clash with the server's own routes."""

_REBUILD: Final = "rebuild the map with `tilepress run`"
_GLYPHS_PATH: Final = "glyphs/{fontstack}/{range}.pbf"
_DOWNLOADS: Final = {
    # suffix: (media type, Content-Disposition kind)
    ".pdf": ("application/pdf", "inline"),
    ".png": ("image/png", "inline"),
    ".pmtiles": ("application/vnd.pmtiles", None),
    ".mbtiles": ("application/vnd.sqlite3", "attachment"),
}


@dataclass(frozen=True, slots=True)
class Tileset:
    """Everything the server knows about one map."""

    id: str
    minzoom: int
    maxzoom: int
    tiles: Mapping[TileKey, StoredTile]
    tilejson: Asset
    style: Asset
    viewer: Asset
    downloads: Mapping[str, Asset]
    entry: Mapping[str, Any]
    relative_links: Mapping[str, str]
    glyphs: GlyphStore = EMPTY_GLYPHS
    """Its glyph PBFs (``glyphs/``), if it has them."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every map of a ``dist`` folder, by id in name order, and the documents listing them."""

    public_url: str
    tilesets: Mapping[str, Tileset]
    page: Asset
    """The catalog page (``/``)."""
    document: Asset
    """``/catalog.json``."""
    health: Asset
    """``/health``: liveness and the number of maps."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServeError(
            f"cannot read the JSON document: {exc}", where=str(path), hint=_REBUILD
        ) from exc
    if not isinstance(value, dict):
        raise ServeError("the document is not a JSON object", where=str(path), hint=_REBUILD)
    return value


def _zoom(tilejson: Mapping[str, Any], key: str, default: int, where: Path) -> int:
    value = tilejson.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 30:
        raise ServeError(
            f"{key} must be an integer between 0 and 30, not {value!r}",
            where=str(where),
            hint=_REBUILD,
        )
    return value


def _zoom_range(
    tilejson: Mapping[str, Any], tiles: Mapping[TileKey, StoredTile], where: Path
) -> tuple[int, int]:
    """The TileJSON's minzoom and maxzoom, defaulting to the zooms of the stored tiles."""
    minzoom = _zoom(tilejson, "minzoom", min((z for z, _, _ in tiles), default=0), where)
    maxzoom = _zoom(tilejson, "maxzoom", max((z for z, _, _ in tiles), default=minzoom), where)
    if minzoom > maxzoom:
        raise ServeError(
            f"minzoom {minzoom} is greater than maxzoom {maxzoom}", where=str(where), hint=_REBUILD
        )
    return minzoom, maxzoom


def _default_style(map_id: str, tilejson_url: str, tilejson: Mapping[str, Any]) -> dict[str, Any]:
    """A MapLibre style for a map whose folder has no ``style.json``."""
    extra = tilejson.get("tilepress")
    extra = extra if isinstance(extra, dict) else {}
    ocean = color_or(extra.get("ocean_color"), "#dfe9f3")
    base = color_or(extra.get("base_color"), "#f4f1ea")
    return {
        "version": 8,
        "name": str(tilejson.get("name", map_id)),
        "sources": {"countries": {"type": "vector", "url": tilejson_url}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": ocean}},
            {
                "id": "countries-fill",
                "type": "fill",
                "source": "countries",
                "source-layer": "countries",
                "paint": {"fill-color": ["coalesce", ["get", "color"], base]},
            },
            {
                "id": "countries-line",
                "type": "line",
                "source": "countries",
                "source-layer": "countries",
                "paint": {"line-color": "#ffffff", "line-width": 0.6},
            },
        ],
    }


def _load_style(
    folder: Path, map_id: str, tilejson_url: str, tilejson: Mapping[str, Any]
) -> dict[str, Any]:
    """The map's style, its vector sources pointing at ``tilejson_url``."""
    path = folder / "style.json"
    if not path.is_file():
        log.warning("map %s has no style.json: serving a default style", map_id)
        return _default_style(map_id, tilejson_url, tilejson)
    style = _read_json(path)
    sources = style.get("sources")
    if isinstance(sources, dict):
        for source in sources.values():
            if isinstance(source, dict) and source.get("type") == "vector" and "url" in source:
                source["url"] = tilejson_url
    return style


def _own_glyphs(style: Mapping[str, Any], map_id: str) -> bool:
    """Whether the style draws its labels from the glyphs built with the map."""
    metadata = style.get("metadata")
    built = isinstance(metadata, dict) and metadata.get("tilepress:glyphs") == "built"
    url = style.get("glyphs")
    return built or (isinstance(url, str) and url.endswith(f"/{map_id}/{_GLYPHS_PATH}"))


def _load_downloads(folder: Path, map_id: str) -> dict[str, Asset]:
    """The map's PDF, PNG, PMTiles and MBTiles files that exist, by file name."""
    downloads: dict[str, Asset] = {}
    for suffix, (media_type, disposition) in _DOWNLOADS.items():
        name = f"{map_id}{suffix}"
        path = folder / name
        if not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ServeError(f"cannot read the file: {exc}", where=str(path)) from exc
        downloads[name] = Asset(
            Blob.of(content),
            media_type,
            DOWNLOAD_CACHE,
            disposition=f'{disposition}; filename="{name}"' if disposition else None,
            ranges=True,
        )
    return downloads


def _load_tileset(
    folder: Path,
    public_url: str,
    static_version: str,
    viewer_template: str,
    watch_build: str | None = None,
) -> Tileset:
    """Read one map folder into memory (``watch_build``: see `load_catalog`)."""
    map_id = folder.name
    tilejson_path = folder / "tiles.json"
    raw = _read_json(tilejson_path)
    tiles = load_tiles(folder, map_id)
    minzoom, maxzoom = _zoom_range(raw, tiles, tilejson_path)

    base = f"{public_url}/{map_id}"
    tilejson = dict(raw)
    # Under --watch the build's id in the tile URLs: a browser's cached tiles (max-age) are
    # not taken for the new build's.
    query = "" if watch_build is None else f"?build={watch_build}"
    tilejson["tiles"] = [f"{base}/tiles/{{z}}/{{x}}/{{y}}.pbf{query}"]
    attribution = clean_attribution(text_or_empty(raw.get("attribution")))
    if "attribution" in raw:
        tilejson["attribution"] = attribution
    style = _load_style(folder, map_id, f"{base}/tiles.json", raw)
    glyphs = load_glyphs(folder / "glyphs", map_id)
    if _own_glyphs(style, map_id):  # served from here, whatever URL it was built with
        style["glyphs"] = f"{base}/{_GLYPHS_PATH}"
    downloads = _load_downloads(folder, map_id)

    relative = {"viewer": "", "tilejson": "tiles.json", "style": "style.json"}
    relative |= {name.rpartition(".")[2]: name for name in downloads}
    extra = raw.get("tilepress")
    extra = extra if isinstance(extra, dict) else {}
    entry = viewer_entry(map_id, raw, attribution)  # with the text alternative and first view
    entry |= {
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "tile_count": len(tiles),
        "links": {key: f"{base}/{path}" for key, path in relative.items()}
        | {"tiles": tilejson["tiles"][0]},
    }
    viewer_links = {key: path for key, path in relative.items() if key != "viewer"}
    watch = "" if watch_build is None else watch_html(watch_build, "../_watch/state")
    viewer = viewer_html(viewer_template, entry, extra, viewer_links, static_version, watch=watch)
    return Tileset(
        id=map_id,
        minzoom=minzoom,
        maxzoom=maxzoom,
        tiles=tiles,
        tilejson=document(json_bytes(tilejson), JSON_MEDIA_TYPE),
        style=document(json_bytes(style), JSON_MEDIA_TYPE),
        viewer=document(viewer.encode("utf-8"), HTML_MEDIA_TYPE),
        downloads=downloads,
        glyphs=glyphs,
        entry=entry,
        relative_links=relative,
    )


def _scan(
    dist_dir: Path, public_url: str, static_version: str, watch_build: str | None
) -> dict[str, Tileset]:
    """Every map in ``dist_dir``, by id, in name order."""
    if not dist_dir.is_dir():
        raise ServeError(
            "the folder does not exist or is not a folder",
            where=str(dist_dir),
            hint="run `tilepress run` first, or pass the folder it wrote the maps to",
        )
    viewer_template = template("viewer.html")
    tilesets: dict[str, Tileset] = {}
    try:
        folders = sorted(dist_dir.iterdir())
    except OSError as exc:
        raise ServeError(f"cannot list the folder: {exc}", where=str(dist_dir)) from exc
    for folder in folders:
        if not (folder.is_dir() and (folder / "tiles.json").is_file()):
            continue  # work folders, logs and the like are not maps
        if not MAP_ID_PATTERN.fullmatch(folder.name):
            log.warning("skipping %s: %r is not a valid map id", folder, folder.name)
            continue
        if folder.name in RESERVED_IDS:
            log.warning("skipping %s: the id %r is reserved by the server", folder, folder.name)
            continue
        tilesets[folder.name] = _load_tileset(
            folder, public_url, static_version, viewer_template, watch_build
        )
    if not tilesets:
        raise ServeError(
            "the folder holds no map (no sub-folder with a tiles.json)",
            where=str(dist_dir),
            hint="run `tilepress run` first to build the maps, then serve its output folder",
        )
    return tilesets


def load_catalog(
    dist_dir: Path, *, public_url: str, static_version: str, watch_build: str | None = None
) -> Catalog:
    """Read every map in ``dist_dir`` into memory.

    ``public_url`` (no trailing slash) starts the URLs in the served documents;
    ``static_version`` fingerprints the viewer's static files. ``watch_build`` (``serve
    --watch``) is the id of the build read: the pages get `watch_html`'s banner and script,
    the tile URLs the id. Raises `ServeError` when the folder holds no map or a map cannot
    be read.
    """
    tilesets = _scan(dist_dir, public_url, static_version, watch_build)
    listing = {"public_url": public_url, "maps": [dict(t.entry) for t in tilesets.values()]}
    cards = [(t.id, t.entry, t.relative_links) for t in tilesets.values()]
    health = {"status": "ok", "maps": len(tilesets)}
    watch = "" if watch_build is None else watch_html(watch_build, "_watch/state")
    return Catalog(
        public_url=public_url,
        tilesets=tilesets,
        page=document(catalog_html(cards, watch=watch).encode("utf-8"), HTML_MEDIA_TYPE),
        document=document(json_bytes(listing), JSON_MEDIA_TYPE),
        health=document(json_bytes(health), JSON_MEDIA_TYPE, "no-store"),
    )
