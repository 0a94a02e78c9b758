"""What the workflow builds for each map: the paths Snakemake's rules name while it parses
the workflow (``workflow/rules/common.smk``). Kept light: the workflow imports it at start."""

from __future__ import annotations

from tilepress.config.model import MapSpec
from tilepress.tiles.shards import plan_shards


def map_outputs(output_dir: str, map_id: str) -> list[str]:
    """Every file and folder the workflow builds for one map."""
    base = f"{output_dir}/{map_id}"
    return [
        f"{base}/tiles",
        f"{base}/{map_id}.mbtiles",
        f"{base}/{map_id}.pmtiles",
        f"{base}/tiles.json",
        f"{base}/style.json",
        f"{base}/{map_id}.pdf",
        f"{base}/{map_id}.svg",
        f"{base}/{map_id}-print.pdf",
        f"{base}/{map_id}.png",
        f"{base}/glyphs",
        f"{base}/web",
    ]


def part_files(output_dir: str, spec: MapSpec) -> list[str]:
    """The part file of each tile job of a map (see :func:`tilepress.tiles.shards.plan_shards`)."""
    shards = plan_shards(spec.min_zoom, spec.max_zoom, spec.shards)
    return [f"{output_dir}/.parts/{spec.id}/{shard.name}.part" for shard in shards]
