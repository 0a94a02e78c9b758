"""Shards: a map's tile pyramid cut into jobs. A *shard* is one job's share of a map's tiles:
the low zooms together (few tiles each), or a band of tile rows of one deeper zoom. Each
shard job writes a part file (:mod:`tilepress.tiles.parts`); the merge streams the parts
into the archives.

The workflow imports this module while it parses (the part files it names): keep it light.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from tilepress.config.model import SourceSpec
from tilepress.errors import TilingError

LOW_ZOOM = 5  # zooms up to this one (at most 1024 tiles each) are cut together in one job
AUTO_FROM_ZOOM = 6  # auto: zoom z > 6 is cut into 2^(z - 6) bands of rows (one job each)
MAX_SHARDS = 4096  # bands per zoom, whatever the configuration asks
PASS_TILES = 4096  # a job cuts at most this many grid tiles at once (bounded memory)

_NAME = re.compile(r"z(\d+)(?:-(\d+))?(?:_(\d+)of(\d+)|_rows(\d+)-(\d+))?")
SHARD_PATTERN = _NAME.pattern  # for the workflow's wildcard constraint


@dataclass(frozen=True)
class Shard:
    """One tile job: whole zooms (``bands == 1``), band ``band`` of ``bands`` of one zoom, or
    the tile rows ``row_range`` of one zoom (a local build sizes its bands by their work)."""

    zooms: range
    band: int = 0
    bands: int = 1
    row_range: range | None = None

    def __post_init__(self) -> None:
        if not self.zooms or self.zooms.step != 1:
            raise TilingError(f"a shard needs a zoom range, got {self.zooms!r}")
        if (self.bands > 1 or self.row_range is not None) and len(self.zooms) != 1:
            raise TilingError("only a single zoom can be cut into bands")
        if not 0 <= self.band < self.bands <= (1 << self.zooms[0]):
            raise TilingError(
                f"band {self.band} of {self.bands} is not possible at zoom {self.zooms[0]}"
            )
        rows = self.row_range
        if rows is not None and (
            self.bands > 1
            or rows.step != 1
            or not 0 <= rows.start < rows.stop <= 1 << self.zooms[0]
        ):
            raise TilingError(f"tile rows {rows!r} are not a band of zoom {self.zooms[0]}")

    @property
    def name(self) -> str:
        """``z0-5`` (zooms 0 to 5), ``z6`` (all of zoom 6), ``z8_3of16`` (a band of zoom 8),
        ``z6_rows0-24`` (tile rows 0 to 24 of zoom 6)."""
        first, last = self.zooms[0], self.zooms[-1]
        text = f"z{first}" if first == last else f"z{first}-{last}"
        if self.row_range is not None:
            return f"{text}_rows{self.row_range.start}-{self.row_range.stop - 1}"
        return f"{text}_{self.band}of{self.bands}" if self.bands > 1 else text

    def rows(self, zoom: int) -> range:
        """The tile rows of ``zoom`` this shard cuts."""
        if self.row_range is not None:
            return self.row_range
        count = 1 << zoom
        return range(self.band * count // self.bands, (self.band + 1) * count // self.bands)

    def tasks(self) -> list[tuple[int, range]]:
        """(zoom, tile rows) this shard cuts, deepest zoom first."""
        return [(zoom, self.rows(zoom)) for zoom in reversed(self.zooms)]


def parse_shard(name: str) -> Shard:
    """The shard a name (from :attr:`Shard.name`) stands for."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise TilingError(
            f"{name!r} is not a shard name",
            hint="shard names look like z0-5, z6, z8_3of16 or z6_rows0-24",
        )
    first, last, band, bands, first_row, last_row = match.groups()
    zooms = range(int(first), int(last if last is not None else first) + 1)
    if first_row is not None:
        return Shard(zooms, row_range=range(int(first_row), int(last_row) + 1))
    if band is None:
        return Shard(zooms)
    return Shard(zooms, int(band), int(bands))


def auto_bands(zoom: int) -> int:
    """Bands a zoom deeper than :data:`LOW_ZOOM` is cut into when the count is ``auto``:
    one up to zoom 6, then twice as many per zoom (each band then holds twice the tiles of
    the one a zoom above: jobs grow slowly, their number stays small)."""
    return 1 << max(0, zoom - AUTO_FROM_ZOOM)


def plan_shards(min_zoom: int, max_zoom: int, bands: int | None = None) -> list[Shard]:
    """The tile jobs of a zoom range: zooms up to :data:`LOW_ZOOM` in one job, each deeper
    zoom cut into ``bands`` bands of tile rows (``None``: :func:`auto_bands`)."""
    if not 0 <= min_zoom <= max_zoom:
        raise TilingError(f"bad zoom range {min_zoom}-{max_zoom}")
    if bands is not None and bands < 1:
        raise TilingError(f"the shard count must be at least 1, got {bands}")
    shards: list[Shard] = []
    low = range(min_zoom, min(max_zoom, LOW_ZOOM) + 1)
    if low:
        shards.append(Shard(low))
    for zoom in range(max(min_zoom, LOW_ZOOM + 1), max_zoom + 1):
        count = min(auto_bands(zoom) if bands is None else bands, 1 << zoom, MAX_SHARDS)
        shards += [Shard(range(zoom, zoom + 1), band, count) for band in range(count)]
    return shards


def passes(zoom: int, rows: range, pass_tiles: int = PASS_TILES) -> list[range]:
    """``rows`` of ``zoom`` in groups of at most ``pass_tiles`` tiles (one row at least):
    what a job cuts at once, so its memory does not grow with the zoom."""
    step = max(1, pass_tiles >> zoom)
    return [
        range(start, min(start + step, rows.stop)) for start in range(rows.start, rows.stop, step)
    ]


def spec_digest(spec: dict[str, Any]) -> str:
    """SHA-256 of a map's settings (canonical JSON): ties a part to the settings it encodes."""
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def geometry_owner(source: SourceSpec, zooms: range) -> str:
    """The name geometry parts of a source and zoom range carry, e.g. ``natural-earth/z0-6``."""
    return f"{source.name}/z{zooms[0]}-{zooms[-1]}"


def geometry_digest(source: SourceSpec, zooms: range) -> str:
    """The digest geometry parts carry: the source's settings and the zoom range."""
    return spec_digest({"source": asdict(source), "zooms": [zooms[0], zooms[-1]]})
