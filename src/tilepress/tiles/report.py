"""What a tile build reports: each zoom's tiles, features, bytes, vertices, traces, countries
too small to show and tiles over budget; logged, stored in each part file, and written to
``tiles-report.json`` and the archives' metadata."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("tilepress")


@dataclass
class ZoomStats:
    """What one zoom level produced."""

    zoom: int
    tiles: int = 0
    features: int = 0
    bytes: int = 0
    largest_tile: int = 0
    vertices: int = 0
    traces: int = 0
    dropped: list[str] = field(default_factory=list)
    over_budget: list[str] = field(default_factory=list)

    def merge(self, other: ZoomStats) -> None:
        """Add the counts of another part of the same zoom level."""
        self.tiles += other.tiles
        self.features += other.features
        self.bytes += other.bytes
        self.largest_tile = max(self.largest_tile, other.largest_tile)
        self.vertices += other.vertices
        self.traces += other.traces
        self.over_budget += other.over_budget
        self.dropped += other.dropped

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "zoom": self.zoom,
            "tiles": self.tiles,
            "features": self.features,
            "bytes": self.bytes,
            "largest_tile_bytes": self.largest_tile,
            "vertices": self.vertices,
            "traces": self.traces,
            "dropped": sorted(self.dropped),
            "over_budget": self.over_budget,
        }

    def to_json(self) -> dict[str, Any]:
        """Every field, lists unsorted (the merge keeps their order): a part file's record."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ZoomStats:
        """The inverse of :meth:`to_json`."""
        return cls(**value)


def log_zoom_stats(stats: Sequence[ZoomStats]) -> None:
    """Log what each zoom holds and which countries it had to drop."""
    for zoom_stats in stats:
        if zoom_stats.dropped:
            log.info(
                "z%d: %d countries too small to show: %s",
                zoom_stats.zoom,
                len(zoom_stats.dropped),
                ", ".join(sorted(zoom_stats.dropped)),
            )
        log.info(
            "z%d: %d tiles, %d features, %.1f KB (largest %.1f KB)",
            zoom_stats.zoom,
            zoom_stats.tiles,
            zoom_stats.features,
            zoom_stats.bytes / 1024,
            zoom_stats.largest_tile / 1024,
        )
